/**
 * The admin's rooms (PROTOCOL §4.3, extended) on both databases: every public and private room and
 * never a DM, for admins only; search, the archived filter, newest activity first and cursor paging
 * that a room's new message does not shift; archiving and unarchiving from HTTP, which the members
 * hear as `room:updated` exactly as with `room:archive`. And the joins of a new account — `general`
 * at sign-up, an invite's room — reach the rooms' members as `room:member`, also on another node.
 */
import type { AdminRoom, Invite, Message, Room, RoomMemberEvent, Session } from '@switchboard/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatUser, closeSockets, collect, dialects, eventually, http, next, ok, register, startServer, uniqueName, type ChatUser, type TestServer } from './helpers.js';
import { startCluster, type TestCluster } from './multinode.js';

type ErrorBody = { error: { code: string; message: string } };
type Page = { rooms: AdminRoom[]; next: string | null };

/** The documented order: the last message's time (the creation's while there is none), then id, both descending. */
const byActivity = (rooms: AdminRoom[]) =>
  [...rooms].sort((a, b) => (b.lastMessageAt ?? b.createdAt) - (a.lastMessageAt ?? a.createdAt) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));

// The owner's socket serves every test of a dialect.
afterAll(closeSockets);

describe.each(dialects)('admin rooms on %s', (dialect) => {
  let t: TestServer;
  let admin: Session;
  let owner: ChatUser;
  beforeAll(async () => {
    t = await startServer({ dialect });
    admin = await register(t.url);
    owner = await chatUser(t.url);
  });
  afterAll(() => t.close());

  const list = (query: string, token = admin.accessToken) => http<Page & ErrorBody>(t.url, 'GET', `/api/admin/rooms${query}`, undefined, token);
  const archive = (id: string, body: unknown, token = admin.accessToken) =>
    http<{ room: Room } & ErrorBody>(t.url, 'PATCH', `/api/admin/rooms/${id}`, body, token);
  const createRoom = async (user: ChatUser, name: string, kind: 'public' | 'private' = 'public', memberIds: string[] = []) =>
    (await ok<{ room: Room }>(user.socket, 'room:create', { name, kind, memberIds })).room;
  const send = async (user: ChatUser, roomId: string, text: string) =>
    (await ok<{ message: Message }>(user.socket, 'message:send', { roomId, text, clientMsgId: uniqueName('m') })).message;

  it('is for admins only, and validates its input', async () => {
    const room = await createRoom(owner, uniqueName('perm'));
    for (const [method, path, body] of [
      ['GET', '/api/admin/rooms', undefined],
      ['PATCH', `/api/admin/rooms/${room.id}`, { archived: true }],
    ] as const) {
      const res = await http<ErrorBody>(t.url, method, path, body, owner.session.accessToken);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
      expect((await http<ErrorBody>(t.url, method, path, body)).status).toBe(401);
    }
    // The creator may archive with room:archive, but the admin routes stay the admins'.
    expect((await archive(room.id, { archived: true }, owner.session.accessToken)).status).toBe(403);
    for (const query of ['?limit=0', '?limit=x', `?query=${'x'.repeat(65)}`, '?archived=maybe', '?before=nope', `?before=12.${'a'.repeat(65)}`]) {
      const res = await list(query);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe('INVALID_ARGUMENT');
    }
    for (const body of [{}, { archived: 'yes' }, null]) expect((await archive(room.id, body)).status).toBe(400);
    expect((await archive('bad id!', { archived: true })).status).toBe(400);
    expect((await archive('nosuchroom', { archived: true })).body.error.code).toBe('NOT_FOUND');
    const dm = (await ok<{ room: Room }>(owner.socket, 'dm:open', { userId: admin.user.id })).room;
    const refused = await archive(dm.id, { archived: true });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('FORBIDDEN');
  });

  it('documents its routes in the OpenAPI document', async () => {
    const { paths } = (await http<{ paths: Record<string, Record<string, { tags?: string[]; requestBody?: unknown }>> }>(t.url, 'GET', '/api/docs/json')).body;
    expect(paths['/api/admin/rooms']?.get?.tags).toEqual(['admin']);
    expect(paths['/api/admin/rooms/{id}']?.patch?.tags).toEqual(['admin']);
    expect(paths['/api/admin/rooms/{id}']?.patch?.requestBody).toBeDefined();
  });

  it('lists public and private rooms, never DMs, with members, last activity and the archived state', async () => {
    const prefix = uniqueName('list');
    const member = await chatUser(t.url);
    const open = await createRoom(owner, `${prefix}-open`, 'public', [member.id]);
    const closed = await createRoom(owner, `${prefix}-closed`, 'private');
    await ok(owner.socket, 'dm:open', { userId: member.id });
    const sent = await send(member, open.id, 'hello');

    const found = await list(`?query=${prefix.toUpperCase()}`);
    expect(found.status).toBe(200);
    expect(found.body.next).toBeNull();
    expect(found.body.rooms).toEqual(byActivity([{ ...open, lastSeq: 1, lastMessageAt: sent.createdAt }, { ...closed, lastMessageAt: null }]));
    const everyone = await list('?limit=200');
    expect(everyone.body.rooms.some((r) => r.kind === 'dm')).toBe(false);
    expect(everyone.body.rooms.map((r) => r.name)).toContain('general');
  });

  it('pages newest activity first, and a room that gets a message while paging moves ahead of the cursor', async () => {
    const prefix = uniqueName('page');
    const rooms: AdminRoom[] = [];
    for (let i = 0; i < 5; i++) rooms.push({ ...(await createRoom(owner, `${prefix}-${i}`)), lastMessageAt: null });
    for (const i of [3, 1]) rooms[i] = { ...rooms[i]!, lastSeq: 1, lastMessageAt: (await send(owner, rooms[i]!.id, 'news')).createdAt };
    const expected = byActivity(rooms).map((r) => r.id);

    const first = await list(`?query=${prefix}&limit=2`);
    expect(first.body.rooms.map((r) => r.id)).toEqual(expected.slice(0, 2));
    expect(first.body.next).toEqual(expect.any(String));
    // The first room of the next page gets a message: it moves to the top, and what follows the cursor keeps its order.
    const moved = expected[2]!;
    await send(owner, moved, 'while paging');
    const second = await list(`?query=${prefix}&limit=2&before=${first.body.next}`);
    expect(second.body.rooms.map((r) => r.id)).toEqual(expected.slice(3));
    expect(second.body.next).toBeNull();
    const again = await list(`?query=${prefix}&limit=2`);
    expect(again.body.rooms.map((r) => r.id)).toEqual([moved, expected[0]]);
  });

  it('archives and unarchives: members hear room:updated, the room turns read-only, the filter follows', async () => {
    const prefix = uniqueName('arch');
    const member = await chatUser(t.url);
    const room = await createRoom(owner, `${prefix}-room`, 'private', [member.id]);
    const other = await createRoom(owner, `${prefix}-other`);

    const heard = next<Room>(member.socket, 'room:updated', (r) => r.id === room.id && r.archived);
    const archived = await archive(room.id, { archived: true });
    expect(archived.status).toBe(200);
    expect(archived.body.room).toMatchObject({ id: room.id, archived: true, memberCount: 2 });
    expect(await heard).toEqual(archived.body.room);
    const refused = await ok(member.socket, 'message:send', { roomId: room.id, text: 'no', clientMsgId: uniqueName('m') }).catch((err: Error) => err.message);
    expect(refused).toMatch(/FORBIDDEN/);
    // Idempotent: archiving again changes nothing and answers the same room.
    expect((await archive(room.id, { archived: true })).body.room.archived).toBe(true);

    expect((await list(`?query=${prefix}&archived=true`)).body.rooms.map((r) => r.id)).toEqual([room.id]);
    expect((await list(`?query=${prefix}&archived=false`)).body.rooms.map((r) => r.id)).toEqual([other.id]);

    const updates = collect<Room>(owner.socket, 'room:updated');
    const reopened = next<Room>(member.socket, 'room:updated', (r) => r.id === room.id && !r.archived);
    const unarchived = await archive(room.id, { archived: false });
    expect(unarchived.body.room.archived).toBe(false);
    expect(await reopened).toEqual(unarchived.body.room);
    await eventually(() => updates.some((r) => r.id === room.id && !r.archived), 5000, "the creator's room:updated");
    await send(member, room.id, 'back again');
    expect((await list(`?query=${prefix}&archived=true`)).body.rooms).toEqual([]);
  });

  it('a member of general hears room:member when someone registers, and an invite room hears its newcomer', async () => {
    const general = (await list('?query=general')).body.rooms.find((r) => r.name === 'general')!;
    const room = await createRoom(owner, uniqueName('invited'), 'private');
    const invite = (await http<{ invite: Invite }>(t.url, 'POST', '/api/invites', { roomId: room.id }, owner.session.accessToken)).body.invite;

    const joinedGeneral = next<RoomMemberEvent>(owner.socket, 'room:member', (e) => e.roomId === general.id && e.action === 'joined');
    const joinedRoom = next<RoomMemberEvent>(owner.socket, 'room:member', (e) => e.roomId === room.id);
    const res = await http<Session>(t.url, 'POST', '/api/auth/register', { username: uniqueName('new'), password: 'violet-tangerine-41', inviteCode: invite.code });
    expect(res.status).toBe(201);
    expect(await joinedGeneral).toEqual({ roomId: general.id, userId: res.body.user.id, action: 'joined' });
    expect(await joinedRoom).toEqual({ roomId: room.id, userId: res.body.user.id, action: 'joined' });
  });
});

describe('joins at sign-up across nodes', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster(2);
  });
  afterAll(() => cluster.close());

  it('a member of general connected to one node hears someone registering on the other', async () => {
    const [a, b] = cluster.nodes as [TestServer, TestServer];
    const member = await chatUser(a.url);
    const { rooms } = await ok<{ rooms: Room[] }>(member.socket, 'room:list', {});
    const general = rooms.find((r) => r.name === 'general')!;
    const joined = next<RoomMemberEvent>(member.socket, 'room:member', (e) => e.roomId === general.id && e.action === 'joined');
    const newcomer = await register(b.url);
    expect(await joined).toEqual({ roomId: general.id, userId: newcomer.user.id, action: 'joined' });
  });
});
