/**
 * The plain-WebSocket gateway at `/ws` (PROTOCOL §8) with a raw `ws` client: the auth frame and
 * its timeout, bad frames and their close codes, requests and replies, subscriptions that replay
 * and then stream with no gap and no repeat (also across a dropped connection), idempotent
 * publishing, rate limits, ended logins, draining, dead peers, and messages crossing between
 * `/ws` and `/chat` both ways.
 */
import type { Message, PresenceEvent, Room, TypingEvent, User } from '@switchboard/protocol';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chatUser, closeSockets, collect, eventually, http, next, ok, register, startServer, type ChatUser, type TestServer } from './helpers.js';
import { connectWs, openWs, type WsClient } from './plain-clients.js';

let server: TestServer;
const clients: WsClient[] = [];

/** Opens and authenticates a `/ws` client that the test's cleanup closes. */
async function ws(token: string, options: { autoPong?: boolean } = {}, on = server): Promise<WsClient> {
  const client = await connectWs(on.url, token, options);
  clients.push(client);
  return client;
}

async function raw(): Promise<WsClient> {
  const client = await openWs(server.url);
  clients.push(client);
  return client;
}

const createRoom = async (owner: ChatUser, memberIds: string[] = [], kind: 'public' | 'private' = 'public') =>
  (await ok<{ room: Room }>(owner.socket, 'room:create', { name: `room ${Math.random().toString(36).slice(2)}`, kind, memberIds })).room;

let counter = 0;
const sendChat = async (user: ChatUser, roomId: string, text = 'hello') =>
  (await ok<{ message: Message }>(user.socket, 'message:send', { roomId, clientMsgId: `c${counter++}`, text })).message;

/** The seqs are exactly from..to, each once, in order. */
function expectRun(messages: Message[], from: number, to: number): void {
  expect(messages.map((m) => m.seq)).toEqual(Array.from({ length: to - from + 1 }, (_, i) => from + i));
}

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());
afterEach(() => {
  for (const client of clients.splice(0)) client.ws.terminate();
  closeSockets();
});

describe('authentication', () => {
  it('answers a valid auth frame with ready and the user', async () => {
    const session = await register(server.url);
    const client = await ws(session.accessToken);
    const ready = client.frames.find((f) => f.type === 'ready');
    expect((ready?.user as User).id).toBe(session.user.id);
  });

  it('closes with 4001 when no auth frame arrives within 5 s', async () => {
    const client = await raw();
    expect((await client.closed).code).toBe(4001);
  }, 15_000);

  it('closes with 4001 on a bad token, and when the first frame is not auth', async () => {
    const forged = await raw();
    forged.send({ type: 'auth', token: 'not-a-token' });
    expect((await forged.closed).code).toBe(4001);

    const early = await raw();
    early.send({ type: 'subscribe', id: 1, roomId: 'x' });
    expect((await early.closed).code).toBe(4001);
  });

  it('serves requests sent right behind the auth frame, after ready', async () => {
    const session = await register(server.url);
    const client = await raw();
    client.send({ type: 'auth', token: session.accessToken });
    client.send({ type: 'history', id: 'early', roomId: 'no-such-room' });
    const reply = await client.waitFor((f) => f.type === 'reply' && f.id === 'early');
    expect(reply).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(client.frames.findIndex((f) => f.type === 'ready')).toBeLessThan(client.frames.indexOf(reply));
  });

  it('closes with 4001 when the login ends, and a renewing auth frame keeps it open', async () => {
    const session = await register(server.url);
    const client = await ws(session.accessToken);
    const refreshed = await http<{ accessToken: string; refreshToken: string }>(server.url, 'POST', '/api/auth/refresh', { refreshToken: session.refreshToken });
    client.send({ type: 'auth', token: refreshed.body.accessToken });
    await eventually(() => client.frames.filter((f) => f.type === 'ready').length === 2);
    await http(server.url, 'POST', '/api/auth/logout', { refreshToken: refreshed.body.refreshToken });
    expect((await client.closed).code).toBe(4001);
  });

  it('refuses an upgrade from a browser origin other than PUBLIC_URL with 403', async () => {
    const own = await startServer({ PUBLIC_URL: 'https://chat.example.com' });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const socket = new WebSocket(`${own.url.replace('http', 'ws')}/ws`, { origin: 'https://elsewhere.example' });
        socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        socket.on('open', () => reject(new Error('upgraded')));
        socket.on('error', () => undefined);
      });
      expect(status).toBe(403);
      const allowed = await connectWs(own.url, (await register(own.url)).accessToken);
      allowed.ws.terminate();
    } finally {
      await own.close();
    }
  });

  it('closes with 4001 when the access token expires', async () => {
    const short = await startServer({ ACCESS_TOKEN_TTL: 5 });
    try {
      const session = await register(short.url);
      const client = await ws(session.accessToken, {}, short);
      expect((await client.closed).code).toBe(4001);
    } finally {
      await short.close();
    }
  }, 15_000);
});

