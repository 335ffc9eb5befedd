/**
 * Server-Sent Events at `GET /api/events` (PROTOCOL §8) with a reader over `fetch`: Bearer or
 * `?token=`, the caller's rooms or `?rooms=`, `message:new` / `message:updated` /
 * `notification:new`, `id:` cursors that resume with nothing lost or repeated (also after a
 * restart), keep-alive comments, and refusals before the stream starts.
 */
import type { Message, Notification, Room } from '@switchboard/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chatUser, closeSockets, http, ok, register, startServer, type ChatUser, type TestServer } from './helpers.js';
import { connectWs, openSse, type SseEvent, type SseReader } from './plain-clients.js';

let server: TestServer;
const readers: SseReader[] = [];

async function sse(options: Parameters<typeof openSse>[1], on = server): Promise<SseReader> {
  const reader = await openSse(on.url, options);
  readers.push(reader);
  return reader;
}

const createRoom = async (owner: ChatUser, memberIds: string[] = [], kind: 'public' | 'private' = 'private') =>
  (await ok<{ room: Room }>(owner.socket, 'room:create', { name: `room ${Math.random().toString(36).slice(2)}`, kind, memberIds })).room;

let counter = 0;
const sendChat = async (user: ChatUser, roomId: string, text = 'hello') =>
  (await ok<{ message: Message }>(user.socket, 'message:send', { roomId, clientMsgId: `s${counter++}`, text })).message;

const newMessages = (reader: SseReader, roomId?: string) =>
  reader.events
    .filter((e) => e.event === 'message:new' && (roomId === undefined || (e.data as Message).roomId === roomId))
    .map((e) => e.data as Message);

const isText = (text: string) => (e: SseEvent) => e.event === 'message:new' && (e.data as Message).text === text;

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());
afterEach(() => {
  for (const reader of readers.splice(0)) reader.close();
  closeSockets();
});

describe('opening a stream', () => {
  it('refuses without a token, with a bad cursor, and for rooms the caller may not read', async () => {
    const alice = await chatUser(server.url);
    const bob = await register(server.url);
    const room = await createRoom(alice);
    expect((await http(server.url, 'GET', '/api/events')).status).toBe(401);
    expect((await http(server.url, 'GET', '/api/events?token=forged')).status).toBe(401);
    expect((await sse({ token: bob.accessToken, lastEventId: 'not a cursor' })).status).toBe(400);
    expect((await sse({ token: bob.accessToken, query: `?rooms=${room.id}` })).status).toBe(403);
    expect((await sse({ token: bob.accessToken, query: '?rooms=nope' })).status).toBe(404);
    expect((await sse({ token: bob.accessToken, query: '?rooms=a%20b' })).status).toBe(400);
  });

  it('streams new and edited messages of all the caller\'s rooms, and notifications, with ?token=', async () => {
    const alice = await chatUser(server.url);
    const bob = await register(server.url);
    const room = await createRoom(alice, [bob.user.id]);
    const dm = (await ok<{ room: Room }>(alice.socket, 'dm:open', { userId: bob.user.id })).room;
    const reader = await sse({ token: bob.accessToken, query: `?token=${bob.accessToken}`, bearer: false });
    expect(reader.status).toBe(200);

    const sent = await sendChat(alice, room.id, 'to the room');
    const event = await reader.waitFor(isText('to the room'));
    expect(event.id).toBeTruthy();
    await ok(alice.socket, 'message:edit', { messageId: sent.id, text: 'edited' });
    await reader.waitFor((e) => e.event === 'message:updated' && (e.data as Message).text === 'edited');

    await sendChat(alice, dm.id, 'direct');
    await reader.waitFor(isText('direct'));
    const notification = await reader.waitFor((e) => e.event === 'notification:new');
    expect((notification.data as Notification).kind).toBe('dm');
  });

  it('streams only ?rooms=, and sends keep-alive comments', async () => {
    const own = await startServer({ SSE_KEEPALIVE_S: 0.2 });
    try {
      const alice = await chatUser(own.url);
      const bob = await register(own.url);
      const wanted = await createRoom(alice, [bob.user.id]);
      const other = await createRoom(alice, [bob.user.id]);
      const reader = await sse({ token: bob.accessToken, query: `?rooms=${wanted.id}` }, own);
      await sendChat(alice, other.id, 'elsewhere');
      await sendChat(alice, wanted.id, 'here');
      await reader.waitFor(isText('here'));
      expect(newMessages(reader, other.id)).toHaveLength(0);
      const start = reader.comments.length;
      await new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (reader.comments.length >= start + 2) {
            clearInterval(check);
            resolve();
          }
        }, 20);
      });
    } finally {
      await own.close();
    }
  });
});

