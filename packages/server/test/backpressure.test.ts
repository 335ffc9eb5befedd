/**
 * The per-connection send budget (PROTOCOL §2): a client that stops reading costs the server a
 * bounded amount of memory and is closed (after 10 s above MAX_SOCKET_BUFFER_BYTES, or at once
 * past 8 times it), on WebSocket and on polling; clients that read are never closed, however
 * large their answers, and others in the same room keep receiving.
 *
 * The server runs as its own process so its resident memory can be read from /proc.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from '@switchboard/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeSockets, collect, connect, eventually, ok, register, request, type ChatUser, chatUser } from './helpers.js';
import { alive, killServers, PROCESS_TEST_TIMEOUT_MS, spawnServer, type LogEntry, type ServerProcess } from './processes.js';
import { rawConnect } from './raw-socket.js';

const MiB = 1024 * 1024;
/** How much the server's memory may grow while one client misbehaves: generous, far below unbounded. */
const RSS_GROWTH_BOUND = 150 * MiB;
const TEXT = 'x'.repeat(4000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: ServerProcess;
let dataDir: string;
let roomId: string;
let owner: ChatUser;

function rss(): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'));
  if (!match) throw new Error('no VmRSS');
  return Number(match[1]) * 1024;
}

/** Samples the server's RSS until stopped; resolves to the highest value seen. */
function watchRss(): { stop: () => number } {
  let max = rss();
  const timer = setInterval(() => {
    if (alive(server.pid)) max = Math.max(max, rss());
  }, 100);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(max, rss());
    },
  };
}

const closures = (transport: string): LogEntry[] =>
  server.logs.filter((e) => e.msg === 'connection closed: its client is not reading' && e.transport === transport);

/** A user who is a member of the test room, with a `/chat` socket. */
async function member(): Promise<ChatUser> {
  const user = await chatUser(server.url);
  await ok(user.socket, 'room:join', { roomId });
  return user;
}

let sendCounter = 0;
const send = (user: ChatUser, text = TEXT) =>
  ok<{ message: Message }>(user.socket, 'message:send', { roomId, clientMsgId: `m${sendCounter++}`, text });

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'switchboard-backpressure-'));
  server = await spawnServer({ DATA_DIR: dataDir });
  owner = await chatUser(server.url);
  const created = await ok<{ room: { id: string } }>(owner.socket, 'room:create', { name: 'flood', kind: 'public' });
  roomId = created.room.id;
  // 210 messages of 4,000 characters, within every sender's burst: a full history page is ~800 kB.
  const senders = [owner, ...(await Promise.all(Array.from({ length: 6 }, () => member())))];
  await Promise.all(senders.map(async (user) => {
    for (let i = 0; i < 30; i++) await send(user);
  }));
  closeSockets();
}, PROCESS_TEST_TIMEOUT_MS);

afterAll(() => {
  killServers();
  rmSync(dataDir, { recursive: true, force: true });
});
afterEach(closeSockets);