describe('frames', () => {
  let token: string;
  beforeAll(async () => {
    token = (await register(server.url)).accessToken;
  });

  it.each([
    ['not JSON', 'hello'],
    ['an array', '[1,2]'],
    ['an object without a type', '{"id":1}'],
    ['binary', Buffer.from([1, 2, 3])],
  ])('closes with 4400 on %s', async (_what, frame) => {
    const client = await ws(token);
    client.send(frame);
    expect((await client.closed).code).toBe(4400);
  });

  it('closes with 1009 on a frame over 64 KiB', async () => {
    const client = await ws(token);
    client.send({ type: 'publish', id: 1, roomId: 'r', clientMsgId: 'a', text: 'x'.repeat(70 * 1024) });
    expect((await client.closed).code).toBe(1009);
  });

  it('answers ping, unknown types, missing ids and bad payloads, and stays open', async () => {
    const client = await ws(token);
    client.send({ type: 'ping' });
    await client.waitFor((f) => f.type === 'pong');

    const unknown = await client.request('teleport');
    expect(unknown).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect((unknown.error as { message: string }).message).toContain('teleport');

    client.send({ type: 'history', roomId: 'r' });
    const noId = await client.waitFor((f) => f.type === 'reply' && f.id === null);
    expect(noId).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });

    const bad = await client.request('publish', { roomId: 'r', clientMsgId: 'a', text: 42 });
    expect(bad).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });

    const missing = await client.request('subscribe', { roomId: 'no-such-room' });
    expect(missing).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(client.ws.readyState).toBe(client.ws.OPEN);
  });

  it('answers FORBIDDEN for a room the caller may not read, without closing', async () => {
    const owner = await chatUser(server.url);
    const room = await createRoom(owner, [], 'private');
    const client = await ws(token);
    for (const type of ['subscribe', 'history']) {
      expect(await client.request(type, { roomId: room.id })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    }
    expect(await client.request('publish', { roomId: room.id, clientMsgId: 'x', text: 'hi' })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    expect(client.ws.readyState).toBe(client.ws.OPEN);
  });
});

