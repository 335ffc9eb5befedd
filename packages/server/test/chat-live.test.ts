/**
 * `/chat` ephemeral and per-user state (PROTOCOL §4.1): typing indicators (with automatic
 * expiry), read marks, and presence to room-mates.
 */
import type { Message, PresenceEvent, ReadEvent, Room, RoomMember, Session, TypingEvent } from '@switchboard/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChatUser,
  chatUser as newChatUser,
  closeSockets,
  collect,
  connect,
  dialects,
  next,
  ok,
  register,
  request,
  startServer,
  type TestServer,
  uniqueName,
} from './helpers.js';


function fixture(dialect: 'sqlite' | 'postgres') {
  const ctx = {} as { t: TestServer };
  beforeAll(async () => {
    ctx.t = await startServer({ dialect });
  });
  afterAll(() => ctx.t.close());
  afterEach(closeSockets);

  const chatUser = (session?: Session): Promise<ChatUser> => newChatUser(ctx.t.url, session);
  const createRoom = async (u: ChatUser, memberIds: string[]) =>
    (await ok<{ room: Room }>(u.socket, 'room:create', { name: uniqueName('Room'), kind: 'private', memberIds })).room;
  const send = async (u: ChatUser, roomId: string) =>
    (await ok<{ message: Message }>(u.socket, 'message:send', { roomId, clientMsgId: uniqueName('c'), text: 'hi' })).message;
  return { ctx, chatUser, createRoom, send };
}

describe('/chat typing', () => {
  const { chatUser, createRoom } = fixture('sqlite');

  it('tells the others, not the typist’s own sockets; typing: false ends it; renewals are not repeated', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const aOther = await chatUser(a.session);
    const room = await createRoom(a, [b.id]);
    const ownEcho = collect<TypingEvent>(aOther.socket, 'typing');
    const seenByB = collect<TypingEvent>(b.socket, 'typing');
    const started = next<TypingEvent>(b.socket, 'typing');
    expect(await ok(a.socket, 'typing', { roomId: room.id, typing: true })).toEqual({ ok: true });
    expect(await started).toEqual({ roomId: room.id, userId: a.id, displayName: a.session.user.displayName, typing: true });
    await ok(a.socket, 'typing', { roomId: room.id, typing: true });
    const stopped = next<TypingEvent>(b.socket, 'typing', (e) => !e.typing);
    a.socket.emit('typing', { roomId: room.id, typing: false }); // no ack needed
    expect(await stopped).toMatchObject({ roomId: room.id, userId: a.id, typing: false });
    expect(seenByB.map((e) => e.typing)).toEqual([true, false]);
    expect(ownEcho).toEqual([]);
  });

  it('expires a typing: true that is not renewed', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const room = await createRoom(a, [b.id]);
    const started = next<TypingEvent>(b.socket, 'typing');
    await ok(a.socket, 'typing', { roomId: room.id, typing: true });
    await started;
    const expired = await next<TypingEvent>(b.socket, 'typing', () => true, 10_000);
    expect(expired).toMatchObject({ roomId: room.id, userId: a.id, typing: false });
  });

  it('ends typing when the typist’s last chat socket disconnects', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const aOther = await chatUser(a.session);
    const room = await createRoom(a, [b.id]);
    const events = collect<TypingEvent>(b.socket, 'typing');
    const started = next<TypingEvent>(b.socket, 'typing');
    await ok(a.socket, 'typing', { roomId: room.id, typing: true });
    await started;
    a.socket.disconnect();
    // One socket of a's remains: still typing. A probe message proves b has heard everything before it.
    const probe = next<Message>(b.socket, 'message:new');
    await ok(aOther.socket, 'message:send', { roomId: room.id, clientMsgId: uniqueName('c'), text: 'probe' });
    await probe;
    expect(events.map((e) => e.typing)).toEqual([true]);
    const stopped = next<TypingEvent>(b.socket, 'typing');
    aOther.socket.disconnect();
    expect(await stopped).toMatchObject({ userId: a.id, typing: false });
  });

  it('refuses typing in rooms the user is not in: FORBIDDEN by ack, or an error event without one', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const room = await createRoom(a, []);
    expect(await request(b.socket, 'typing', { roomId: room.id, typing: true })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    const error = next<{ code: string; event: string }>(b.socket, 'error');
    b.socket.emit('typing', { roomId: room.id, typing: true });
    expect(await error).toMatchObject({ code: 'FORBIDDEN', event: 'typing' });
    expect(await request(b.socket, 'typing', { roomId: room.id, typing: 'yes' })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT' },
    });
  });
});