describe('per-connection send budget', () => {
  it('closes a WebSocket client that stops reading while it floods history requests; memory stays bounded and others keep receiving', async () => {
    const fast = await member();
    const sender = await member();
    const stalled = await register(server.url);
    const stalledChat = await connect(server.url, '/chat', stalled.accessToken);
    await ok(stalledChat, 'room:join', { roomId });
    stalledChat.disconnect();

    const received = collect<Message>(fast.socket, 'message:new');
    const raw = await rawConnect(server.url, '/chat', stalled.accessToken);
    const closedBefore = closures('websocket').length;
    const memory = watchRss();
    const start = rss();

    raw.pauseReading();
    const sent: string[] = [];
    let id = 1;
    let lastSend = 0;
    const until = Date.now() + 10_000;
    while (Date.now() < until && closures('websocket').length === closedBefore) {
      // Keep the client's own buffer small: what matters is what the server does with what it reads.
      if (raw.ws.bufferedAmount < 64 * 1024) {
        raw.sendPacket(`2/chat,${id++}${JSON.stringify(['message:history', { roomId, limit: 200 }])}`);
        // Pongs keep the heartbeat alive: only the send budget may close this connection.
        if (id % 20 === 0) raw.ws.send('3');
      }
      if (Date.now() - lastSend > 300) {
        lastSend = Date.now();
        sent.push((await send(sender, `during the flood ${id}`)).message.id);
      }
      await sleep(5);
    }
    const peak = memory.stop();
    expect(id).toBeGreaterThan(10);
    expect(sent.length).toBeGreaterThan(0);
    expect(peak - start).toBeLessThan(RSS_GROWTH_BOUND);
    // Whether the flood ended by time or by the close, the budget must close it.
    await eventually(() => closures('websocket').length > closedBefore, 15_000, 'the stalled connection to be closed');
    raw.resumeReading();
    await raw.closed;
    expect(['stalled', 'overflow']).toContain(closures('websocket').at(-1)?.reason);
    // The fast client, in the same room, got every message sent during the flood, in order.
    await eventually(() => sent.every((m) => received.some((r) => r.id === m)), 10_000, 'the flood-time messages');
    const ids = received.map((m) => m.id).filter((m) => sent.includes(m));
    expect(ids).toEqual(sent);
    expect(fast.socket.connected).toBe(true);
  }, PROCESS_TEST_TIMEOUT_MS);

  it('closes a WebSocket client that stays over the budget for 10 s while it keeps sending requests and pongs', async () => {
    const stalled = await register(server.url);
    const stalledChat = await connect(server.url, '/chat', stalled.accessToken);
    await ok(stalledChat, 'room:join', { roomId });
    stalledChat.disconnect();
    const raw = await rawConnect(server.url, '/chat', stalled.accessToken);
    const closedBefore = closures('websocket').length;
    const memory = watchRss();
    const start = rss();

    raw.pauseReading();
    // Six pages (~4.8 MB) at once: over the 1 MiB budget (once the kernel's buffers are full),
    // under 8 times it.
    let id = 1;
    for (; id <= 6; id++) raw.sendPacket(`2/chat,${id}${JSON.stringify(['message:history', { roomId, limit: 200 }])}`);
    // Once over the budget nothing it sends is read, so nothing more is queued: it is closed for
    // staying above.
    while (closures('websocket').length === closedBefore) {
      raw.sendPacket(`2/chat,${id++}${JSON.stringify(['message:history', { roomId, limit: 200 }])}`);
      raw.ws.send('3');
      await sleep(200);
      if (id > 200) throw new Error('not closed');
    }
    const peak = memory.stop();
    expect(closures('websocket').at(-1)?.reason).toBe('stalled');
    expect(peak - start).toBeLessThan(RSS_GROWTH_BOUND);
    raw.resumeReading();
    await raw.closed;
  }, PROCESS_TEST_TIMEOUT_MS);

  it('a standard client whose connection was closed for not reading reconnects by itself and is served again', async () => {
    const s = await register(server.url);
    const socket = await connect(server.url, '/chat', s.accessToken, { reconnection: true });
    await ok(socket, 'room:join', { roomId });
    const closedBefore = closures('websocket').length;
    const reason = new Promise<string>((resolve) => socket.once('disconnect', resolve));

    // Below socket.io-client: its WebSocket's TCP socket stops being read.
    const tcp = (socket.io.engine.transport as unknown as { ws: { _socket: { pause(): void; resume(): void } } }).ws._socket;
    tcp.pause();
    // How much the kernel buffers varies: ask until the server's own buffer passes the budget.
    for (let i = 0; closures('websocket').length === closedBefore; i++) {
      if (i > 300) throw new Error('not closed');
      socket.emit('message:history', { roomId, limit: 200 }, () => undefined);
      await sleep(200);
    }
    tcp.resume();

    expect(await reason).toMatch(/^transport (close|error)$/);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const page = await request<{ messages: Message[] }>(socket, 'message:history', { roomId, limit: 200 }, 30_000);
    if (!page.ok) throw new Error(JSON.stringify(page.error));
    expect(page.messages).toHaveLength(200);
  }, PROCESS_TEST_TIMEOUT_MS);

  it('answers every request of a client that stops reading for a moment, once it reads again, without closing it', async () => {
    const s = await register(server.url);
    const chat = await connect(server.url, '/chat', s.accessToken);
    await ok(chat, 'room:join', { roomId });
    chat.disconnect();
    const raw = await rawConnect(server.url, '/chat', s.accessToken);
    const closedBefore = closures('websocket').length;

    raw.pauseReading();
    const answers = Array.from({ length: 8 }, () => raw.request(['message:history', { roomId, limit: 200 }], 60_000));
    // Requests sent while the connection is over its budget wait; none is lost.
    await sleep(2000);
    answers.push(raw.request(['room:list', {}], 60_000));
    raw.resumeReading();
    const results = (await Promise.all(answers)).map(([answer]) => answer as { ok: boolean; messages?: unknown[] });
    expect(results.every((r) => r.ok)).toBe(true);
    expect(results.slice(0, 8).every((r) => r.messages?.length === 200)).toBe(true);
    expect(closures('websocket').length).toBe(closedBefore);
    expect(raw.ws.readyState).toBe(raw.ws.OPEN);
    raw.ws.close();
  }, PROCESS_TEST_TIMEOUT_MS);

  it.each([
    { via: 'WebSocket', transports: ['websocket'] as const },
    { via: 'polling', transports: ['polling'] as const },
    { via: 'polling upgraded to WebSocket', transports: ['polling', 'websocket'] as const },
  ])('never closes a client that reads ($via), however large its answers, also when it asks for several at once', async ({ transports }) => {
    const session = await register(server.url);
    const socket = await connect(server.url, '/chat', session.accessToken, { transports: [...transports] });
    await ok(socket, 'room:join', { roomId });
    const reader = { session, id: session.user.id, socket };
    let disconnected = false;
    reader.socket.on('disconnect', () => {
      disconnected = true;
    });
    const closedBefore = closures('websocket').length + closures('polling').length;
    for (let round = 0; round < 3; round++) {
      // Sixteen pages of ~800 kB at once, ~13 MB, past 8 × the 1 MiB budget if they were answered
      // together: large answers are produced one after another while the connection is under its
      // budget, so every one is answered and the client, which reads, is never closed.
      const answers = await Promise.all(
        Array.from({ length: 16 }, () => request<{ messages: Message[] }>(reader.socket, 'message:history', { roomId, limit: 200 }, 30_000)),
      );
      for (const answer of answers) {
        if (!answer.ok) throw new Error(JSON.stringify(answer.error));
        expect(answer.messages).toHaveLength(200);
      }
    }
    expect(disconnected).toBe(false);
    expect(reader.socket.connected).toBe(true);
    expect(closures('websocket').length + closures('polling').length).toBe(closedBefore);
  }, PROCESS_TEST_TIMEOUT_MS);

  it('closes a polling client that stops polling while the room floods it; its requests meanwhile are held; memory stays bounded', async () => {
    const sender = await member();
    const stalled = await register(server.url);
    const stalledChat = await connect(server.url, '/chat', stalled.accessToken);
    await ok(stalledChat, 'room:join', { roomId });
    stalledChat.disconnect();

    const base = `${server.url}/socket.io/?EIO=4&transport=polling`;
    const open = await (await fetch(base)).text();
    const { sid } = JSON.parse(open.slice(1)) as { sid: string };
    const post = (packets: string[]) =>
      fetch(`${base}&sid=${sid}`, { method: 'POST', body: packets.map((p) => `4${p}`).join('\x1e') });
    expect((await post([`0/chat,${JSON.stringify({ token: stalled.accessToken })}`])).status).toBe(200);
    expect(await (await fetch(`${base}&sid=${sid}`)).text()).toMatch(/^40\/chat,\{"sid"/);

    const closedBefore = closures('polling').length;
    const memory = watchRss();
    const start = rss();
    // Three history pages (~2.4 MB) go over the budget; this client will never poll for them.
    const history = (n: number) => `2/chat,${n}${JSON.stringify(['message:history', { roomId, limit: 200 }])}`;
    expect((await post([history(1), history(2), history(3)])).status).toBe(200);
    // Time for the three answers to be queued for a poll that never comes.
    await sleep(2000);
    const held = post([history(4)]).then(async (res) => ({ status: res.status, body: await res.text() }));

    const until = Date.now() + 20_000;
    while (Date.now() < until && closures('polling').length === closedBefore) {
      await send(sender, `flood ${sendCounter}`);
      await sleep(150);
    }
    const peak = memory.stop();
    expect(closures('polling').length).toBeGreaterThan(closedBefore);
    expect(closures('polling').at(-1)?.reason).toBe('stalled');
    expect(peak - start).toBeLessThan(RSS_GROWTH_BOUND);
    // The held POST was never read: had it been, it would have been answered 200 "ok" at once;
    // it was let through only once the session was gone.
    expect(await held).toEqual({ status: 400, body: expect.stringContaining('Session ID unknown') });
    const after = await fetch(`${base}&sid=${sid}`);
    expect(after.status).toBe(400);
  }, PROCESS_TEST_TIMEOUT_MS);
});
