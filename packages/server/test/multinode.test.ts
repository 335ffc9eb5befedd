/**
 * Multi-node mode (REDIS_URL + PostgreSQL): three nodes of one deployment in this process, each
 * with its own Socket.IO server, sharing one database and one Redis prefix. Users on different
 * nodes chat, see typing, presence and read marks, get DMs and notifications; membership changes
 * and session revocations take effect on every node; rate limits are shared; concurrent senders
 * on every node still get seq 1..N without gaps.
 */
import type { Socket } from 'socket.io-client';
import type { Message, Notification, PresenceEvent, ReadEvent, Room, RoomMember, Session, TypingEvent } from '@switchboard/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeSockets, collect, connect, eventually, http, next, ok, register, request, uniqueName } from './helpers.js';
import { startCluster, type TestCluster } from './multinode.js';

let cluster: TestCluster;
const url = (node: number) => cluster.nodes[node]!.url;

beforeAll(async () => {
  cluster = await startCluster(3);
});
afterAll(() => cluster.close());
afterEach(closeSockets);

interface ChatUser {
  session: Session;
  id: string;
  socket: Socket;
}

/** A user (new, or another tab of `session`) with a chat socket on `node`, subscribed to its rooms. */
async function chatUser(node: number, session?: Session): Promise<ChatUser> {
  const s = session ?? (await register(url(0)));
  const socket = await connect(url(node), '/chat', s.accessToken);
  await ok(socket, 'room:list', {});
  return { session: s, id: s.user.id, socket };
}

const createRoom = async (u: ChatUser, memberIds: string[], kind: 'public' | 'private' = 'private') =>
  (await ok<{ room: Room }>(u.socket, 'room:create', { name: uniqueName('Room'), kind, memberIds })).room;

const send = async (u: ChatUser, roomId: string, text = 'hi') =>
  (await ok<{ message: Message }>(u.socket, 'message:send', { roomId, clientMsgId: uniqueName('c'), text })).message;

