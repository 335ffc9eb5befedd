/**
 * Room management (PROTOCOL §4.3) on SQLite and PostgreSQL: `room:update`, `room:archive`,
 * `room:remove` and `room:mute` — who may do each (the creator, an admin, another member, a
 * stranger), DM refusals, an archived room refusing sends and edits on every transport (/chat,
 * /ws, the HTTP publish API) and its documents' updates, a send racing an archive, removal
 * stopping delivery, mute suppressing notifications, reading clearing notifications, and the
 * `general` room every new account joins.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { Message, Notification, Room, RoomMemberEvent, RoomWithReadState, Session, User } from '@switchboard/protocol';
import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { migrationProvider } from '../src/store/migrations.js';
import { closeCollab, converged, insertUpdate, openProvider, openRaw, roomWithDoc, textOf, updateFrame } from './collab-client.js';
import {
  chatUser as newChatUser,
  closeSockets,
  collect,
  connect,
  createPgDatabase,
  dialects,
  eventually,
  http,
  next,
  ok,
  register,
  request,
  startServer,
  uniqueName,
  type ChatUser,
  type TestServer,
} from './helpers.js';
import { connectWs } from './plain-clients.js';

describe.each(dialects)('room management on %s', (dialect) => {
  let t: TestServer;
  /** The first account: an admin. */
  let admin: ChatUser;
  let adminSession: Session;
  beforeAll(async () => {
    t = await startServer({ dialect });
    adminSession = await register(t.url);
  });
  beforeEach(async () => {
    admin = await newChatUser(t.url, adminSession);
  });
  afterAll(() => t.close());
  afterEach(closeCollab);

  const chatUser = () => newChatUser(t.url);
  const codeOf = async (socket: Socket, event: string, payload: unknown) => {
    const res = await request(socket, event, payload);
    return res.ok ? 'ok' : res.error.code;
  };
  const createRoom = async (u: ChatUser, payload: Record<string, unknown> = {}) =>
    (await ok<{ room: Room }>(u.socket, 'room:create', { name: uniqueName('Room'), kind: 'public', ...payload })).room;
  const send = (u: ChatUser, roomId: string, text = 'hello') =>
    request<{ message: Message }>(u.socket, 'message:send', { roomId, clientMsgId: uniqueName('c'), text });
  const sent = async (u: ChatUser, roomId: string, text: string) =>
    (await ok<{ message: Message }>(u.socket, 'message:send', { roomId, clientMsgId: uniqueName('c'), text })).message;
  const listed = async (u: ChatUser, roomId: string) =>
    (await ok<{ rooms: RoomWithReadState[] }>(u.socket, 'room:list', {})).rooms.find((r) => r.id === roomId);
  const publish = (token: string, roomId: string, text: string) =>
    http<{ message?: Message; error?: { code: string } }>(t.url, 'POST', `/api/rooms/${roomId}/messages`, { text }, token);

  /** A public room made by `owner` with `others` joined. */
  async function roomOf(owner: ChatUser, others: ChatUser[] = [], payload: Record<string, unknown> = {}) {
    const room = await createRoom(owner, payload);
    for (const u of others) await ok(u.socket, 'room:join', { roomId: room.id });
    return room;
  }

  it('puts every new account, not bots, in the public room general (createdBy null), managed by admins only', async () => {
    const general = await listed(admin, (await ok<{ rooms: Room[] }>(admin.socket, 'room:browse', { query: 'general' })).rooms[0]?.id ?? '');
    expect(general).toMatchObject({ name: 'general', kind: 'public', createdBy: null, archived: false, muted: false });
    const user = await chatUser();
    expect(await listed(user, general!.id)).toMatchObject({ name: 'general' });
    const bot = await http<{ bot: User }>(t.url, 'POST', '/api/bots', { username: uniqueName('bot') }, admin.session.accessToken);
    expect(bot.status).toBe(201);
    const { members } = await ok<{ members: { id: string }[] }>(admin.socket, 'room:members', { roomId: general!.id });
    expect(members.map((m) => m.id)).toContain(user.id);
    expect(members.map((m) => m.id)).not.toContain(bot.body.bot.id);

    expect(await codeOf(user.socket, 'room:update', { roomId: general!.id, topic: 'mine now' })).toBe('FORBIDDEN');
    expect(await codeOf(user.socket, 'room:archive', { roomId: general!.id, archived: true })).toBe('FORBIDDEN');
    const { room } = await ok<{ room: Room }>(admin.socket, 'room:update', { roomId: general!.id, topic: 'Everyone' });
    expect(room).toMatchObject({ name: 'general', topic: 'Everyone', createdBy: null });
  });

  it('room:update: the creator or an admin renames and sets the topic → room:updated to members; others are refused', async () => {
    const [owner, member, stranger] = [await chatUser(), await chatUser(), await chatUser()];
    const room = await roomOf(owner, [member]);
    const heard = next<Room>(member.socket, 'room:updated');
    const name = uniqueName('Renamed');
    const { room: updated } = await ok<{ room: Room }>(owner.socket, 'room:update', { roomId: room.id, name: `  ${name} `, topic: 'Plans' });
    expect(updated).toMatchObject({ id: room.id, name, topic: 'Plans', archived: false, createdBy: owner.id });
    expect(await heard).toEqual(updated);
    expect(await listed(member, room.id)).toMatchObject({ name, topic: 'Plans' });

    // An admin who is not a member may too (the admin rooms page).
    expect((await ok<{ room: Room }>(admin.socket, 'room:update', { roomId: room.id, topic: 'By admin' })).room.topic).toBe('By admin');
    expect(await codeOf(member.socket, 'room:update', { roomId: room.id, topic: 'x' })).toBe('FORBIDDEN');
    expect(await codeOf(stranger.socket, 'room:update', { roomId: room.id, topic: 'x' })).toBe('FORBIDDEN');
    expect(await codeOf(owner.socket, 'room:update', { roomId: 'nope', topic: 'x' })).toBe('NOT_FOUND');
    // Names follow the name rules; public names are unique by their key.
    const other = await createRoom(owner);
    expect(await codeOf(owner.socket, 'room:update', { roomId: room.id, name: other.name.toUpperCase() })).toBe('CONFLICT');
    expect(await codeOf(owner.socket, 'room:update', { roomId: room.id, name: 'evil\u202Ename' })).toBe('INVALID_ARGUMENT');
    expect(await codeOf(owner.socket, 'room:update', { roomId: room.id, name: '   ' })).toBe('INVALID_ARGUMENT');
    expect(await codeOf(owner.socket, 'room:update', { roomId: room.id })).toBe('INVALID_ARGUMENT');
    expect(await codeOf(owner.socket, 'room:update', { roomId: room.id, topic: 'x'.repeat(251) })).toBe('INVALID_ARGUMENT');
    // Private names may repeat a public one.
    const secret = await createRoom(owner, { kind: 'private' });
    expect(await codeOf(owner.socket, 'room:update', { roomId: secret.id, name: other.name })).toBe('ok');
    expect(await listed(owner, room.id)).toMatchObject({ name, topic: 'By admin' });
  });

  it('refuses to update, archive or remove members of a DM, even for an admin', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const { room: dm } = await ok<{ room: Room }>(a.socket, 'dm:open', { userId: b.id });
    expect(await codeOf(a.socket, 'room:update', { roomId: dm.id, topic: 'x' })).toBe('FORBIDDEN');
    expect(await codeOf(a.socket, 'room:archive', { roomId: dm.id, archived: true })).toBe('FORBIDDEN');
    expect(await codeOf(a.socket, 'room:remove', { roomId: dm.id, userId: b.id })).toBe('FORBIDDEN');
    expect(await codeOf(admin.socket, 'room:archive', { roomId: dm.id, archived: true })).toBe('FORBIDDEN');
    // A DM can be muted, as any room one is in.
    expect(await codeOf(a.socket, 'room:mute', { roomId: dm.id, muted: true })).toBe('ok');
  });

  it('room:archive: read-only for every transport until unarchived; only the creator or an admin', async () => {
    const [owner, member, stranger] = [await chatUser(), await chatUser(), await chatUser()];
    const room = await roomOf(owner, [member]);
    const before = await sent(member, room.id, 'before');
    expect(await codeOf(member.socket, 'room:archive', { roomId: room.id, archived: true })).toBe('FORBIDDEN');
    expect(await codeOf(stranger.socket, 'room:archive', { roomId: room.id, archived: true })).toBe('FORBIDDEN');
    expect(await codeOf(owner.socket, 'room:archive', { roomId: 'nope', archived: true })).toBe('NOT_FOUND');

    const heard = next<Room>(member.socket, 'room:updated');
    const { room: archived } = await ok<{ room: Room }>(owner.socket, 'room:archive', { roomId: room.id, archived: true });
    expect(archived).toMatchObject({ id: room.id, archived: true });
    expect((await heard).archived).toBe(true);
    expect(await listed(member, room.id)).toMatchObject({ archived: true });
    expect((await ok<{ rooms: Room[] }>(stranger.socket, 'room:browse', { query: room.name })).rooms[0]).toMatchObject({ archived: true });

    const refused = await send(member, room.id, 'after');
    expect(refused.ok ? 'ok' : refused.error.code).toBe('FORBIDDEN');
    expect(await codeOf(member.socket, 'message:edit', { messageId: before.id, text: 'changed' })).toBe('FORBIDDEN');
    expect(await codeOf(member.socket, 'message:react', { messageId: before.id, emoji: '👍', on: true })).toBe('FORBIDDEN');
    expect(await codeOf(member.socket, 'message:send', { roomId: room.id, clientMsgId: uniqueName('r'), text: 'a reply', threadId: before.id })).toBe(
      'FORBIDDEN',
    );
    const ws = await connectWs(t.url, member.session.accessToken);
    expect(await ws.request('publish', { roomId: room.id, clientMsgId: uniqueName('w'), text: 'over /ws' })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    const viaHttp = await publish(member.session.accessToken, room.id, 'over HTTP');
    expect(viaHttp.status).toBe(403);
    // Reading goes on: history, and joining to read.
    const { messages } = await ok<{ messages: Message[] }>(member.socket, 'message:history', { roomId: room.id });
    expect(messages.map((m) => m.text)).toEqual(['before']);
    expect(await codeOf(stranger.socket, 'room:join', { roomId: room.id })).toBe('ok');
    ws.ws.close();

    // Archiving again changes nothing; an admin unarchives.
    expect(await codeOf(owner.socket, 'room:archive', { roomId: room.id, archived: true })).toBe('ok');
    expect((await ok<{ room: Room }>(admin.socket, 'room:archive', { roomId: room.id, archived: false })).room.archived).toBe(false);
    expect((await send(member, room.id, 'again')).ok).toBe(true);
    expect(await codeOf(member.socket, 'message:edit', { messageId: before.id, text: 'changed' })).toBe('ok');
    expect(await codeOf(member.socket, 'message:react', { messageId: before.id, emoji: '👍', on: true })).toBe('ok');
    expect((await publish(member.session.accessToken, room.id, 'HTTP again')).status).toBe(201);
  });

  it('a send racing an archive is either stored and acknowledged or refused, never stored unacknowledged; none passes after the ack', async () => {
    const owner = await chatUser();
    const room = await roomOf(owner);
    // Within the send burst (30), so no answer is RATE_LIMITED.
    const sends = Array.from({ length: 13 }, (_, i) => send(owner, room.id, `m${i}`));
    const archiving = ok<{ room: Room }>(owner.socket, 'room:archive', { roomId: room.id, archived: true });
    const more = Array.from({ length: 13 }, (_, i) => send(owner, room.id, `n${i}`));
    const answers = await Promise.all([...sends, ...more]);
    await archiving;
    const acked = answers.flatMap((a) => (a.ok ? [a.message.id] : []));
    for (const a of answers) if (!a.ok) expect(a.error.code).toBe('FORBIDDEN');
    const { messages } = await ok<{ messages: Message[] }>(owner.socket, 'message:history', { roomId: room.id, limit: 200 });
    expect(messages.map((m) => m.id).sort()).toEqual([...acked].sort());
    expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => i + 1));
    const late = await send(owner, room.id, 'late');
    expect(late.ok ? 'ok' : late.error.code).toBe('FORBIDDEN');
  });

  it('room:remove: the creator or an admin removes a member → room:member left; their delivery stops', async () => {
    const [owner, member, third, stranger] = [await chatUser(), await chatUser(), await chatUser(), await chatUser()];
    const room = await roomOf(owner, [member, third]);
    expect(await codeOf(member.socket, 'room:remove', { roomId: room.id, userId: third.id })).toBe('FORBIDDEN');
    expect(await codeOf(stranger.socket, 'room:remove', { roomId: room.id, userId: third.id })).toBe('FORBIDDEN');
    expect(await codeOf(owner.socket, 'room:remove', { roomId: room.id, userId: 'nobody' })).toBe('NOT_FOUND');
    expect(await codeOf(owner.socket, 'room:remove', { roomId: 'nope', userId: member.id })).toBe('NOT_FOUND');

    const seen = collect<RoomMemberEvent>(owner.socket, 'room:member');
    const told = next<RoomMemberEvent>(member.socket, 'room:member', (e) => e.action === 'left');
    const received = collect<Message>(member.socket, 'message:new');
    expect(await codeOf(owner.socket, 'room:remove', { roomId: room.id, userId: member.id })).toBe('ok');
    expect(await told).toEqual({ roomId: room.id, userId: member.id, action: 'left' });
    await eventually(() => seen.some((e) => e.userId === member.id && e.action === 'left'), 5000, 'room:member left');
    expect(await listed(member, room.id)).toBeUndefined();
    // Nothing more reaches the removed member; what they send is refused.
    const after = await sent(owner, room.id, 'after removal');
    await next<Message>(third.socket, 'message:new', (m) => m.id === after.id);
    expect(received.filter((m) => m.roomId === room.id)).toEqual([]);
    const refused = await send(member, room.id, 'still here?');
    expect(refused.ok ? 'ok' : refused.error.code).toBe('FORBIDDEN');
    // Idempotent; an admin may remove too.
    expect(await codeOf(owner.socket, 'room:remove', { roomId: room.id, userId: member.id })).toBe('ok');
    expect(await codeOf(admin.socket, 'room:remove', { roomId: room.id, userId: third.id })).toBe('ok');
    const { members } = await ok<{ members: { id: string }[] }>(owner.socket, 'room:members', { roomId: room.id });
    expect(members.map((m) => m.id)).toEqual([owner.id]);
  });

  it('room:mute: no notifications from the room for the caller; room:list shows muted', async () => {
    const [owner, member, stranger] = [await chatUser(), await chatUser(), await chatUser()];
    const room = await roomOf(owner, [member]);
    const username = member.session.user.username;
    const notes = await connect(t.url, '/notifications', member.session.accessToken);
    const arrived = collect<Notification>(notes, 'notification:new');
    expect(await codeOf(stranger.socket, 'room:mute', { roomId: room.id, muted: true })).toBe('FORBIDDEN');
    expect(await codeOf(member.socket, 'room:mute', { roomId: room.id, muted: 'yes' })).toBe('INVALID_ARGUMENT');
    await ok(member.socket, 'room:mute', { roomId: room.id, muted: true });
    expect(await listed(member, room.id)).toMatchObject({ muted: true });
    expect(await listed(owner, room.id)).toMatchObject({ muted: false });
    const quiet = await sent(owner, room.id, `@${username} are you there?`);
    // Unmuted, the next mention notifies; the muted one never did.
    await ok(member.socket, 'room:mute', { roomId: room.id, muted: false });
    const loud = await sent(owner, room.id, `@${username} now?`);
    await eventually(() => arrived.some((n) => n.data.messageId === loud.id), 5000, 'the mention notification');
    expect(arrived.filter((n) => n.data.messageId === quiet.id)).toEqual([]);
    const { notifications } = await ok<{ notifications: Notification[] }>(notes, 'notification:list', {});
    expect(notifications.map((n) => n.data.messageId)).toEqual([loud.id]);
  });

  it('reading past a message reads its mention and dm notifications; notification:unread follows', async () => {
    const [owner, member] = [await chatUser(), await chatUser()];
    const room = await roomOf(owner, [member]);
    const notes = await connect(t.url, '/notifications', member.session.accessToken);
    const counts = collect<{ count: number }>(notes, 'notification:unread');
    const first = await sent(owner, room.id, `@${member.session.user.username} one`);
    const second = await sent(owner, room.id, `@${member.session.user.username} two`);
    const { room: dm } = await ok<{ room: Room }>(owner.socket, 'dm:open', { userId: member.id });
    const direct = await sent(owner, dm.id, 'psst');
    await eventually(() => counts.at(-1)?.count === 3, 5000, 'three unread');

    await ok(member.socket, 'read', { roomId: room.id, seq: first.seq });
    await eventually(() => counts.at(-1)?.count === 2, 5000, 'two unread');
    const { notifications } = await ok<{ notifications: Notification[] }>(notes, 'notification:list', {});
    const byMessage = new Map(notifications.map((n) => [n.data.messageId, n]));
    expect(byMessage.get(first.id)?.readAt).not.toBeNull();
    expect(byMessage.get(second.id)?.readAt).toBeNull();
    expect(byMessage.get(direct.id)?.readAt).toBeNull();

    await ok(member.socket, 'read', { roomId: dm.id, seq: direct.seq });
    await ok(member.socket, 'read', { roomId: room.id, seq: second.seq });
    await eventually(() => counts.at(-1)?.count === 0, 5000, 'none unread');
    expect((await ok<{ unread: number }>(notes, 'notification:list', {})).unread).toBe(0);
  });

  it("an archived room's documents sync read-only: an update closes the connection with 4403, also when archived while connected", async () => {
    const owner = { session: admin.session, chat: admin.socket };
    const { roomId, doc } = await roomWithDoc(t.url, owner);
    const update = (text: string) => updateFrame(insertUpdate(text));
    // Connected before the archive: the archive takes effect on the open connection.
    const open = await openRaw(t.url, doc.id, admin.session.accessToken);
    await eventually(() => open.received.length > 0, 5000, 'sync step 1');
    await ok(admin.socket, 'room:archive', { roomId, archived: true });
    open.ws.send(update('too late'));
    expect(await open.closed).toBe(4403);

    // Opened while archived: it still loads and syncs (read-only).
    const reader = await openRaw(t.url, doc.id, admin.session.accessToken);
    await eventually(() => reader.received.length > 0, 5000, 'sync step 1 while archived');
    reader.ws.send(update('refused'));
    expect(await reader.closed).toBe(4403);

    // Nor over HTTP: no new document, rename or restore while archived; saving a version (which
    // changes nothing) still works.
    const token = admin.session.accessToken;
    expect((await http(t.url, 'POST', `/api/rooms/${roomId}/docs`, { title: 'New' }, token)).status).toBe(403);
    expect((await http(t.url, 'PATCH', `/api/docs/${doc.id}`, { title: 'Renamed' }, token)).status).toBe(403);
    const saved = await http<{ version: { id: string } }>(t.url, 'POST', `/api/docs/${doc.id}/versions`, { name: 'Archived' }, token);
    expect(saved.status).toBe(201);
    expect((await http(t.url, 'POST', `/api/docs/${doc.id}/versions/${saved.body.version.id}/restore`, undefined, token)).status).toBe(403);

    // Unarchived: edits are stored and relayed again.
    await ok(admin.socket, 'room:archive', { roomId, archived: false });
    const [writer, watcher] = [await openProvider(t.url, doc.id, admin.session.accessToken), await openProvider(t.url, doc.id, admin.session.accessToken)];
    writer.doc.getText('content').insert(0, 'welcome back');
    expect(await converged([writer, watcher])).toBe('welcome back');
    expect(textOf(watcher)).toBe('welcome back');
  });
});