describe('/chat presence', () => {
  const { ctx, chatUser, createRoom } = fixture('sqlite');

  it('tells room-mates when a user comes online and goes offline, and nobody else', async () => {
    const [a, stranger] = [await chatUser(), await chatUser()];
    // Every account starts in general: the stranger leaves it to share no room with anyone.
    const { rooms } = await ok<{ rooms: Room[] }>(stranger.socket, 'room:list', {});
    for (const room of rooms) await ok(stranger.socket, 'room:leave', { roomId: room.id });
    const bSession = await register(ctx.t.url);
    const room = await createRoom(a, [bSession.user.id]);
    await createRoom(a, [bSession.user.id]); // two shared rooms: still one event
    const strangerSaw = collect<PresenceEvent>(stranger.socket, 'presence');
    const seen = collect<PresenceEvent>(a.socket, 'presence');

    const online = next<PresenceEvent>(a.socket, 'presence', (e) => e.userId === bSession.user.id);
    const before = Date.now();
    const b = await chatUser(bSession);
    expect(await online).toEqual({ userId: b.id, status: 'online', lastSeenAt: expect.any(Number) });
    const { members } = await ok<{ members: RoomMember[] }>(a.socket, 'room:members', { roomId: room.id });
    expect(members.find((m) => m.id === b.id)?.online).toBe(true);

    // A second socket (another namespace counts too) does not change anything; the last one going does.
    const notif = await connect(ctx.t.url, '/', b.session.accessToken);
    const offline = next<PresenceEvent>(a.socket, 'presence', (e) => e.status === 'offline');
    b.socket.disconnect();
    notif.disconnect();
    const event = await offline;
    expect(event).toMatchObject({ userId: b.id, status: 'offline' });
    expect(event.lastSeenAt).toBeGreaterThanOrEqual(before);
    expect(seen.map((e) => e.status)).toEqual(['online', 'offline']);
    expect(strangerSaw.filter((e) => e.userId === b.id)).toEqual([]);
  });
});

describe.each(dialects)('/chat read marks on %s', (dialect) => {
  const { chatUser, createRoom, send } = fixture(dialect);

  it('moves forward only, clamps to lastSeq, and broadcasts read only when the mark moved', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const room = await createRoom(a, [b.id]);
    for (let i = 0; i < 3; i++) await send(a, room.id);
    const reads = collect<ReadEvent>(a.socket, 'read');

    const moved = next<ReadEvent>(a.socket, 'read');
    expect(await ok(b.socket, 'read', { roomId: room.id, seq: 2 })).toEqual({ ok: true });
    expect(await moved).toEqual({ roomId: room.id, userId: b.id, seq: 2 });
    expect(await ok(b.socket, 'read', { roomId: room.id, seq: 1 })).toEqual({ ok: true }); // never back
    expect(await ok(b.socket, 'read', { roomId: room.id, seq: 2 })).toEqual({ ok: true }); // no move
    const clamped = next<ReadEvent>(a.socket, 'read');
    expect(await ok(b.socket, 'read', { roomId: room.id, seq: 99 })).toEqual({ ok: true });
    expect(await clamped).toEqual({ roomId: room.id, userId: b.id, seq: 3 });
    expect(await ok(b.socket, 'read', { roomId: room.id, seq: 99 })).toEqual({ ok: true });

    // A message after the reads proves every read event before it has arrived.
    const probe = next<Message>(a.socket, 'message:new');
    await send(b, room.id);
    await probe;
    expect(reads.map((r) => r.seq)).toEqual([2, 3]);
    const { members } = await ok<{ members: RoomMember[] }>(a.socket, 'room:members', { roomId: room.id });
    expect(members.find((m) => m.id === b.id)?.lastReadSeq).toBe(4);

    const outsider = await chatUser();
    expect(await request(outsider.socket, 'read', { roomId: room.id, seq: 1 })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await request(b.socket, 'read', { roomId: 'no-such-room', seq: 1 })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await request(b.socket, 'read', { roomId: room.id, seq: 1.5 })).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
  });
});