describe('messages', () => {
  it('crosses between /ws and /chat both ways, with typing and read marks', async () => {
    const alice = await chatUser(server.url);
    const bob = await register(server.url);
    const room = await createRoom(alice, [bob.user.id]);
    const client = await ws(bob.accessToken);
    expect(await client.request('subscribe', { roomId: room.id })).toMatchObject({ ok: true, roomId: room.id, lastSeq: 0 });

    const fromChat = await sendChat(alice, room.id, 'from chat');
    await client.waitFor((f) => f.type === 'event' && f.event === 'message:new' && (f.data as Message).id === fromChat.id);

    const heard = next<Message>(alice.socket, 'message:new', (m) => m.text === 'from ws');
    const published = await client.request('publish', { roomId: room.id, clientMsgId: 'w1', text: 'from ws' });
    expect(published).toMatchObject({ ok: true, message: { seq: 2, senderId: bob.user.id } });
    expect((await heard).seq).toBe(2);

    const typing = next<TypingEvent>(alice.socket, 'typing', (e) => e.userId === bob.user.id && e.typing);
    expect(await client.request('typing', { roomId: room.id, typing: true })).toMatchObject({ ok: true });
    await typing;
    await ok(alice.socket, 'typing', { roomId: room.id, typing: true });
    await client.waitFor((f) => f.type === 'event' && f.event === 'typing' && (f.data as TypingEvent).userId === alice.id);

    await ok(alice.socket, 'read', { roomId: room.id, seq: 2 });
    await client.waitFor((f) => f.type === 'event' && f.event === 'read');
    expect(await client.request('read', { roomId: room.id, seq: 2 })).toMatchObject({ ok: true });

    const history = await client.request('history', { roomId: room.id });
    expect((history.messages as Message[]).map((m) => m.text)).toEqual(['from chat', 'from ws']);
  });

  it('counts a /ws connection for presence, and tells subscribers of presence changes', async () => {
    const alice = await chatUser(server.url);
    const bob = await register(server.url);
    const room = await createRoom(alice, [bob.user.id]);
    const online = next<PresenceEvent>(alice.socket, 'presence', (e) => e.userId === bob.user.id && e.status === 'online');
    const client = await ws(bob.accessToken);
    await online;
    await client.request('subscribe', { roomId: room.id });
    const carol = await register(server.url);
    await ok(alice.socket, 'room:invite', { roomId: room.id, userId: carol.user.id });
    const carolWs = await ws(carol.accessToken);
    await client.waitFor((f) => f.type === 'event' && f.event === 'presence' && (f.data as PresenceEvent).userId === carol.user.id);
    const offline = next<PresenceEvent>(alice.socket, 'presence', (e) => e.userId === bob.user.id && e.status === 'offline');
    client.ws.close();
    await offline;
    carolWs.ws.close();
  });

  it('publishes idempotently per clientMsgId, like message:send', async () => {
    const alice = await chatUser(server.url);
    const bob = await register(server.url);
    const room = await createRoom(alice, [bob.user.id]);
    const received = collect<Message>(alice.socket, 'message:new');
    const client = await ws(bob.accessToken);
    const first = await client.request('publish', { roomId: room.id, clientMsgId: 'same', text: 'once' });
    const again = await client.request('publish', { roomId: room.id, clientMsgId: 'same', text: 'once' });
    expect((again.message as Message).id).toBe((first.message as Message).id);
    // The same id from /chat is the same sender's retry too.
    const fromChat = await ok<{ message: Message }>(
      (await chatUser(server.url, bob)).socket,
      'message:send',
      { roomId: room.id, clientMsgId: 'same', text: 'once' },
    );
    expect(fromChat.message.id).toBe((first.message as Message).id);
    await sendChat(alice, room.id, 'marker');
    await eventually(() => received.some((m) => m.text === 'marker'));
    expect(received.filter((m) => m.text === 'once')).toHaveLength(1);
  });

  it('replays after afterSeq and then streams, with no gap and no repeat while others send', async () => {
    const [alice, carol] = await Promise.all([chatUser(server.url), chatUser(server.url)]);
    const bob = await register(server.url);
    const room = await createRoom(alice, [bob.user.id, carol.id]);
    for (let i = 0; i < 25; i++) await sendChat(alice, room.id, `before ${i}`);
    const client = await ws(bob.accessToken);
    // Sends race the replay: each message arrives once, from the replay or live.
    const racing = (async () => {
      for (let i = 0; i < 25; i++) await sendChat(carol, room.id, `during ${i}`);
    })();
    const reply = await client.request('subscribe', { roomId: room.id, afterSeq: 5 });
    expect(reply).toMatchObject({ ok: true });
    await racing;
    await eventually(() => client.messages(room.id).at(-1)?.seq === 50);
    expectRun(client.messages(room.id), 6, 50);
  });

  it('resumes after a dropped connection with nothing lost or repeated', async () => {
    const senders = await Promise.all([chatUser(server.url), chatUser(server.url), chatUser(server.url)]);
    const bob = await register(server.url);
    const room = await createRoom(senders[0]!, [bob.user.id, ...senders.slice(1).map((u) => u.id)]);
    const seen: Message[] = [];
    let client = await ws(bob.accessToken);
    await client.request('subscribe', { roomId: room.id, afterSeq: 0 });
    const sending = (async () => {
      for (let i = 0; i < 60; i++) await sendChat(senders[i % 3]!, room.id, `m${i}`);
    })();
    for (let drop = 0; drop < 3; drop++) {
      await eventually(() => client.messages(room.id).length >= 5);
      seen.push(...client.messages(room.id));
      client.ws.terminate();
      client = await ws(bob.accessToken);
      await client.request('subscribe', { roomId: room.id, afterSeq: seen.at(-1)?.seq ?? 0 });
    }
    await sending;
    await eventually(() => client.messages(room.id).at(-1)?.seq === 60);
    seen.push(...client.messages(room.id));
    expectRun(seen, 1, 60);
  });

  it('stops streaming a room the user left, and unsubscribe stops it too', async () => {
    const alice = await chatUser(server.url);
    const bobSession = await register(server.url);
    const bob = await chatUser(server.url, bobSession);
    const room = await createRoom(alice, [bob.id]);
    const other = await createRoom(alice, [bob.id]);
    const client = await ws(bobSession.accessToken);
    await client.request('subscribe', { roomId: room.id });
    await client.request('subscribe', { roomId: other.id });
    await ok(bob.socket, 'room:leave', { roomId: room.id });
    expect(await client.request('unsubscribe', { roomId: other.id })).toMatchObject({ ok: true });
    await sendChat(alice, room.id, 'after leaving');
    await sendChat(alice, other.id, 'after unsubscribing');
    const marker = await createRoom(alice, [bob.id]);
    await client.request('subscribe', { roomId: marker.id });
    await sendChat(alice, marker.id, 'marker');
    await client.waitFor((f) => f.type === 'event' && (f.data as Message).text === 'marker');
    expect(client.messages(room.id)).toHaveLength(0);
    expect(client.messages(other.id)).toHaveLength(0);
  });
});