describe('membership', () => {
  it('stops streaming a room the reader left', async () => {
    const alice = await chatUser(server.url);
    const bob = await chatUser(server.url);
    const left = await createRoom(alice, [bob.id]);
    const kept = await createRoom(alice, [bob.id]);
    const reader = await sse({ token: bob.session.accessToken });
    await ok(bob.socket, 'room:leave', { roomId: left.id });
    await sendChat(alice, left.id, 'after leaving');
    await sendChat(alice, kept.id, 'marker');
    await reader.waitFor(isText('marker'));
    expect(newMessages(reader, left.id)).toHaveLength(0);
  });

  it('takes in a room the reader joins when it streams all their rooms', async () => {
    const alice = await chatUser(server.url);
    const bob = await register(server.url);
    const reader = await sse({ token: bob.accessToken });
    const room = await createRoom(alice, [bob.user.id]);
    await sendChat(alice, room.id, 'first');
    // The stream follows the room from the moment it hears of it: the first message may be sent
    // before or after that, the next ones arrive.
    await sendChat(alice, room.id, 'second');
    await reader.waitFor(isText('second'));
  });
});

describe('resuming', () => {
  it('resumes after Last-Event-ID with nothing lost or repeated, also with ?lastEventId=', async () => {
    const [alice, carol] = await Promise.all([chatUser(server.url), chatUser(server.url)]);
    const bob = await register(server.url);
    const rooms = [await createRoom(alice, [bob.user.id, carol.id]), await createRoom(carol, [bob.user.id, alice.id])];
    const seen: Message[] = [];
    let reader = await sse({ token: bob.accessToken });
    const sending = (async () => {
      for (let i = 0; i < 40; i++) await sendChat(i % 2 ? alice : carol, rooms[i % 2]!.id, `m${i}`);
    })();
    for (let drop = 0; drop < 3; drop++) {
      const target = seen.length + 4;
      await reader.waitFor(() => seen.length + newMessages(reader).length >= target);
      seen.push(...newMessages(reader));
      const last = reader.lastEventId();
      reader.close();
      reader = await sse(drop % 2 ? { token: bob.accessToken, lastEventId: last } : { token: bob.accessToken, query: `?lastEventId=${encodeURIComponent(last ?? '')}` });
    }
    await sending;
    await reader.waitFor(isText('m39'));
    await reader.waitFor(isText('m38'));
    seen.push(...newMessages(reader));
    for (const room of rooms) {
      expect(seen.filter((m) => m.roomId === room.id).map((m) => m.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    }
  });

  it('resumes after a restart, with notifications sent meanwhile', async () => {
    let own = await startServer();
    try {
      const alice = await chatUser(own.url);
      const bob = await register(own.url);
      const dm = (await ok<{ room: Room }>(alice.socket, 'dm:open', { userId: bob.user.id })).room;
      const reader = await sse({ token: bob.accessToken }, own);
      await sendChat(alice, dm.id, 'before');
      await reader.waitFor((e) => e.event === 'notification:new');
      await reader.waitFor(isText('before'));
      const last = reader.lastEventId();
      reader.close();
      closeSockets();
      await own.stop();
      own = await own.restart();
      // The logins survive the restart: the same access tokens work.
      const again = await chatUser(own.url, alice.session);
      await sendChat(again, dm.id, 'while away');
      const resumed = await sse({ token: bob.accessToken, lastEventId: last }, own);
      await resumed.waitFor(isText('while away'));
      await resumed.waitFor((e) => e.event === 'notification:new');
      expect(newMessages(resumed).map((m) => m.text)).toEqual(['while away']);
      expect(resumed.events.filter((e) => e.event === 'notification:new')).toHaveLength(1);
    } finally {
      await own.close();
    }
  });
});

describe('crossing transports', () => {
  it('carries /ws publishes to SSE readers and /chat sockets', async () => {
    const alice = await chatUser(server.url);
    const bob = await register(server.url);
    const room = await createRoom(alice, [bob.user.id]);
    const reader = await sse({ token: alice.session.accessToken, query: `?rooms=${room.id}` });
    const client = await connectWs(server.url, bob.accessToken);
    try {
      const reply = await client.request('publish', { roomId: room.id, clientMsgId: 'p1', text: 'from ws' });
      expect(reply.ok).toBe(true);
      await reader.waitFor(isText('from ws'));
    } finally {
      client.ws.terminate();
    }
  });
});
