/**
 * `/chat` rooms and DMs (PROTOCOL §4.1): create, list, browse, join, leave, invite, members,
 * dm:open, user:search — success and error paths, the `room:added` / `room:member` events, and the socket
 * subscriptions that follow membership — on SQLite and PostgreSQL.
 */
import type { Socket } from 'socket.io-client';
import type { Message, Room, RoomMember, RoomMemberEvent, RoomWithReadState, Session } from '@switchboard/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChatUser,
  chatUser as newChatUser,
  closeSockets,
  collect,
  connect,
  dialects,
  http,
  next,
  ok,
  register,
  request,
  startServer,
  type TestServer,
  uniqueName,
} from './helpers.js';


describe.each(dialects)('/chat rooms on %s', (dialect) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ dialect });
  });
  afterAll(() => t.close());
  afterEach(closeSockets);

  /** A fresh user with a chat socket that is subscribed to its rooms (the first answer proves it). */
  async function chatUser(displayName?: string): Promise<ChatUser> {
    return newChatUser(t.url, displayName ? await registerNamed(displayName) : undefined);
  }

  async function registerNamed(displayName: string): Promise<Session> {
    const res = await http<Session>(t.url, 'POST', '/api/auth/register', {
      username: uniqueName(),
      password: 'correct horse battery',
      displayName,
    });
    return res.body;
  }

  const createRoom = async (u: ChatUser, payload: Record<string, unknown>) =>
    (await ok<{ room: Room }>(u.socket, 'room:create', payload)).room;

  const send = async (u: ChatUser, roomId: string, text = 'hello') =>
    (await ok<{ message: Message }>(u.socket, 'message:send', { roomId, clientMsgId: uniqueName('c'), text })).message;

  const codeOf = async (socket: Socket, event: string, payload: unknown) => {
    const res = await request(socket, event, payload);
    return res.ok ? 'ok' : res.error.code;
  };

  it('creates a public room: the creator and memberIds become members; all of them get room:added', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const addedToA = collect<Room>(a.socket, 'room:added');
    const addedToB = next<Room>(b.socket, 'room:added');
    const name = uniqueName('General');
    const room = await createRoom(a, { name, kind: 'public', topic: 'all things', memberIds: [b.id] });
    expect(room).toEqual({
      id: expect.any(String),
      name,
      kind: 'public',
      topic: 'all things',
      createdBy: a.id,
      createdAt: expect.any(Number),
      lastSeq: 0,
      memberCount: 2,
      archived: false,
    });
    expect(await addedToB).toEqual(room);

    // Both are subscribed at once: a message reaches b's existing socket.
    const delivered = next<Message>(b.socket, 'message:new');
    await send(a, room.id, 'first');
    expect((await delivered).text).toBe('first');
    // The creator's sockets hear of it too, so its other tabs and devices list the new room.
    expect(addedToA).toEqual([room]);

    const { rooms } = await ok<{ rooms: RoomWithReadState[] }>(b.socket, 'room:list', {});
    expect(rooms.find((r) => r.id === room.id)).toMatchObject({ lastSeq: 1, lastReadSeq: 0, unread: 1, memberCount: 2 });
    const mine = await ok<{ rooms: RoomWithReadState[] }>(a.socket, 'room:list', {});
    expect(mine.rooms.find((r) => r.id === room.id)).toMatchObject({ lastReadSeq: 1, unread: 0 });
  });

  it('refuses a taken public name case-insensitively with CONFLICT; private rooms may share names', async () => {
    const a = await chatUser();
    const name = uniqueName('Team');
    await createRoom(a, { name, kind: 'public' });
    expect(await codeOf(a.socket, 'room:create', { name: name.toUpperCase(), kind: 'public' })).toBe('CONFLICT');
    expect(await codeOf(a.socket, 'room:create', { name, kind: 'private' })).toBe('ok');
    expect(await codeOf(a.socket, 'room:create', { name, kind: 'private' })).toBe('ok');
  });

  it('refuses unknown memberIds with NOT_FOUND and creates nothing', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const name = uniqueName('Ghost');
    const res = await request(a.socket, 'room:create', { name, kind: 'public', memberIds: [b.id, 'no-such-user'] });
    expect(res).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    const { rooms } = await ok<{ rooms: Room[] }>(a.socket, 'room:browse', { query: name });
    expect(rooms).toEqual([]);
    // Only the room every account joins.
    expect((await ok<{ rooms: Room[] }>(b.socket, 'room:list', {})).rooms.map((r) => r.name)).toEqual(['general']);
  });

  it.each([
    [{ name: '', kind: 'public' }],
    [{ name: '   ', kind: 'public' }],
    [{ name: 'x'.repeat(81), kind: 'public' }],
    [{ name: 'ok', kind: 'dm' }],
    [{ name: 42, kind: 'public' }],
    [{ name: 'ok', kind: 'public', memberIds: 'everyone' }],
    [{ name: 'ok', kind: 'public', topic: 'x'.repeat(251) }],
    [undefined],
  ])('answers room:create %j with INVALID_ARGUMENT', async (payload) => {
    const a = await chatUser();
    const res = await request(a.socket, 'room:create', payload);
    expect(res).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT', message: expect.any(String) } });
  });

  it('browses public rooms by case-insensitive substring, most members first, with a clamped limit', async () => {
    const [a, b, c] = [await chatUser(), await chatUser(), await chatUser()];
    const tag = uniqueName('Brw');
    const small = await createRoom(a, { name: `${tag} small`, kind: 'public' });
    const big = await createRoom(a, { name: `${tag} BIG`, kind: 'public', memberIds: [b.id, c.id] });
    const mid = await createRoom(a, { name: `x-${tag}-mid`, kind: 'public', memberIds: [b.id] });
    await createRoom(a, { name: `${tag} secret`, kind: 'private', memberIds: [b.id, c.id] });

    const { rooms } = await ok<{ rooms: Room[] }>(c.socket, 'room:browse', { query: tag.toUpperCase() });
    expect(rooms.map((r) => r.id)).toEqual([big.id, mid.id, small.id]);
    const limited = await ok<{ rooms: Room[] }>(c.socket, 'room:browse', { query: tag, limit: 1 });
    expect(limited.rooms.map((r) => r.id)).toEqual([big.id]);
    expect(await codeOf(c.socket, 'room:browse', { limit: 100_000 })).toBe('ok');
    expect(await codeOf(c.socket, 'room:browse', { limit: 0 })).toBe('INVALID_ARGUMENT');
    expect(await codeOf(c.socket, 'room:browse', { query: 7 })).toBe('INVALID_ARGUMENT');
    // LIKE wildcards in the query match literally.
    expect((await ok<{ rooms: Room[] }>(c.socket, 'room:browse', { query: `${tag}%` })).rooms).toEqual([]);
    expect((await ok<{ rooms: Room[] }>(c.socket, 'room:browse', {})).rooms.length).toBeGreaterThanOrEqual(3);
  });

  it('searches users by username or display name, case-insensitively, username prefixes first', async () => {
    const tag = uniqueName('Srch');
    const registerAs = async (username: string, displayName: string) => {
      const res = await http<Session>(t.url, 'POST', '/api/auth/register', {
        username,
        password: 'correct horse battery',
        displayName,
      });
      expect(res.status).toBe(201);
      return { id: res.body.user.id, username, displayName };
    };
    const prefix = await registerAs(`${tag}alpha`, 'Zed');
    const byDisplayName = await registerAs(uniqueName('a'), `Team ${tag.toUpperCase()} lead`);
    const inside = await registerAs(`x${tag}_mid`, 'Mid');
    const c = await chatUser();

    // Exactly id, username and displayName: nothing else about a user leaves the server.
    const { users } = await ok<{ users: unknown[] }>(c.socket, 'user:search', { query: ` ${tag.toUpperCase()} ` });
    expect(users).toEqual([prefix, byDisplayName, inside]);
    const limited = await ok<{ users: unknown[] }>(c.socket, 'user:search', { query: tag.toLowerCase(), limit: 1 });
    expect(limited.users).toEqual([prefix]);
    // LIKE wildcards in the query match literally.
    expect((await ok<{ users: unknown[] }>(c.socket, 'user:search', { query: `${tag}_` })).users).toEqual([inside]);
    expect((await ok<{ users: unknown[] }>(c.socket, 'user:search', { query: `${tag}%` })).users).toEqual([]);

    expect(await codeOf(c.socket, 'user:search', { query: tag, limit: 100_000 })).toBe('ok');
    expect(await codeOf(c.socket, 'user:search', { query: tag, limit: 0 })).toBe('INVALID_ARGUMENT');
    expect(await codeOf(c.socket, 'user:search', { query: '   ' })).toBe('INVALID_ARGUMENT');
    expect(await codeOf(c.socket, 'user:search', { query: 'a'.repeat(33) })).toBe('INVALID_ARGUMENT');
    expect(await codeOf(c.socket, 'user:search', {})).toBe('INVALID_ARGUMENT');
  });

  it('joins a public room idempotently; members hear room:member; private rooms and DMs are FORBIDDEN', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const room = await createRoom(a, { name: uniqueName('Open'), kind: 'public' });
    const joinedEvent = next<RoomMemberEvent>(a.socket, 'room:member');
    const joined = (await ok<{ room: Room }>(b.socket, 'room:join', { roomId: room.id })).room;
    expect(joined).toMatchObject({ id: room.id, memberCount: 2 });
    expect(await joinedEvent).toEqual({ roomId: room.id, userId: b.id, action: 'joined' });
    const again = (await ok<{ room: Room }>(b.socket, 'room:join', { roomId: room.id })).room;
    expect(again.memberCount).toBe(2);

    // The joining socket is subscribed before the answer.
    const delivered = next<Message>(b.socket, 'message:new');
    await send(a, room.id, 'welcome');
    expect((await delivered).text).toBe('welcome');

    const secret = await createRoom(a, { name: uniqueName('Closed'), kind: 'private' });
    expect(await codeOf(b.socket, 'room:join', { roomId: secret.id })).toBe('FORBIDDEN');
    const dm = (await ok<{ room: Room }>(a.socket, 'dm:open', { userId: (await chatUser()).id })).room;
    expect(await codeOf(b.socket, 'room:join', { roomId: dm.id })).toBe('FORBIDDEN');
    expect(await codeOf(b.socket, 'room:join', { roomId: 'no-such-room' })).toBe('NOT_FOUND');
    expect(await codeOf(b.socket, 'room:join', { roomId: 'not an id!' })).toBe('INVALID_ARGUMENT');
  });

  it('leaves idempotently: no more message:new, room:member left, memberCount drops; a DM cannot be left', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const room = await createRoom(a, { name: uniqueName('Leave'), kind: 'public', memberIds: [b.id] });
    const leftEvent = next<RoomMemberEvent>(a.socket, 'room:member');
    expect(await ok(b.socket, 'room:leave', { roomId: room.id })).toEqual({ ok: true });
    expect(await leftEvent).toEqual({ roomId: room.id, userId: b.id, action: 'left' });
    expect(await ok(b.socket, 'room:leave', { roomId: room.id })).toEqual({ ok: true });

    const seenByB = collect<Message>(b.socket, 'message:new');
    const seenByA = next<Message>(a.socket, 'message:new');
    const message = await send(a, room.id, 'after the leave');
    await seenByA;
    // A later message to b itself proves b's socket is live and in order: nothing from the room came first.
    const dm = (await ok<{ room: Room }>(a.socket, 'dm:open', { userId: b.id })).room;
    const probe = next<Message>(b.socket, 'message:new', (m) => m.roomId === dm.id);
    await send(a, dm.id, 'probe');
    await probe;
    expect(seenByB.map((m) => m.id)).not.toContain(message.id);

    const { rooms } = await ok<{ rooms: Room[] }>(a.socket, 'room:browse', { query: room.name });
    expect(rooms[0]?.memberCount).toBe(1);
    expect(await codeOf(b.socket, 'message:history', { roomId: room.id })).toBe('FORBIDDEN');
    expect(await codeOf(b.socket, 'room:leave', { roomId: dm.id })).toBe('FORBIDDEN');
    expect(await codeOf(b.socket, 'room:leave', { roomId: 'no-such-room' })).toBe('NOT_FOUND');
  });

  it('invites: members only; the invitee gets room:added and messages; unknown users NOT_FOUND; DMs FORBIDDEN', async () => {
    const [a, b, c] = [await chatUser(), await chatUser(), await chatUser()];
    const room = await createRoom(a, { name: uniqueName('Private'), kind: 'private' });
    expect(await codeOf(c.socket, 'room:invite', { roomId: room.id, userId: c.id })).toBe('FORBIDDEN');

    const added = next<Room>(b.socket, 'room:added');
    const memberEvent = next<RoomMemberEvent>(a.socket, 'room:member');
    expect(await ok(a.socket, 'room:invite', { roomId: room.id, userId: b.id })).toEqual({ ok: true });
    expect(await added).toMatchObject({ id: room.id, kind: 'private', memberCount: 2 });
    expect(await memberEvent).toEqual({ roomId: room.id, userId: b.id, action: 'joined' });
    const delivered = next<Message>(b.socket, 'message:new');
    await send(a, room.id, 'psst');
    expect((await delivered).text).toBe('psst');

    // Idempotent: a second invite adds nothing.
    const again = collect<Room>(b.socket, 'room:added');
    expect(await ok(a.socket, 'room:invite', { roomId: room.id, userId: b.id })).toEqual({ ok: true });
    const members = (await ok<{ members: RoomMember[] }>(a.socket, 'room:members', { roomId: room.id })).members;
    expect(members).toHaveLength(2);
    expect(again).toEqual([]);

    expect(await codeOf(a.socket, 'room:invite', { roomId: room.id, userId: 'no-such-user' })).toBe('NOT_FOUND');
    expect(await codeOf(a.socket, 'room:invite', { roomId: 'no-such-room', userId: b.id })).toBe('NOT_FOUND');
    const dm = (await ok<{ room: Room }>(a.socket, 'dm:open', { userId: b.id })).room;
    expect(await codeOf(a.socket, 'room:invite', { roomId: dm.id, userId: c.id })).toBe('FORBIDDEN');
  });

  it('lists members with online state and read marks, for members only', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const offline = await register(t.url);
    const room = await createRoom(a, { name: uniqueName('Crew'), kind: 'private', memberIds: [b.id, offline.user.id] });
    await send(a, room.id);
    const { members } = await ok<{ members: RoomMember[] }>(b.socket, 'room:members', { roomId: room.id });
    const byId = new Map(members.map((m) => [m.id, m]));
    expect(byId.get(a.id)).toEqual({
      id: a.id,
      username: a.session.user.username,
      displayName: a.session.user.displayName,
      online: true,
      lastReadSeq: 1,
    });
    expect(byId.get(b.id)).toMatchObject({ online: true, lastReadSeq: 0 });
    expect(byId.get(offline.user.id)).toMatchObject({ online: false, lastReadSeq: 0 });
    const outsider = await chatUser();
    expect(await codeOf(outsider.socket, 'room:members', { roomId: room.id })).toBe('FORBIDDEN');
    expect(await codeOf(outsider.socket, 'room:members', { roomId: 'no-such-room' })).toBe('NOT_FOUND');
  });

  it('opens one DM per pair, named after the other user; the other user gets room:added once', async () => {
    const a = await chatUser(`Ann ${uniqueName()}`);
    const b = await chatUser(`Bob ${uniqueName()}`);
    const addedToB = collect<Room>(b.socket, 'room:added');
    const firstAdded = next<Room>(b.socket, 'room:added');
    const dm = (await ok<{ room: Room }>(a.socket, 'dm:open', { userId: b.id })).room;
    expect(dm).toMatchObject({ kind: 'dm', name: b.session.user.displayName, memberCount: 2, lastSeq: 0 });
    expect(await firstAdded).toMatchObject({ id: dm.id, kind: 'dm', name: a.session.user.displayName });

    const fromB = (await ok<{ room: Room }>(b.socket, 'dm:open', { userId: a.id })).room;
    expect(fromB).toMatchObject({ id: dm.id, name: a.session.user.displayName });
    expect((await ok<{ room: Room }>(a.socket, 'dm:open', { userId: b.id })).room.id).toBe(dm.id);
    const listed = (await ok<{ rooms: RoomWithReadState[] }>(b.socket, 'room:list', {})).rooms;
    expect(listed.filter((r) => r.kind === 'dm')).toEqual([expect.objectContaining({ id: dm.id, name: a.session.user.displayName })]);
    expect(addedToB).toHaveLength(1);

    const delivered = next<Message>(b.socket, 'message:new');
    await send(a, dm.id, 'hi bob');
    expect((await delivered).text).toBe('hi bob');

    expect(await codeOf(a.socket, 'dm:open', { userId: a.id })).toBe('INVALID_ARGUMENT');
    expect(await codeOf(a.socket, 'dm:open', { userId: 'no-such-user' })).toBe('NOT_FOUND');
    expect(await codeOf(a.socket, 'dm:open', {})).toBe('INVALID_ARGUMENT');
  });

  it('opens the same DM when both users open it at once', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const [x, y] = await Promise.all([
      ok<{ room: Room }>(a.socket, 'dm:open', { userId: b.id }),
      ok<{ room: Room }>(b.socket, 'dm:open', { userId: a.id }),
    ]);
    expect(x.room.id).toBe(y.room.id);
    const dms = (await ok<{ rooms: Room[] }>(a.socket, 'room:list', {})).rooms.filter((r) => r.kind === 'dm');
    expect(dms).toHaveLength(1);
  });

  it('subscribes a new socket to every room of its user, DMs included', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const room = await createRoom(a, { name: uniqueName('Sub'), kind: 'public', memberIds: [b.id] });
    const dm = (await ok<{ room: Room }>(a.socket, 'dm:open', { userId: b.id })).room;
    const fresh = await connect(t.url, '/chat', b.session.accessToken);
    await ok(fresh, 'room:list', {});
    const seen = collect<Message>(fresh, 'message:new');
    await send(a, room.id, 'in the room');
    const last = next<Message>(fresh, 'message:new', (m) => m.roomId === dm.id);
    await send(a, dm.id, 'in the dm');
    await last;
    expect(seen.map((m) => m.text)).toEqual(['in the room', 'in the dm']);
  });

  it('answers unknown events with INVALID_ARGUMENT, and failures without an ack with an error event', async () => {
    const a = await chatUser();
    expect(await request(a.socket, 'room:explode', {})).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    const error = next<{ code: string; message: string; event: string }>(a.socket, 'error');
    a.socket.emit('room:join', { roomId: 'no-such-room' });
    expect(await error).toEqual({ code: 'NOT_FOUND', message: expect.any(String), event: 'room:join' });
    const invalid = next<{ code: string; event: string }>(a.socket, 'error');
    a.socket.emit('room:create', { name: 5 });
    expect(await invalid).toMatchObject({ code: 'INVALID_ARGUMENT', event: 'room:create' });
  });
});
