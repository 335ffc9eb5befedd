/**
 * `/ws` and SSE across two nodes of one deployment (Redis + PostgreSQL): messages cross between
 * `/ws`, SSE and `/chat` in every direction and between the nodes; a subscriber sees every seq once
 * and in order while both nodes store messages at once; an SSE cursor from one node resumes on the
 * other; typing crosses both ways; a login ended on one node closes its `/ws` connection on the other.
 */
import type { Message, Room, Session, TypingEvent } from '@switchboard/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeSockets, connect, eventually, http, next, ok, register, type ChatUser } from './helpers.js';
import { startCluster, type TestCluster } from './multinode.js';
import { connectWs, openSse, type SseEvent, type SseReader, type WsClient } from './plain-clients.js';

let cluster: TestCluster;
const url = (node: number) => cluster.nodes[node]!.url;
const clients: WsClient[] = [];
const readers: SseReader[] = [];

beforeAll(async () => {
  cluster = await startCluster(2);
});
afterAll(() => cluster.close());
afterEach(() => {
  for (const client of clients.splice(0)) client.ws.terminate();
  for (const reader of readers.splice(0)) reader.close();
  closeSockets();
});

async function chatUser(node: number, session?: Session): Promise<ChatUser> {
  const s = session ?? (await register(url(0)));
  const socket = await connect(url(node), '/chat', s.accessToken);
  await ok(socket, 'room:list', {});
  return { session: s, id: s.user.id, socket };
}

async function ws(node: number, token: string): Promise<WsClient> {
  const client = await connectWs(url(node), token);
  clients.push(client);
  return client;
}

async function sse(node: number, token: string, more: { query?: string; lastEventId?: string } = {}): Promise<SseReader> {
  const reader = await openSse(url(node), { token, ...more });
  readers.push(reader);
  return reader;
}

const createRoom = async (owner: ChatUser, memberIds: string[]) =>
  (await ok<{ room: Room }>(owner.socket, 'room:create', { name: `room ${Math.random().toString(36).slice(2)}`, kind: 'private', memberIds })).room;

let counter = 0;
const sendChat = async (user: ChatUser, roomId: string, text: string) =>
  (await ok<{ message: Message }>(user.socket, 'message:send', { roomId, clientMsgId: `n${counter++}`, text })).message;

const isText = (text: string) => (e: SseEvent) => e.event === 'message:new' && (e.data as Message).text === text;
const wsHas = (client: WsClient, text: string) =>
  client.waitFor((f) => f.type === 'event' && f.event === 'message:new' && (f.data as Message).text === text);

describe('two nodes', () => {
  it('carries messages between /ws, SSE and /chat in every direction', async () => {
    const alice = await chatUser(1);
    const bob = await register(url(0));
    const carol = await register(url(0));
    const room = await createRoom(alice, [bob.user.id, carol.user.id]);
    const bobWs = await ws(0, bob.accessToken);
    await bobWs.request('subscribe', { roomId: room.id });
    const carolSse = await sse(0, carol.accessToken, { query: `?rooms=${room.id}` });
    const aliceSse = await sse(1, alice.session.accessToken, { query: `?rooms=${room.id}` });

    // /chat on node 1 → /ws and SSE on node 0.
    await sendChat(alice, room.id, 'from chat');
    await wsHas(bobWs, 'from chat');
    await carolSse.waitFor(isText('from chat'));

    // /ws on node 0 → /chat and SSE on node 1, and SSE on node 0.
    const heard = next<Message>(alice.socket, 'message:new', (m) => m.text === 'from ws');
    expect(await bobWs.request('publish', { roomId: room.id, clientMsgId: 'x1', text: 'from ws' })).toMatchObject({ ok: true });
    await heard;
    await aliceSse.waitFor(isText('from ws'));
    await carolSse.waitFor(isText('from ws'));

    // /ws on node 1 → /ws on node 0.
    const carolWs = await ws(1, carol.accessToken);
    expect(await carolWs.request('publish', { roomId: room.id, clientMsgId: 'x2', text: 'from ws on 1' })).toMatchObject({ ok: true });
    await wsHas(bobWs, 'from ws on 1');
    expect(bobWs.messages(room.id).map((m) => m.seq)).toEqual([1, 2, 3]);

    // Typing, both ways.
    const typing = next<TypingEvent>(alice.socket, 'typing', (e) => e.userId === bob.user.id && e.typing);
    await bobWs.request('typing', { roomId: room.id, typing: true });
    await typing;
    await ok(alice.socket, 'typing', { roomId: room.id, typing: true });
    await bobWs.waitFor((f) => f.type === 'event' && f.event === 'typing' && (f.data as TypingEvent).userId === alice.id);
  });

  it('streams every seq once and in order while both nodes store messages', async () => {
    const senders = [await chatUser(0), await chatUser(1), await chatUser(0), await chatUser(1)];
    const bob = await register(url(0));
    const room = await createRoom(senders[0]!, [bob.user.id, ...senders.slice(1).map((u) => u.id)]);
    const client = await ws(0, bob.accessToken);
    await client.request('subscribe', { roomId: room.id, afterSeq: 0 });
    const reader = await sse(1, bob.accessToken, { query: `?rooms=${room.id}` });
    await Promise.all(
      senders.map(async (sender, s) => {
        for (let i = 0; i < 20; i++) await sendChat(sender, room.id, `s${s}-${i}`);
      }),
    );
    const all = Array.from({ length: 80 }, (_, i) => i + 1);
    await eventually(() => client.messages(room.id).length >= 80, 10_000, 'every message on /ws');
    expect(client.messages(room.id).map((m) => m.seq)).toEqual(all);
    await eventually(() => reader.events.filter((e) => e.event === 'message:new').length >= 80, 10_000, 'every message on SSE');
    expect(reader.events.filter((e) => e.event === 'message:new').map((e) => (e.data as Message).seq)).toEqual(all);
  });

  it('resumes an SSE cursor from one node on the other', async () => {
    const alice = await chatUser(1);
    const bob = await register(url(0));
    const room = await createRoom(alice, [bob.user.id]);
    const first = await sse(0, bob.accessToken);
    await sendChat(alice, room.id, 'one');
    await first.waitFor(isText('one'));
    const last = first.lastEventId();
    first.close();
    await sendChat(alice, room.id, 'two');
    await sendChat(alice, room.id, 'three');
    const second = await sse(1, bob.accessToken, { lastEventId: last });
    await second.waitFor(isText('three'));
    expect(second.events.filter((e) => e.event === 'message:new').map((e) => (e.data as Message).text)).toEqual(['two', 'three']);
  });

  it('closes a /ws connection with 4001 when its login ends on the other node', async () => {
    const bob = await register(url(0));
    const client = await ws(0, bob.accessToken);
    const reader = await sse(0, bob.accessToken);
    expect((await http(url(1), 'POST', '/api/auth/logout', { refreshToken: bob.refreshToken })).status).toBe(204);
    expect((await client.closed).code).toBe(4001);
    await reader.ended;
  });
});