describe('three nodes, one deployment', () => {
  it('delivers a message sent on one node to every member on every node, the sender’s other tabs included', async () => {
    const a = await chatUser(0);
    const [b, c] = [await chatUser(1), await chatUser(2)];
    const aOtherTab = await chatUser(2, a.session);
    const room = await createRoom(a, [b.id, c.id]);
    const added = next<Room>(c.socket, 'room:added');
    expect((await added).id).toBe(room.id);

    const arrivals = [b, c, aOtherTab].map((u) => next<Message>(u.socket, 'message:new', (m) => m.roomId === room.id));
    const sent = await send(a, room.id, 'hello from node 0');
    for (const message of await Promise.all(arrivals)) expect(message).toEqual(sent);

    // And back, from node 2 to nodes 0 and 1.
    const back = [a, b].map((u) => next<Message>(u.socket, 'message:new', (m) => m.text === 'hello from node 2'));
    await send(c, room.id, 'hello from node 2');
    expect((await Promise.all(back)).map((m) => m.seq)).toEqual([2, 2]);
  });

  it('shows typing across nodes: started once, ended by another tab on another node, expired by the node that renewed last', async () => {
    const a = await chatUser(0);
    const aOtherTab = await chatUser(2, a.session);
    const b = await chatUser(1);
    const room = await createRoom(a, [b.id]);
    const seenByB = collect<TypingEvent>(b.socket, 'typing');
    const ownEcho = collect<TypingEvent>(aOtherTab.socket, 'typing');

    const started = next<TypingEvent>(b.socket, 'typing');
    await ok(a.socket, 'typing', { roomId: room.id, typing: true });
    expect(await started).toEqual({ roomId: room.id, userId: a.id, displayName: a.session.user.displayName, typing: true });
    await ok(aOtherTab.socket, 'typing', { roomId: room.id, typing: true }); // a renewal, from node 2
    const stopped = next<TypingEvent>(b.socket, 'typing', (e) => !e.typing);
    await ok(aOtherTab.socket, 'typing', { roomId: room.id, typing: false });
    expect(await stopped).toMatchObject({ userId: a.id, typing: false });
    expect(seenByB.map((e) => e.typing)).toEqual([true, false]);

    // Started on node 0, renewed on node 2: node 0's timer must not end it, node 2's does, once.
    seenByB.length = 0;
    const again = next<TypingEvent>(b.socket, 'typing');
    await ok(a.socket, 'typing', { roomId: room.id, typing: true });
    await again;
    await new Promise((r) => setTimeout(r, 1000));
    await ok(aOtherTab.socket, 'typing', { roomId: room.id, typing: true });
    const expired = await next<TypingEvent>(b.socket, 'typing', (e) => !e.typing, 15_000);
    expect(expired).toMatchObject({ userId: a.id, typing: false });
    // A probe message proves b has heard everything sent before it.
    const probe = next<Message>(b.socket, 'message:new');
    await send(a, room.id, 'probe');
    await probe;
    expect(seenByB.map((e) => e.typing)).toEqual([true, false]);
    expect(ownEcho).toEqual([]);
  });

  it('keeps presence cluster-wide: online from the first socket on any node to the last one anywhere', async () => {
    const a = await chatUser(0);
    const dSession = await register(url(0));
    const room = await createRoom(a, [dSession.user.id]);
    const seen = collect<PresenceEvent>(a.socket, 'presence');

    const online = next<PresenceEvent>(a.socket, 'presence', (e) => e.userId === dSession.user.id);
    const d1 = await chatUser(1, dSession);
    expect(await online).toMatchObject({ userId: d1.id, status: 'online' });
    const d2 = await connect(url(2), '/notifications', dSession.accessToken);
    const { members } = await ok<{ members: RoomMember[] }>(a.socket, 'room:members', { roomId: room.id });
    expect(members.find((m) => m.id === d1.id)?.online).toBe(true);

    // The socket on node 2 keeps d online when the one on node 1 goes.
    const aOnNode2 = await chatUser(2, a.session);
    d1.socket.disconnect();
    const chatOfNode1 = cluster.nodes[1]!.server.realtime.io.of('/chat');
    await eventually(() => ![...chatOfNode1.sockets.values()].some((s) => s.data.userId === d1.id));
    const still = await ok<{ members: RoomMember[] }>(aOnNode2.socket, 'room:members', { roomId: room.id });
    expect(still.members.find((m) => m.id === d1.id)?.online).toBe(true);
    const offline = next<PresenceEvent>(a.socket, 'presence', (e) => e.userId === d1.id && e.status === 'offline');
    d2.disconnect();
    expect((await offline).lastSeenAt).toBeGreaterThan(0);
    expect(seen.filter((e) => e.userId === d1.id).map((e) => e.status)).toEqual(['online', 'offline']);
    const after = await ok<{ members: RoomMember[] }>(aOnNode2.socket, 'room:members', { roomId: room.id });
    expect(after.members.find((m) => m.id === d1.id)?.online).toBe(false);
  });

  it('broadcasts read marks across nodes', async () => {
    const a = await chatUser(0);
    const b = await chatUser(1);
    const room = await createRoom(a, [b.id]);
    await send(a, room.id);
    const read = next<ReadEvent>(a.socket, 'read', (e) => e.userId === b.id);
    await ok(b.socket, 'read', { roomId: room.id, seq: 1 });
    expect(await read).toEqual({ roomId: room.id, userId: b.id, seq: 1 });
  });

  it('opens DMs and delivers notifications across nodes', async () => {
    const a = await chatUser(0);
    const e = await chatUser(1);
    const eNotifications = await connect(url(2), '/notifications', e.session.accessToken);
    const added = next<Room>(e.socket, 'room:added');
    const { room } = await ok<{ room: Room }>(a.socket, 'dm:open', { userId: e.id });
    expect(await added).toMatchObject({ id: room.id, kind: 'dm', name: a.session.user.displayName });

    const message = next<Message>(e.socket, 'message:new');
    const notification = next<Notification>(eNotifications, 'notification:new');
    const unread = next<{ count: number }>(eNotifications, 'notification:unread', (u) => u.count > 0);
    const sent = await send(a, room.id, 'a direct word');
    expect(await message).toEqual(sent);
    expect(await notification).toMatchObject({ kind: 'dm', data: { roomId: room.id, messageId: sent.id } });
    expect(await unread).toEqual({ count: 1 });
  });

  it('ends a membership on every node before the leave is acknowledged: leave on node 0, send on node 1 → FORBIDDEN', async () => {
    const a = await chatUser(0);
    const fSession = await register(url(0));
    const room = await createRoom(a, [fSession.user.id], 'public');
    const fOnNode0 = await chatUser(0, fSession);
    const fOnNode1 = await chatUser(1, fSession);
    // Node 1 has answered a membership check for f in this room: it is in its cache.
    await send(fOnNode1, room.id, 'before leaving');
    await ok(fOnNode1.socket, 'typing', { roomId: room.id, typing: true });
    const missed = collect<Message>(fOnNode1.socket, 'message:new');

    await ok(fOnNode0.socket, 'room:leave', { roomId: room.id });
    const refused = await request(fOnNode1.socket, 'message:send', { roomId: room.id, clientMsgId: uniqueName('c'), text: 'after' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    // typing has no database write to check it: only the dropped cache entry stops it.
    await eventually(async () => {
      const res = await request(fOnNode1.socket, 'typing', { roomId: room.id, typing: true });
      return !res.ok && res.error.code === 'FORBIDDEN';
    });
    expect(await request(fOnNode1.socket, 'message:history', { roomId: room.id })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });

    // Node 1's socket of f left the room too: a message from a stays away from it.
    const probe = next<Message>(a.socket, 'message:new', (m) => m.text === 'after f left');
    await send(a, room.id, 'after f left');
    await probe;
    await ok(fOnNode1.socket, 'room:list', {});
    expect(missed).toEqual([]);
    const { messages } = await ok<{ messages: Message[] }>(a.socket, 'message:history', { roomId: room.id });
    expect(messages.map((m) => m.text)).toEqual(['before leaving', 'after f left']);

    // Joining again works at once, from any node.
    await ok(fOnNode1.socket, 'room:join', { roomId: room.id });
    await send(fOnNode1, room.id, 'back');
  });

  it('keeps seq gap-free with concurrent senders on every node', async () => {
    const PER_NODE = 3;
    const EACH = 12;
    const owner = await chatUser(0);
    const senders: ChatUser[] = [];
    for (let node = 0; node < 3; node++) for (let i = 0; i < PER_NODE; i++) senders.push(await chatUser(node));
    const receivers = [await chatUser(0), await chatUser(1), await chatUser(2)];
    const room = await createRoom(owner, [...senders, ...receivers].map((u) => u.id), 'public');
    const received = receivers.map((r) => collect<Message>(r.socket, 'message:new'));
    await Promise.all(receivers.map((r) => ok(r.socket, 'room:list', {})));

    const total = senders.length * EACH;
    const acks = await Promise.all(
      senders.flatMap((s, i) => Array.from({ length: EACH }, (_, j) => send(s, room.id, `${i}-${j}`))),
    );
    const range = Array.from({ length: total }, (_, i) => i + 1);
    expect(acks.map((m) => m.seq).sort((x, y) => x - y)).toEqual(range);

    for (const node of [0, 1, 2]) {
      const reader = receivers[node]!;
      const first = await ok<{ messages: Message[]; hasMore: boolean }>(reader.socket, 'message:history', {
        roomId: room.id,
        afterSeq: 0,
        limit: 200,
      });
      expect(first.messages.map((m) => m.seq)).toEqual(range);
    }
    await eventually(() => received.every((list) => list.filter((m) => m.roomId === room.id).length === total), 15_000);
    for (const list of received) {
      const seqs = list.filter((m) => m.roomId === room.id).map((m) => m.seq);
      expect([...seqs].sort((x, y) => x - y)).toEqual(range);
    }
  });

  it('disconnects a revoked session’s sockets on every node', async () => {
    const g = await register(url(0));
    const onNode1 = await connect(url(1), '/chat', g.accessToken);
    const onNode2 = await connect(url(2), '/notifications', g.accessToken);
    const reasons = [onNode1, onNode2].map((s) => new Promise<string>((resolve) => s.once('disconnect', resolve)));
    expect((await http(url(0), 'POST', '/api/auth/logout', { refreshToken: g.refreshToken })).status).toBe(204);
    expect(await Promise.all(reasons)).toEqual(['io server disconnect', 'io server disconnect']);
  });

  it('shares rate limits: a flood spread over three nodes meets one budget', async () => {
    const session = await register(url(0));
    const room = (await ok<{ room: Room }>(await connect(url(0), '/chat', session.accessToken), 'room:create', {
      name: uniqueName('flood'),
      kind: 'public',
    })).room;
    const sockets = await Promise.all([0, 1, 2].map((node) => connect(url(node), '/chat', session.accessToken)));
    // 30 per node is exactly one node's burst: per-node counters would refuse none of them.
    const answers = await Promise.all(
      sockets.flatMap((socket) =>
        Array.from({ length: 30 }, () => request(socket, 'message:send', { roomId: room.id, clientMsgId: uniqueName('c'), text: 'flood' })),
      ),
    );
    const limited = answers.filter((a) => !a.ok && a.error.code === 'RATE_LIMITED');
    expect(limited.length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.ok).length + limited.length).toBe(90);
  });

  it('shares the failed-login throttle across nodes', async () => {
    const session = await register(url(0));
    for (let i = 0; i < 10; i++) {
      const res = await http(url(i % 3), 'POST', '/api/auth/login', { username: session.user.username, password: `wrong-${i}-pass` });
      expect(res.status).toBe(401);
    }
    for (const node of [0, 1, 2]) {
      const res = await http<{ error: { code: string } }>(url(node), 'POST', '/api/auth/login', {
        username: session.user.username,
        password: 'correct horse battery',
      });
      expect(res.status).toBe(429);
    }
  });

  it('is ready while its database and Redis answer', async () => {
    for (const node of [0, 1, 2]) expect((await http(url(node), 'GET', '/readyz')).status).toBe(200);
  });
});
