/**
 * `NativeSocket`, the SDK's `/ws` client, against a real server: the exactly-once test of the
 * Socket.IO client (200 messages while connections are cut again and again: every client holds
 * seq 1..200 exactly once, in send order), its states, the close codes after which it stays
 * closed, backoff through a server restart, a fresh token from the provider on every reconnect,
 * and a dead (half-open) connection found by the heartbeat and replaced.
 *
 * Cuts go through a TCP proxy between the socket and the server: `cut()` destroys the TCP
 * connections (both sides see them end, as on a network failure), `freeze()` stops forwarding
 * without closing anything (a half-open connection, which no close event ever reports).
 */
import { createServer, Socket, type Server } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { Message, Session } from '@switchboard/protocol';
import {
  NativeSocket,
  NativeSocketState,
  login,
  logout,
  type DisconnectInfo,
  type NativeSocketOptions,
  type WebSocketConstructor,
} from '@switchboard/client';
import { dialects, eventually, register, startServer, uniqueName, type TestServer } from '../../server/test/helpers.js';
import { closeClients, range, seqs, signedIn } from './support.js';

const COUNT = 200;
const PASSWORD = 'correct horse battery';

/** Node 20 has no global WebSocket: the `ws` package's. */
const NodeWebSocket = WebSocket as unknown as WebSocketConstructor;

/** Fast reconnection and short timeouts, so cuts heal in tens of milliseconds. */
const fast = { WebSocket: NodeWebSocket, backoff: { min: 30, max: 300, jitter: 0.5 }, requestTimeoutMs: 3000 } satisfies Partial<NativeSocketOptions>;

interface TcpProxy {
  url: string;
  /** Connections accepted so far. */
  accepted: number;
  cut(): void;
  freeze(): void;
  /** Sends new connections to another server. */
  retarget(url: string): void;
  close(): Promise<void>;
}