/**
 * A database from before room management, opened by a server: the migration makes `created_by`
 * nullable (rebuilding the table on SQLite), creates `general` with every person (not bots) in it —
 * or, when a public room of that name exists, makes that one the room new accounts join — and
 * keeps every room, membership, message, index and foreign key as it was.
 */
describe.each(dialects)('the room-management migration on %s', (dialect) => {
  const servers: TestServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
  });
  afterEach(closeSockets);

  /** A database migrated to just before room management, filled by `fill`, then opened by a server. */
  async function migratedFrom(fill: (db: Kysely<unknown>, now: number) => Promise<void>): Promise<TestServer> {
    const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-test-'));
    const created = dialect === 'postgres' ? await createPgDatabase() : undefined;
    const db =
      created === undefined
        ? new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SQLite(join(dataDir, 'switchboard.db')) }) })
        : new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: created.url }) }) });
    const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo('0009_room_webhooks');
    if (error) throw error;
    const now = Date.now();
    await sql`insert into users (id, username, username_lower, display_name, password_hash, role, created_at)
              values ('u-admin', 'oldadmin', 'oldadmin', 'Old Admin', 'x', 'admin', ${now}),
                     ('u-bot', 'oldbot', 'oldbot', 'Old Bot', 'x', 'bot', ${now})`.execute(db);
    await sql`insert into rooms (id, name, name_lower, name_key, kind, topic, created_by, created_at, last_seq, member_count)
              values ('room-1', 'Lobby', 'lobby', 'lobby', 'public', 'old topic', 'u-admin', ${now}, 1, 2)`.execute(db);
    await sql`insert into memberships (room_id, user_id, joined_at, last_read_seq)
              values ('room-1', 'u-admin', ${now}, 1), ('room-1', 'u-bot', ${now}, 0)`.execute(db);
    await sql`insert into messages (id, room_id, seq, sender_id, text, client_msg_id, created_at, updated_at)
              values ('msg-1', 'room-1', 1, 'u-admin', 'kept', 'c-1', ${now}, ${now})`.execute(db);
    await fill(db, now);
    await db.destroy();
    const t = await startServer({ dialect, dataDir, ...(created ? { databaseUrl: created.url, dropDatabase: created.drop } : {}) });
    servers.push(t);
    return t;
  }

  it('creates general with the existing people and keeps everything else', async () => {
    const t = await migratedFrom(async () => undefined);
    const db = t.server.database.db;
    const general = await db.selectFrom('rooms').selectAll().where('name', '=', 'general').executeTakeFirstOrThrow();
    expect(general).toMatchObject({ kind: 'public', created_by: null, archived: 0, auto_join: 1, member_count: 1 });
    const members = await db.selectFrom('memberships').select(['room_id', 'user_id', 'last_read_seq', 'muted']).orderBy('room_id').orderBy('user_id').execute();
    expect(members).toEqual([
      { room_id: general.id, user_id: 'u-admin', last_read_seq: 0, muted: 0 },
      { room_id: 'room-1', user_id: 'u-admin', last_read_seq: 1, muted: 0 },
      { room_id: 'room-1', user_id: 'u-bot', last_read_seq: 0, muted: 0 },
    ]);
    expect(await db.selectFrom('rooms').selectAll().where('id', '=', 'room-1').executeTakeFirstOrThrow()).toMatchObject({
      name: 'Lobby',
      topic: 'old topic',
      created_by: 'u-admin',
      last_seq: 1,
      member_count: 2,
      archived: 0,
      auto_join: 0,
    });
    // Indexes and foreign keys survived the rebuild.
    await expect(
      db.insertInto('rooms').values({ id: 'dup', name: 'LOBBY', name_lower: 'lobby', name_key: 'lobby', kind: 'public', topic: '', created_by: null, created_at: 0, dm_key: null }).execute(),
    ).rejects.toThrow();
    await expect(db.insertInto('memberships').values({ room_id: 'no-such-room', user_id: 'u-admin', joined_at: 0 }).execute()).rejects.toThrow();
    // New accounts join it; the old messages are still there.
    const u = await newChatUser(t.url);
    const { rooms } = await ok<{ rooms: Room[] }>(u.socket, 'room:list', {});
    expect(rooms.map((r) => r.id)).toEqual([general.id]);
    expect((await db.selectFrom('messages').select('text').where('id', '=', 'msg-1').executeTakeFirstOrThrow()).text).toBe('kept');
  });

  it('makes an existing public room named general the one new accounts join, members as they were', async () => {
    const t = await migratedFrom(async (db, now) => {
      await sql`insert into rooms (id, name, name_lower, name_key, kind, topic, created_by, created_at, last_seq, member_count)
                values ('room-g', 'General', 'general', 'general', 'public', '', 'u-admin', ${now}, 0, 0)`.execute(db);
    });
    const db = t.server.database.db;
    const named = await db.selectFrom('rooms').select(['id', 'created_by', 'auto_join', 'member_count']).where('name_key', '=', 'general').execute();
    expect(named).toEqual([{ id: 'room-g', created_by: 'u-admin', auto_join: 1, member_count: 0 }]);
    const u = await newChatUser(t.url);
    const { rooms } = await ok<{ rooms: Room[] }>(u.socket, 'room:list', {});
    expect(rooms).toMatchObject([{ id: 'room-g', name: 'General', memberCount: 1 }]);
  });
});
