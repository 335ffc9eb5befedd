/**
 * One room's fan-out on the plain transports (PROTOCOL §8) to several clients at once: each event
 * is encoded once for all of them (realtime/feed-frames.ts) and `/ws` writes one pre-built
 * WebSocket frame to every connection, so every `/ws` client and every SSE reader must still get
 * each message of a burst exactly once, in order, as complete frames — and the same bytes.
 */
import type { Message, Room } from '@switchboard/protocol';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chatUser, closeSockets, eventually, ok, register, startServer, type TestServer } from './helpers.js';
import { connectWs, openSse, type SseEvent, type SseReader, type WsClient } from './plain-clients.js';

const BURST = 60;

let server: TestServer;
const clients: WsClient[] = [];
const readers: SseReader[] = [];

beforeAll(async () => {
  server = await startServer({ RATE_LIMITS: 'off' });
});
afterAll(async () => {
  for (const client of clients) client.ws.terminate();
  for (const reader of readers) reader.close();
  closeSockets();
  await server.close();
});

/** A frame as the client's `ws` handed it over: the bytes, and whether it was a text frame. */
interface RawFrame {
  bytes: Buffer;
  isBinary: boolean;
}

/** A subscribed `/ws` client that keeps the bytes of every frame it receives. */
async function rawSubscriber(token: string, roomId: string): Promise<RawFrame[]> {
  const client = await connectWs(server.url, token);
  clients.push(client);
  const raw: RawFrame[] = [];
  client.ws.on('message', (data, isBinary) => raw.push({ bytes: Buffer.from(data as Buffer), isBinary }));
  expect(await client.request('subscribe', { roomId })).toMatchObject({ ok: true, roomId });
  return raw;
}

const eventsOf = (raw: RawFrame[], event: string) =>
  raw.filter((f) => (JSON.parse(f.bytes.toString('utf8')) as { event?: string }).event === event);

const sseOf = (reader: SseReader, event: string): SseEvent[] => reader.events.filter((e) => e.event === event);

it('hands several /ws clients and SSE readers the same complete frames of a burst, each once, in order', async () => {
  const owner = await chatUser(server.url);
  const members = await Promise.all([register(server.url), register(server.url), register(server.url)]);
  const room = (
    await ok<{ room: Room }>(owner.socket, 'room:create', { name: 'fan-out', kind: 'private', memberIds: members.map((m) => m.user.id) })
  ).room;

  // Two connections per member, and readers both of the room alone and of all their rooms: their cursors differ.
  const subscribers = await Promise.all(members.flatMap((m) => [rawSubscriber(m.accessToken, room.id), rawSubscriber(m.accessToken, room.id)]));
  const sse = await Promise.all([
    ...members.map((m) => openSse(server.url, { token: m.accessToken, query: `?rooms=${room.id}` })),
    openSse(server.url, { token: members[0]!.accessToken }),
  ]);
  readers.push(...sse);

  // The burst comes from both sides at once: `/ws` publish requests and `/chat` sends, unawaited.
  const publisher = await connectWs(server.url, owner.session.accessToken);
  clients.push(publisher);
  const sent = await Promise.all(
    Array.from({ length: BURST }, async (_, i) => {
      if (i % 2 === 0) {
        const reply = await publisher.request('publish', { roomId: room.id, clientMsgId: `ws${i}`, text: `burst ${i} ✓` });
        expect(reply.ok).toBe(true);
        return reply.message as Message;
      }
      return (await ok<{ message: Message }>(owner.socket, 'message:send', { roomId: room.id, clientMsgId: `chat${i}`, text: `burst ${i} ✓` })).message;
    }),
  );
  const stored = sent.sort((a, b) => a.seq - b.seq);
  expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: BURST }, (_, i) => stored[0]!.seq + i));

  await ok(owner.socket, 'message:edit', { messageId: stored[7]!.id, text: 'edited ✓' });
  expect(await publisher.request('typing', { roomId: room.id, typing: true })).toMatchObject({ ok: true });

  await eventually(
    () =>
      subscribers.every((raw) => eventsOf(raw, 'message:updated').length === 1 && eventsOf(raw, 'typing').length === 1) &&
      sse.every((reader) => sseOf(reader, 'message:updated').length === 1),
    15_000,
    'every client and reader to get the burst, the edit and the typing',
  );

  // /ws: text frames, the same bytes on every connection, each a whole event of the burst in seq order.
  const reference = eventsOf(subscribers[0]!, 'message:new');
  expect(reference.map((f) => JSON.parse(f.bytes.toString('utf8')) as unknown)).toEqual(
    stored.map((message) => ({ type: 'event', event: 'message:new', data: message })),
  );
  for (const raw of subscribers) {
    expect(raw.every((f) => !f.isBinary)).toBe(true);
    expect(eventsOf(raw, 'message:new').map((f) => f.bytes)).toEqual(reference.map((f) => f.bytes));
    expect(eventsOf(raw, 'message:updated').map((f) => f.bytes)).toEqual(eventsOf(subscribers[0]!, 'message:updated').map((f) => f.bytes));
    expect(eventsOf(raw, 'typing').map((f) => f.bytes)).toEqual(eventsOf(subscribers[0]!, 'typing').map((f) => f.bytes));
  }
  expect(JSON.parse(eventsOf(subscribers[0]!, 'message:updated')[0]!.bytes.toString('utf8'))).toMatchObject({ data: { id: stored[7]!.id, text: 'edited ✓' } });

  // SSE: the same data text for every reader, and the very JSON the /ws frames carry; the id is each reader's own cursor.
  for (const reader of sse) {
    const news = sseOf(reader, 'message:new').filter((e) => (e.data as Message).roomId === room.id);
    expect(news.map((e) => e.text)).toEqual(reference.map((f) => f.bytes.toString('utf8').slice('{"type":"event","event":"message:new","data":'.length, -1)));
    expect(news.map((e) => e.id)).toEqual(stored.map((m) => expect.stringContaining(`${room.id}:${m.seq}`) as unknown));
    expect(sseOf(reader, 'message:updated').map((e) => e.text)).toEqual(
      eventsOf(subscribers[0]!, 'message:updated').map((f) => f.bytes.toString('utf8').slice('{"type":"event","event":"message:updated","data":'.length, -1)),
    );
  }
});