async function startProxy(targetUrl: string): Promise<TcpProxy> {
  let target = new URL(targetUrl);
  const pairs = new Set<[Socket, Socket]>();
  /** Frozen connections: forwarded no more, destroyed only when the proxy closes. */
  const frozen: Socket[] = [];
  const server: Server = createServer((client) => {
    proxy.accepted++;
    const upstream = new Socket();
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    upstream.connect(Number(target.port), target.hostname, () => {
      client.pipe(upstream);
      upstream.pipe(client);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  const proxy: TcpProxy = {
    url: `http://127.0.0.1:${address.port}`,
    accepted: 0,
    cut: () => {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      pairs.clear();
    },
    freeze: () => {
      for (const [a, b] of pairs) {
        a.unpipe(b);
        b.unpipe(a);
        a.pause();
        b.pause();
        frozen.push(a, b);
      }
      pairs.clear();
    },
    retarget: (url) => {
      target = new URL(url);
    },
    close: async () => {
      proxy.cut();
      for (const socket of frozen.splice(0)) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}

const sockets = new Set<NativeSocket>();
const proxies = new Set<TcpProxy>();

function nativeSocket(options: NativeSocketOptions): NativeSocket {
  const socket = new NativeSocket({ ...fast, ...options } as NativeSocketOptions);
  sockets.add(socket);
  return socket;
}

async function proxyTo(url: string): Promise<TcpProxy> {
  const proxy = await startProxy(url);
  proxies.add(proxy);
  return proxy;
}

/** A new user with a room-ready SDK client and their username, for a NativeSocket of their own login. */
async function user(t: TestServer) {
  const username = uniqueName();
  const session = await register(t.url, username, PASSWORD);
  const chat = await signedIn(t, { session });
  return { username, chat };
}

/** Every `message` the socket delivers for `roomId`. */
function messagesOf(socket: NativeSocket, roomId: string): Message[] {
  const out: Message[] = [];
  socket.on('message', (m) => {
    if (m.roomId === roomId) out.push(m);
  });
  return out;
}

function statesOf(socket: NativeSocket): string[] {
  const out: string[] = [];
  socket.on('state', (s) => out.push(s));
  return out;
}

/** Waits long enough for several reconnection attempts of `fast` to have happened, were any due. */
const severalBackoffs = () => new Promise((resolve) => setTimeout(resolve, fast.backoff.max * 4));

afterEach(async () => {
  for (const socket of sockets) socket.close();
  sockets.clear();
  closeClients();
  await Promise.all([...proxies].map((p) => p.close()));
  proxies.clear();
});

describe.each(dialects)('NativeSocket: exactly once through cuts (%s)', (dialect) => {
  let t: TestServer;
  beforeAll(async () => {
    // 200 messages within the default 10/s would take 17 s; the rate limit has its own test.
    t = await startServer({ dialect, RATE_LIMITS: 'off' });
  });
  afterAll(() => t.close());

  it(`delivers ${COUNT} messages exactly once and in order to every client`, async () => {
    const owner = await user(t);
    const others = await Promise.all([user(t), user(t), user(t)]);
    const room = await owner.chat.chat.createRoom({ name: uniqueName('native'), kind: 'public' });
    for (const o of others) await o.chat.chat.joinRoom(room.id);
    const proxy = await proxyTo(t.url);

    // The sender and the first receiver go through the proxy (and are cut); the others connect directly.
    const sender = nativeSocket({ url: proxy.url, username: owner.username, password: PASSWORD });
    const receivers = others.map((o, i) => nativeSocket({ url: i === 0 ? proxy.url : t.url, username: o.username, password: PASSWORD }));
    const everyone = [sender, ...receivers];
    const received = everyone.map((s) => messagesOf(s, room.id));
    await Promise.all(everyone.map((s) => s.subscribe(room.id, { afterSeq: 0 })));

    // Cuts are triggered by progress (not by the clock) and land a moment later, while the next
    // message is in flight: some replies are lost after the message was stored.
    let cuts = 0;
    let acknowledged = 0;
    let retried = 0;
    const drops: DisconnectInfo[] = [];
    sender.on('disconnect', (info) => drops.push(info));
    sender.on('outbox', (entry) => {
      if (entry.status !== 'sent') return;
      if (entry.attempts > 1) retried++;
      if (++acknowledged % 30 === 15) {
        setTimeout(() => {
          cuts++;
          proxy.cut();
        }, 1);
      }
    });

    const texts = range(1, COUNT).map((i) => `message ${i}`);
    const stored = await Promise.all(texts.map((text) => sender.send(room.id, text)));

    expect(cuts).toBeGreaterThanOrEqual(6);
    expect(retried).toBeGreaterThan(0); // cuts hit publishes in flight
    expect(drops.filter((d) => d.willReconnect).length).toBeGreaterThanOrEqual(cuts);
    expect(seqs(stored)).toEqual(range(1, COUNT));
    expect(stored.map((m) => m.text)).toEqual(texts);
    expect(sender.pendingMessages).toEqual([]);

    await eventually(() => received.every((list) => list.length >= COUNT), 20_000, 'every socket to hold every message');
    // One more cut for the proxied sockets: resubscribing from their cursors must not add anything.
    const reopened = [sender, receivers[0]!].map((s) => new Promise<void>((resolve) => s.on('open', () => resolve())));
    proxy.cut();
    await Promise.all(reopened);
    await Promise.all(everyone.map((s) => s.request('history', { roomId: room.id, afterSeq: COUNT })));

    for (const list of received) {
      expect(seqs(list)).toEqual(range(1, COUNT));
      expect(list.map((m) => m.text)).toEqual(texts);
      expect(new Set(list.map((m) => m.id)).size).toBe(COUNT);
    }
    for (const s of everyone) expect(s.cursors()[room.id]).toBe(COUNT);

    const history = await receivers[1]!.request('history', { roomId: room.id, afterSeq: 0, limit: 200 });
    expect(history.hasMore).toBe(false);
    expect(seqs(history.messages)).toEqual(range(1, COUNT));
    expect(history.messages.map((m) => m.clientMsgId)).toEqual(stored.map((m) => m.clientMsgId));
    // 200 publishes one after another, each a durable write, through cuts: slow on a shared machine.
  }, 90_000);
});

describe('NativeSocket: connection life', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ RATE_LIMITS: 'off' });
  });
  afterAll(() => t.close());

  it('goes connecting → open → connecting → open through a cut, and closing → closed on close()', async () => {
    const { username } = await user(t);
    const proxy = await proxyTo(t.url);
    const socket = nativeSocket({ url: proxy.url, username, password: PASSWORD });
    const states = statesOf(socket);
    expect(socket.state).toBe(NativeSocketState.CONNECTING);
    await socket.ready();
    expect(socket.user?.username).toBe(username);

    const back = new Promise<void>((resolve) => socket.on('open', () => resolve()));
    proxy.cut();
    await back;
    const closed = new Promise<DisconnectInfo>((resolve) => socket.on('disconnect', resolve));
    socket.close();
    expect(socket.state).toBe(NativeSocketState.CLOSING);
    expect(await closed).toMatchObject({ code: 1000, willReconnect: false });
    expect(states).toEqual(['open', 'connecting', 'open', 'closing', 'closed']);
    await expect(socket.request('history', { roomId: 'x' })).rejects.toMatchObject({ code: 'UNAVAILABLE', local: true });
  });

  it('answers requests by id: replies resolve, refusals reject with their code', async () => {
    const { username, chat } = await user(t);
    const room = await chat.chat.createRoom({ name: uniqueName('req'), kind: 'public' });
    const socket = nativeSocket({ url: t.url, username, password: PASSWORD });
    const [history, typing] = await Promise.all([
      socket.request('history', { roomId: room.id }),
      socket.request('typing', { roomId: room.id, typing: true }),
    ]);
    expect(history).toEqual({ messages: [], hasMore: false });
    expect(typing).toEqual({});
    await expect(socket.request('history', { roomId: 'no-such-room' })).rejects.toMatchObject({ code: 'NOT_FOUND', local: false });
    await expect(socket.subscribe('no-such-room')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('stays closed after 4001 (the login ended)', async () => {
    const { username } = await user(t);
    const session = await login(t.url, { username, password: PASSWORD });
    const proxy = await proxyTo(t.url);
    const socket = nativeSocket({ url: proxy.url, session });
    await socket.ready();
    const errors: string[] = [];
    socket.on('error', (e) => errors.push(e.code));
    const closed = new Promise<DisconnectInfo>((resolve) => socket.on('disconnect', resolve));
    await logout(t.url, session.refreshToken);
    expect(await closed).toMatchObject({ code: 4001, willReconnect: false });
    await severalBackoffs();
    expect(socket.state).toBe(NativeSocketState.CLOSED);
    expect(errors).toEqual(['UNAUTHENTICATED']);
    expect(proxy.accepted).toBe(1);
  });

  it('backs off and reconnects after a server-side drop, resuming from the last seq', async () => {
    const own = await startServer({ RATE_LIMITS: 'off' });
    let current = own;
    try {
      const owner = await user(own);
      const room = await owner.chat.chat.createRoom({ name: uniqueName('restart'), kind: 'public' });
      await owner.chat.chat.send(room.id, 'before');
      closeClients();
      const proxy = await proxyTo(own.url);
      const socket = nativeSocket({ url: proxy.url, username: owner.username, password: PASSWORD });
      const got = messagesOf(socket, room.id);
      await socket.subscribe(room.id, { afterSeq: 0 });
      await eventually(() => got.length === 1);

      const drops: DisconnectInfo[] = [];
      socket.on('disconnect', (info) => drops.push(info));
      // The server drains (1001: reconnect) and stops; attempts fail while it is down.
      await own.stop();
      await eventually(() => drops.length >= 3, 10_000, 'several failed attempts');
      expect(drops[0]).toMatchObject({ code: 1001, willReconnect: true });
      expect(drops.every((d) => d.willReconnect && d.delayMs !== undefined && d.delayMs <= fast.backoff.max * 1.5)).toBe(true);
      expect(socket.state).toBe(NativeSocketState.CONNECTING);

      current = await own.restart();
      const session = await login(current.url, { username: owner.username, password: PASSWORD });
      for (const text of ['while down 1', 'while down 2']) {
        const res = await fetch(`${current.url}/api/rooms/${room.id}/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${session.accessToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ text }),
        });
        expect(res.status).toBe(201);
      }
      proxy.retarget(current.url);
      await socket.ready();
      await eventually(() => got.length >= 3, 10_000, 'the missed messages');
      expect(got.map((m) => [m.seq, m.text])).toEqual([
        [1, 'before'],
        [2, 'while down 1'],
        [3, 'while down 2'],
      ]);
    } finally {
      await current.close();
    }
  });

  it('asks the token provider again on every reconnect and uses the fresh token', async () => {
    const { username } = await user(t);
    const sessions: { accessToken: string; refreshToken: string }[] = [];
    const getToken = async () => {
      const session = await login(t.url, { username, password: PASSWORD });
      sessions.push(session);
      return session.accessToken;
    };
    const proxy = await proxyTo(t.url);
    const socket = nativeSocket({ url: proxy.url, getToken });
    await socket.ready();
    expect(sessions).toHaveLength(1);

    const back = new Promise<void>((resolve) => socket.on('open', () => resolve()));
    proxy.cut();
    await back;
    expect(sessions).toHaveLength(2);

    // The first login ends: the connection runs on the second one's token, so it stays open.
    const drops: DisconnectInfo[] = [];
    socket.on('disconnect', (info) => drops.push(info));
    await logout(t.url, sessions[0]!.refreshToken);
    await socket.request('history', { roomId: 'no-such-room' }).catch(() => undefined);
    expect(drops).toEqual([]);
    expect(socket.state).toBe(NativeSocketState.OPEN);
  });

  it('renews the token on the live connection before it expires, and reports the new Session', async () => {
    // Access tokens of 5 s (the shortest allowed): the server closes with 4001 at expiry unless renewed.
    const short = await startServer({ RATE_LIMITS: 'off', ACCESS_TOKEN_TTL: 5 });
    try {
      const { username } = await user(short);
      closeClients();
      const session = await login(short.url, { username, password: PASSWORD });
      const firstExpiry = Date.now() + session.expiresIn * 1000;
      const socket = nativeSocket({ url: short.url, session });
      const sessions: Session[] = [];
      socket.on('session', (s) => sessions.push(s));
      const drops: DisconnectInfo[] = [];
      socket.on('disconnect', (info) => drops.push(info));
      await socket.ready();
      await eventually(() => sessions.length >= 1 && Date.now() > firstExpiry + 1000, 15_000, 'a renewal, then the first token past its expiry');
      expect(sessions[0]!.refreshToken).not.toBe(session.refreshToken);
      await socket.request('history', { roomId: 'no-such-room' }).catch(() => undefined);
      expect(drops).toEqual([]);
      expect(socket.state).toBe(NativeSocketState.OPEN);
    } finally {
      await short.close();
    }
  }, 30_000);

  it('replaces a dead (half-open) connection found by the heartbeat', async () => {
    const { username, chat } = await user(t);
    const room = await chat.chat.createRoom({ name: uniqueName('heartbeat'), kind: 'public' });
    const proxy = await proxyTo(t.url);
    const socket = nativeSocket({ url: proxy.url, username, password: PASSWORD, heartbeatIntervalMs: 200, heartbeatTimeoutMs: 1000 });
    const got = messagesOf(socket, room.id);
    await socket.subscribe(room.id, { afterSeq: 0 });
    const drops: DisconnectInfo[] = [];
    socket.on('disconnect', (info) => drops.push(info));
    const back = new Promise<void>((resolve) => socket.on('open', () => resolve()));

    proxy.freeze();
    await back;
    expect(drops[0]).toMatchObject({ reason: 'heartbeat timeout', willReconnect: true });
    expect(proxy.accepted).toBeGreaterThanOrEqual(2);
    const sent = await socket.send(room.id, 'after the heartbeat');
    await eventually(() => got.some((m) => m.id === sent.id));
  });
});

describe('NativeSocket: final close codes (a bare ws server)', () => {
  // Switchboard never closes with 1000, and 4003 needs an account removed from the database,
  // which no API does: a bare `ws` server sends these codes after the auth frame instead.
  let wss: WebSocketServer;
  let url: string;
  let connections = 0;
  beforeAll(async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    url = `http://127.0.0.1:${(wss.address() as { port: number }).port}`;
    wss.on('connection', (ws, req) => {
      connections++;
      const code = Number(req.url?.slice(1));
      ws.once('message', () => ws.close(code, 'closed by the test server'));
    });
  });
  afterAll(() => new Promise<void>((resolve) => wss.close(() => resolve())));

  it.each([1000, 4003])('stays closed after %i', async (code) => {
    const before = connections;
    // The gateway path carries the code the test server closes with.
    // A stored Session: a token provider would call /api/me, which this server does not have.
    const session = { user: { id: 'u1', username: 'device' }, accessToken: 'a-token', refreshToken: 'r', expiresIn: 900 } as Session;
    const socket = nativeSocket({ url, path: `/${code}`, session });
    const closed = new Promise<DisconnectInfo>((resolve) => socket.on('disconnect', resolve));
    expect(await closed).toMatchObject({ code, willReconnect: false });
    await severalBackoffs();
    expect(socket.state).toBe(NativeSocketState.CLOSED);
    expect(connections - before).toBe(1);
  });
});
