/**
 * Repository tests: users, sessions, rooms and messages against the real SQLite and PostgreSQL,
 * through the database a real server opened (and migrated).
 */
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../src/domain/ids.js';
import { isUniqueViolation } from '../src/store/errors.js';
import { MessageRepository } from '../src/store/messages.js';
import { RoomRepository, type NewRoom } from '../src/store/rooms.js';
import type { DB, UserRow } from '../src/store/schema.js';
import { SessionRepository, UserRepository } from '../src/store/users.js';
import { dialects, startServer, uniqueName, type TestServer } from './helpers.js';

describe.each(dialects)('repositories on %s', (dialect) => {
  let t: TestServer;
  let db: Kysely<DB>;
  let users: UserRepository;
  let sessions: SessionRepository;
  let rooms: RoomRepository;
  let messages: MessageRepository;
  /** The room every new account joins. */
  let general: string;

  beforeAll(async () => {
    t = await startServer({ dialect });
    db = t.server.database.db;
    users = new UserRepository(db);
    sessions = new SessionRepository(db);
    rooms = new RoomRepository(db);
    messages = new MessageRepository(db, dialect);
    general = (await db.selectFrom('rooms').select('id').where('auto_join', '=', 1).executeTakeFirstOrThrow()).id;
  });
  afterAll(() => t.close());

  const newUser = async (username = uniqueName('U')) =>
    (
      await users.create({
        id: newId(),
        username,
        username_lower: username.toLowerCase(),
        display_name: `Display ${username}`,
        password_hash: 'scrypt$x',
        created_at: Date.now(),
        last_seen_at: null,
      })
    ).row;

  const roomRow = (over: Partial<NewRoom> & { created_by: string }): NewRoom => {
    const name = over.name ?? uniqueName('Room');
    return {
      id: newId(),
      name,
      name_lower: name.toLowerCase(),
      kind: 'public',
      topic: '',
      created_at: Date.now(),
      dm_key: null,
      ...over,
    };
  };

  const newMessage = (roomId: string, senderId: string, clientMsgId = uniqueName('c'), text = 'hi') => ({
    id: newId(),
    roomId,
    senderId,
    text,
    clientMsgId,
    now: Date.now(),
  });
  /** The stored message and whether it was created now; undefined when the sender may not post there. */
  const append = async (roomId: string, senderId: string, clientMsgId?: string, text?: string) => {
    const [outcome] = await messages.appendBatch([newMessage(roomId, senderId, clientMsgId, text)]);
    return outcome?.kind === 'stored' ? { message: outcome.message, created: outcome.created } : undefined;
  };

  describe('UserRepository', () => {
    let first: UserRow;
    beforeAll(async () => {
      first = await newUser();
    });

    it('makes the first user admin and later ones users', async () => {
      expect(first.role).toBe('admin');
      expect((await newUser()).role).toBe('user');
    });

    it('finds users by id, by username case-insensitively, and in bulk', async () => {
      const u = await newUser(uniqueName('MiXed'));
      expect(await users.byId(u.id)).toEqual(u);
      expect((await users.byUsername(u.username.toUpperCase()))?.id).toBe(u.id);
      expect(await users.byUsername('nobody-here')).toBeUndefined();
      expect((await users.byIds([u.id, first.id, 'missing'])).map((r) => r.id).sort()).toEqual([u.id, first.id].sort());
      expect((await users.byUsernames([u.username.toLowerCase()])).map((r) => r.id)).toEqual([u.id]);
      expect(await users.byIds([])).toEqual([]);
    });

    it('refuses a second user with the same lower-cased name as a unique violation', async () => {
      const name = uniqueName('Dup');
      await newUser(name);
      const err = await newUser(name.toUpperCase()).catch((e: unknown) => e);
      expect(isUniqueViolation(err)).toBe(true);
    });

    it('records last_seen_at', async () => {
      const u = await newUser();
      await users.setLastSeen(u.id, 1234);
      expect((await users.byId(u.id))?.last_seen_at).toBe(1234);
    });
  });

  describe('SessionRepository', () => {
    it('rotates a refresh token once; a second use is reuse; revoke ends the session', async () => {
      const u = await newUser();
      const id = newId();
      const now = Date.now();
      await sessions.create({ id, userId: u.id, refreshHash: `h-${id}-1`, now, expiresAt: now + 60_000 });
      expect(await sessions.isActive(id)).toBe(true);
      expect(await sessions.sessionOfToken(`h-${id}-1`)).toEqual({ sessionId: id, userId: u.id });

      const rotated = await sessions.rotate(`h-${id}-1`, { hash: `h-${id}-2`, now, expiresAt: now + 60_000 });
      expect(rotated).toEqual({ outcome: 'rotated', sessionId: id, userId: u.id });
      const reused = await sessions.rotate(`h-${id}-1`, { hash: `h-${id}-3`, now, expiresAt: now + 60_000 });
      expect(reused).toEqual({ outcome: 'reused', sessionId: id, userId: u.id });
      expect(await sessions.rotate('unknown', { hash: `h-${id}-4`, now, expiresAt: now })).toEqual({ outcome: 'invalid' });

      expect(await sessions.revoke(id, now)).toBe(true);
      expect(await sessions.revoke(id, now)).toBe(false);
      expect(await sessions.isActive(id)).toBe(false);
      expect(await sessions.rotate(`h-${id}-2`, { hash: `h-${id}-5`, now, expiresAt: now + 60_000 })).toEqual({ outcome: 'invalid' });
    });

    it('refuses an expired refresh token', async () => {
      const u = await newUser();
      const id = newId();
      const now = Date.now();
      await sessions.create({ id, userId: u.id, refreshHash: `e-${id}`, now: now - 10, expiresAt: now - 1 });
      expect(await sessions.rotate(`e-${id}`, { hash: `e-${id}-2`, now, expiresAt: now + 1 })).toEqual({ outcome: 'invalid' });
    });

    it('lets exactly one of two concurrent rotations of the same token succeed', async () => {
      const u = await newUser();
      const id = newId();
      const now = Date.now();
      await sessions.create({ id, userId: u.id, refreshHash: `c-${id}`, now, expiresAt: now + 60_000 });
      const outcomes = await Promise.all(
        [1, 2].map((n) => sessions.rotate(`c-${id}`, { hash: `c-${id}-${n}`, now, expiresAt: now + 60_000 })),
      );
      expect(outcomes.map((o) => o.outcome).sort()).toEqual(['reused', 'rotated']);
    });
  });

  describe('RoomRepository', () => {
    it('creates rooms with their members and member_count; public names are unique case-insensitively', async () => {
      const [a, b] = [await newUser(), await newUser()];
      const now = Date.now();
      const row = roomRow({ created_by: a.id });
      const created = await rooms.create(row, [a.id, b.id], now);
      expect(created).toMatchObject({ id: row.id, last_seq: 0, member_count: 2 });
      expect(await rooms.byId(row.id)).toEqual(created);
      expect(await rooms.readMark(row.id, b.id)).toBe(0);
      expect(await rooms.readMark(row.id, newId())).toBeUndefined();

      const clash = await rooms
        .create(roomRow({ created_by: a.id, name: row.name.toUpperCase() }), [a.id], now)
        .catch((e: unknown) => e);
      expect(isUniqueViolation(clash)).toBe(true);
      // Nothing of the refused room remains.
      expect((await rooms.browse(row.name, 10)).map((r) => r.id)).toEqual([row.id]);
      await rooms.create(roomRow({ created_by: a.id, name: row.name, kind: 'private' }), [a.id], now);
      await rooms.create(roomRow({ created_by: a.id, name: row.name, kind: 'private' }), [a.id], now);
    });

    it('keeps one DM per key', async () => {
      const [a, b] = [await newUser(), await newUser()];
      const key = [a.id, b.id].sort().join(':');
      const dm = roomRow({ created_by: a.id, kind: 'dm', dm_key: key });
      await rooms.create(dm, [a.id, b.id], Date.now());
      expect((await rooms.byDmKey(key))?.id).toBe(dm.id);
      const again = await rooms.create(roomRow({ created_by: b.id, kind: 'dm', dm_key: key }), [a.id, b.id], Date.now()).catch((e: unknown) => e);
      expect(isUniqueViolation(again)).toBe(true);
    });

    it('adds and removes members idempotently, keeping member_count in step', async () => {
      const [a, b, c] = [await newUser(), await newUser(), await newUser()];
      const row = roomRow({ created_by: a.id });
      await rooms.create(row, [a.id], Date.now());
      const added = await rooms.addMembers(row.id, [b.id, c.id, a.id], Date.now());
      expect(added?.added.sort()).toEqual([b.id, c.id].sort());
      expect(added?.room.member_count).toBe(3);
      expect((await rooms.addMembers(row.id, [b.id], Date.now()))?.added).toEqual([]);
      expect(await rooms.addMembers('no-such-room', [b.id], Date.now())).toBeUndefined();

      expect(await rooms.removeMember(row.id, b.id)).toMatchObject({ removed: true, room: { member_count: 2 } });
      expect(await rooms.removeMember(row.id, b.id)).toMatchObject({ removed: false, room: { member_count: 2 } });
      expect(await rooms.removeMember('no-such-room', b.id)).toBeUndefined();
      expect((await rooms.members(row.id)).map((m) => m.id).sort()).toEqual([a.id, c.id].sort());
      // Besides the room every account joins (general).
      expect((await rooms.roomIdsOf(c.id)).filter((id) => id !== general)).toEqual([row.id]);
      expect(await rooms.memberOf(b.id, [row.id])).toEqual(new Set());
      expect(await rooms.memberOf(c.id, [row.id, 'other'])).toEqual(new Set([row.id]));
    });

    it('keeps member_count exact under concurrent joins and leaves', async () => {
      const owner = await newUser();
      const joiners = await Promise.all(Array.from({ length: 12 }, () => newUser()));
      const row = roomRow({ created_by: owner.id });
      await rooms.create(row, [owner.id], Date.now());
      await Promise.all(joiners.map((u) => rooms.addMembers(row.id, [u.id], Date.now())));
      await Promise.all(joiners.slice(0, 5).map((u) => rooms.removeMember(row.id, u.id)));
      expect((await rooms.byId(row.id))?.member_count).toBe(8);
      expect(await rooms.members(row.id)).toHaveLength(8);
    });

    it('lists a user’s rooms with read marks, and browses public rooms by name, most members first', async () => {
      const [a, b] = [await newUser(), await newUser()];
      const tag = uniqueName('Tag');
      const small = roomRow({ created_by: a.id, name: `${tag}_small` });
      const big = roomRow({ created_by: a.id, name: `${tag}_BIG` });
      const hidden = roomRow({ created_by: a.id, name: `${tag}_hidden`, kind: 'private' });
      await rooms.create(small, [a.id], Date.now());
      await rooms.create(big, [a.id, b.id], Date.now());
      await rooms.create(hidden, [a.id, b.id], Date.now());
      expect((await rooms.browse(tag.toLowerCase(), 10)).map((r) => r.id)).toEqual([big.id, small.id]);
      expect((await rooms.browse(`${tag}_`, 1)).map((r) => r.id)).toEqual([big.id]);
      // `_` and `%` are literal: "Tag%" matches nothing, "Tag_s" only "Tag_small".
      expect(await rooms.browse(`${tag}%`, 10)).toEqual([]);
      expect((await rooms.browse(`${tag}_s`, 10)).map((r) => r.id)).toEqual([small.id]);
      const listed = (await rooms.listForUser(b.id)).filter((r) => r.id !== general);
      expect(listed.map((r) => r.id).sort()).toEqual([big.id, hidden.id].sort());
      expect(listed.every((r) => r.last_read_seq === 0)).toBe(true);
    });

    it('finds members by username, and moves read marks forward only, clamped to last_seq', async () => {
      const [a, b] = [await newUser(), await newUser()];
      const outsider = await newUser();
      const row = roomRow({ created_by: a.id });
      await rooms.create(row, [a.id, b.id], Date.now());
      expect((await rooms.membersNamed(row.id, [b.username.toUpperCase(), outsider.username, 'nobody'])).sort()).toEqual([b.id]);
      for (let i = 0; i < 3; i++) await append(row.id, a.id);
      expect(await rooms.moveReadMark(row.id, b.id, 2)).toBe(2);
      expect(await rooms.moveReadMark(row.id, b.id, 1)).toBeUndefined();
      expect(await rooms.moveReadMark(row.id, b.id, 2)).toBeUndefined();
      expect(await rooms.moveReadMark(row.id, b.id, 50)).toBe(3);
      expect(await rooms.readMark(row.id, b.id)).toBe(3);
      expect(await rooms.moveReadMark(row.id, outsider.id, 1)).toBeUndefined();
      expect(await rooms.moveReadMark('no-such-room', b.id, 1)).toBeUndefined();
    });
  });

  describe('MessageRepository', () => {
    it('appends with gap-free seqs, returns the stored message for a repeated client id, and moves the sender’s mark', async () => {
      const [a, b] = [await newUser(), await newUser()];
      const row = roomRow({ created_by: a.id });
      await rooms.create(row, [a.id, b.id], Date.now());
      const first = await append(row.id, a.id, 'same');
      expect(first).toMatchObject({ created: true, message: { seq: 1, sender_name: a.display_name, deleted: 0, edited_at: null } });
      const again = await append(row.id, a.id, 'same', 'other text');
      expect(again).toEqual({ created: false, message: first?.message });
      expect((await append(row.id, b.id, 'same'))?.message.seq).toBe(2);
      expect((await rooms.byId(row.id))?.last_seq).toBe(2);
      expect(await rooms.readMark(row.id, a.id)).toBe(1);
      expect(await rooms.readMark(row.id, b.id)).toBe(2);
      expect(await append('no-such-room', a.id)).toBeUndefined();
    });

    it('keeps seqs 1..N under concurrent appends, with racing duplicates stored once', async () => {
      const senders = await Promise.all(Array.from({ length: 8 }, () => newUser()));
      const row = roomRow({ created_by: senders[0]?.id ?? '' });
      await rooms.create(row, senders.map((u) => u.id), Date.now());
      const results = await Promise.all(
        senders.flatMap((u) => [0, 1, 2, 2].map((i) => append(row.id, u.id, `m${i}`))),
      );
      expect(results.filter((r) => r?.created)).toHaveLength(senders.length * 3);
      const page = await messages.page(row.id, { afterSeq: 0 }, 200);
      expect(page.messages.map((m) => m.seq)).toEqual(Array.from({ length: senders.length * 3 }, (_, i) => i + 1));
    });

    it('stores a batch in one transaction: per-room seqs in batch order, retries inside and outside it, non-members refused', async () => {
      const [a, b, outsider] = [await newUser(), await newUser(), await newUser()];
      const one = roomRow({ created_by: a.id });
      const two = roomRow({ created_by: a.id });
      await rooms.create(one, [a.id, b.id], Date.now());
      await rooms.create(two, [a.id], Date.now());
      const before = await append(one.id, a.id, 'before');
      const outcomes = await messages.appendBatch([
        newMessage(one.id, b.id, 'b1'),
        newMessage(two.id, a.id, 'a1'),
        newMessage(one.id, a.id, 'before', 'a retry of a stored message'),
        newMessage(one.id, outsider.id, 'o1'),
        newMessage(one.id, b.id, 'b1', 'a retry inside the batch'),
        newMessage(one.id, a.id, 'a2'),
        newMessage(two.id, b.id, 'b2'),
        newMessage('no-such-room', a.id, 'a3'),
      ]);
      const summary = outcomes.map((o) => (o.kind === 'stored' ? [o.message.room_id === one.id ? 'one' : 'two', o.message.seq, o.created] : o.kind));
      expect(summary).toEqual([['one', 2, true], ['two', 1, true], ['one', 1, false], 'not-member', ['one', 2, false], ['one', 3, true], 'not-member', 'not-member']);
      expect(outcomes[2]).toEqual({ kind: 'stored', message: before?.message, created: false });
      expect(outcomes[0]).toMatchObject({ message: { sender_name: b.display_name, text: 'hi' } });
      expect((await rooms.byId(one.id))?.last_seq).toBe(3);
      expect((await rooms.byId(two.id))?.last_seq).toBe(1);
      expect(await rooms.readMark(one.id, a.id)).toBe(3);
      expect(await rooms.readMark(one.id, b.id)).toBe(2);
      const page = await messages.page(one.id, { afterSeq: 0 }, 10);
      expect(page.messages.map((m) => m.client_msg_id)).toEqual(['before', 'b1', 'a2']);
    });

    it('pages by cursor in ascending order, and reports edits and deletes since a time', async () => {
      const a = await newUser();
      const row = roomRow({ created_by: a.id });
      await rooms.create(row, [a.id], Date.now());
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await append(row.id, a.id))?.message.id ?? '');
      const seqs = (p: { messages: { seq: number }[]; hasMore: boolean }) => [p.messages.map((m) => m.seq), p.hasMore];
      expect(seqs(await messages.page(row.id, {}, 2))).toEqual([[4, 5], true]);
      expect(seqs(await messages.page(row.id, { beforeSeq: 4 }, 2))).toEqual([[2, 3], true]);
      expect(seqs(await messages.page(row.id, { beforeSeq: 2 }, 2))).toEqual([[1], false]);
      expect(seqs(await messages.page(row.id, { afterSeq: 1 }, 2))).toEqual([[2, 3], true]);
      expect(seqs(await messages.page(row.id, { afterSeq: 3 }, 2))).toEqual([[4, 5], false]);

      const since = Date.now() + 10;
      expect(await messages.edit(ids[0] ?? '', 'edited', since)).toMatchObject({ text: 'edited', edited_at: since, updated_at: since });
      expect(await messages.delete(ids[1] ?? '', since + 1)).toMatchObject({ text: '', deleted: 1, attachments: '[]' });
      expect(await messages.delete(ids[1] ?? '', since + 2)).toBeUndefined();
      expect(await messages.edit(ids[1] ?? '', 'revived', since + 3)).toBeUndefined();
      await messages.edit(ids[4] ?? '', 'above the mark', since);
      const changed = await messages.changedSince(row.id, 4, { since }, 10);
      expect(changed.messages.map((m) => m.seq)).toEqual([1, 2]);
      expect(changed.next).toBeUndefined();
      expect(await messages.changedSince(row.id, 4, { since: since + 2 }, 10)).toEqual({ messages: [] });
      // One change per page: the cursor walks them in change order (seq 2 was deleted after seq 1 was edited).
      const first = await messages.changedSince(row.id, 4, { since }, 1);
      expect(first.messages.map((m) => m.seq)).toEqual([1]);
      const second = await messages.changedSince(row.id, 4, { after: first.next! }, 1);
      expect(second.messages.map((m) => m.seq)).toEqual([2]);
      expect(second.next).toBeUndefined();
      expect((await messages.byId(ids[0] ?? ''))?.text).toBe('edited');
      expect(await messages.byId('missing')).toBeUndefined();
    });
  });
});