describe('limits', () => {
  it('answers RATE_LIMITED with retryAfterMs past the publish budget', async () => {
    const alice = await chatUser(server.url);
    const bob = await register(server.url);
    const room = await createRoom(alice, [bob.user.id]);
    const client = await ws(bob.accessToken);
    const replies = await Promise.all(
      Array.from({ length: 45 }, (_, i) => client.request('publish', { roomId: room.id, clientMsgId: `rl${i}`, text: 'flood' })),
    );
    const limited = replies.filter((r) => !r.ok);
    expect(limited.length).toBeGreaterThan(0);
    for (const r of limited) {
      expect(r.error).toMatchObject({ code: 'RATE_LIMITED' });
      expect((r.error as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
    }
    expect(client.ws.readyState).toBe(client.ws.OPEN);
  });

  it('closes with 4008 a client that keeps sending while refused', async () => {
    const session = await register(server.url);
    const client = await ws(session.accessToken);
    for (let i = 0; i < 400; i++) client.send({ type: 'ping' });
    expect((await client.closed).code).toBe(4008);
  });

  it('answers every request, then closes with 1001 when the server drains, and refuses new connections', async () => {
    const own = await startServer();
    try {
      const owner = await chatUser(own.url);
      const session = await register(own.url);
      const room = await createRoom(owner, [session.user.id]);
      const client = await ws(session.accessToken, {}, own);
      const replies = Array.from({ length: 20 }, (_, i) => client.request('publish', { roomId: room.id, clientMsgId: `d${i}`, text: 'bye' }));
      // The first answer means the server has read them all (they were sent before it): the rest are in flight.
      await replies[0];
      const draining = own.server.drain();
      // Each is answered: stored and acknowledged, or (read after the drain began) refused to be sent again elsewhere.
      for (const reply of await Promise.all(replies)) {
        if (!reply.ok) expect(reply.error).toMatchObject({ code: 'UNAVAILABLE' });
      }
      await draining;
      expect((await client.closed).code).toBe(1001);
      await expect(openWs(own.url)).rejects.toThrow();
    } finally {
      await own.close();
    }
  });

  it('drops a peer that stops answering pings', async () => {
    const own = await startServer({ WS_PING_INTERVAL_MS: 200 });
    try {
      const session = await register(own.url);
      const silent = await ws(session.accessToken, { autoPong: false }, own);
      const healthy = await ws(session.accessToken, {}, own);
      expect((await silent.closed).code).toBe(1006);
      expect(healthy.ws.readyState).toBe(healthy.ws.OPEN);
    } finally {
      await own.close();
    }
  });
});
