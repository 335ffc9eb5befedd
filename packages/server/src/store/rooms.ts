/**
 * Rooms and memberships. `member_count` is kept in step with the memberships inside the same
 * transaction. Every write that touches both tables locks the room row FIRST, the same order
 * `MessageRepository.append` uses, so concurrent joins, leaves and sends never deadlock on
 * PostgreSQL.
 */
import { nameKey } from '@switchboard/protocol';
import { sql, type Kysely, type Transaction } from 'kysely';
import { escapeLike } from './db.js';
import type { DB, RoomRow } from './schema.js';

/** A room to insert; its `name_key` is derived from its name here, so no caller can get it wrong. */
export type NewRoom = Omit<RoomRow, 'last_seq' | 'member_count' | 'name_key' | 'archived' | 'auto_join'>;

/** A room with the time of its last message (null: none yet) and of its latest activity, for admins. */
export type RoomWithActivity = RoomRow & { last_message_at: number | null; active_at: number };

/** A room with the viewer's read mark and mute, as `room:list` needs it. */
export type RoomWithReadMark = RoomRow & { last_read_seq: number; muted: number };

export interface MemberRow {
  id: string;
  username: string;
  display_name: string;
  last_read_seq: number;
}

export class RoomRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * Inserts a room and its first members; a public name taken (the same `nameKey`, or the same
   * lower-cased name) or a DM pair taken throws a unique violation.
   */
  async create(room: NewRoom, memberIds: readonly string[], now: number): Promise<RoomRow> {
    return this.db.transaction().execute(async (trx) => {
      const row: RoomRow = { ...room, name_key: nameKey(room.name), last_seq: 0, member_count: memberIds.length, archived: 0, auto_join: 0 };
      await trx.insertInto('rooms').values(row).execute();
      if (memberIds.length > 0) {
        await trx
          .insertInto('memberships')
          .values(memberIds.map((user_id) => ({ room_id: room.id, user_id, joined_at: now })))
          .execute();
      }
      return row;
    });
  }

  byId(id: string): Promise<RoomRow | undefined> {
    return this.db.selectFrom('rooms').selectAll().where('id', '=', id).executeTakeFirst();
  }

  byIds(ids: readonly string[]): Promise<RoomRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('rooms').selectAll().where('id', 'in', ids).execute();
  }

  byDmKey(key: string): Promise<RoomRow | undefined> {
    return this.db.selectFrom('rooms').selectAll().where('dm_key', '=', key).executeTakeFirst();
  }

  /** The user's read mark in the room, or undefined when not a member. */
  async readMark(roomId: string, userId: string): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('memberships')
      .select('last_read_seq')
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row?.last_read_seq;
  }

  /** Of `roomIds`, those the user is a member of. */
  async memberOf(userId: string, roomIds: readonly string[]): Promise<Set<string>> {
    if (roomIds.length === 0) return new Set();
    const rows = await this.db
      .selectFrom('memberships')
      .select('room_id')
      .where('user_id', '=', userId)
      .where('room_id', 'in', roomIds)
      .execute();
    return new Set(rows.map((r) => r.room_id));
  }

  /** Ids of every room the user is a member of. */
  async roomIdsOf(userId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('memberships').select('room_id').where('user_id', '=', userId).execute();
    return rows.map((r) => r.room_id);
  }

  /** The user's rooms with their read marks, most recently created first. */
  listForUser(userId: string): Promise<RoomWithReadMark[]> {
    return this.db
      .selectFrom('memberships')
      .innerJoin('rooms', 'rooms.id', 'memberships.room_id')
      .selectAll('rooms')
      .select(['memberships.last_read_seq', 'memberships.muted'])
      .where('memberships.user_id', '=', userId)
      .orderBy('rooms.created_at', 'desc')
      .orderBy('rooms.id', 'desc')
      .execute();
  }

  /** Public rooms whose name contains `query` (case-insensitively), most members first. */
  browse(query: string, limit: number): Promise<RoomRow[]> {
    let q = this.db.selectFrom('rooms').selectAll().where('kind', '=', 'public');
    if (query.length > 0) {
      // ESCAPE is spelled out: SQLite has no default escape character for LIKE.
      q = q.where(sql<boolean>`name_lower like ${`%${escapeLike(query.toLowerCase())}%`} escape '\\'`);
    }
    return q.orderBy('member_count', 'desc').orderBy('name_lower').orderBy('id').limit(limit).execute();
  }

  /**
   * Public and private rooms (never DMs) whose name contains `query`, newest activity first: by
   * the time of the last message (the creation while there is none), then by id, both descending;
   * `after` continues past a row of an earlier page in that order. The last message is found by
   * the room's `last_seq` on the unique `(room_id, seq)` index.
   */
  adminList(filter: {
    query: string;
    archived: boolean | undefined;
    after: { activeAt: number; id: string } | undefined;
    limit: number;
  }): Promise<RoomWithActivity[]> {
    const { query, archived, after, limit } = filter;
    const withLastMessage = this.db
      .selectFrom('rooms')
      .selectAll('rooms')
      .select((eb) =>
        eb
          .selectFrom('messages')
          .select('messages.created_at')
          .whereRef('messages.room_id', '=', 'rooms.id')
          .whereRef('messages.seq', '=', 'rooms.last_seq')
          .as('last_message_at'),
      )
      .where('kind', '!=', 'dm')
      .$if(query.length > 0, (q) => q.where(sql<boolean>`name_lower like ${`%${escapeLike(query.toLowerCase())}%`} escape '\\'`))
      .$if(archived !== undefined, (q) => q.where('archived', '=', archived ? 1 : 0));
    let q = this.db
      .selectFrom(
        this.db
          .selectFrom(withLastMessage.as('r'))
          .selectAll('r')
          .select(sql<number>`coalesce(r.last_message_at, r.created_at)`.as('active_at'))
          .as('a'),
      )
      .selectAll('a');
    if (after) {
      q = q.where((eb) => eb.or([eb('active_at', '<', after.activeAt), eb.and([eb('active_at', '=', after.activeAt), eb('id', '<', after.id)])]));
    }
    return q.orderBy('active_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  }

  members(roomId: string): Promise<MemberRow[]> {
    return this.db
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select(['users.id', 'users.username', 'users.display_name', 'memberships.last_read_seq'])
      .where('memberships.room_id', '=', roomId)
      .orderBy('users.username_lower')
      .execute();
  }

  /** Members of the room among `usernames` (compared case-insensitively). */
  async membersNamed(roomId: string, usernames: readonly string[]): Promise<string[]> {
    if (usernames.length === 0) return [];
    const rows = await this.db
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select('users.id')
      .where('memberships.room_id', '=', roomId)
      .where('users.username_lower', 'in', usernames.map((u) => u.toLowerCase()))
      .execute();
    return rows.map((r) => r.id);
  }

  /**
   * Adds the users who are not members yet (idempotent). Returns the room as it is afterwards
   * and the ids actually added.
   */
  async addMembers(roomId: string, userIds: readonly string[], now: number): Promise<{ room: RoomRow; added: string[] } | undefined> {
    return this.db.transaction().execute((trx) => addMembersIn(trx, roomId, userIds, now));
  }

  /** Ends a membership (idempotent). Returns the room afterwards and whether the user was a member. */
  async removeMember(roomId: string, userId: string): Promise<{ room: RoomRow; removed: boolean } | undefined> {
    return this.db.transaction().execute(async (trx) => {
      if (!(await lockRoom(trx, roomId))) return undefined;
      const result = await trx
        .deleteFrom('memberships')
        .where('room_id', '=', roomId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      const removed = Number(result.numDeletedRows) > 0;
      const room = await trx
        .updateTable('rooms')
        .set((eb) => ({ member_count: eb('member_count', '-', removed ? 1 : 0) }))
        .where('id', '=', roomId)
        .returningAll()
        .executeTakeFirstOrThrow();
      return { room, removed };
    });
  }

  /**
   * Renames the room and/or sets its topic; undefined when there is no such room. A public name
   * taken (the same `nameKey`) throws a unique violation.
   */
  async update(roomId: string, changes: { name?: string | undefined; topic?: string | undefined }): Promise<RoomRow | undefined> {
    const { name, topic } = changes;
    return this.db
      .updateTable('rooms')
      .set({
        ...(name !== undefined ? { name, name_lower: name.toLowerCase(), name_key: nameKey(name) } : {}),
        ...(topic !== undefined ? { topic } : {}),
      })
      .where('id', '=', roomId)
      .returningAll()
      .executeTakeFirst();
  }

  /**
   * Archives or unarchives the room; undefined when there is none. The update takes the room row's
   * lock, so it is ordered with every group commit (`MessageRepository.append` re-reads `archived`
   * under that lock): no send committed after this returns can land in an archived room.
   */
  setArchived(roomId: string, archived: boolean): Promise<RoomRow | undefined> {
    return this.db
      .updateTable('rooms')
      .set({ archived: archived ? 1 : 0 })
      .where('id', '=', roomId)
      .returningAll()
      .executeTakeFirst();
  }

  /** Mutes or unmutes the room for a member; false when the user is not a member. */
  async setMuted(roomId: string, userId: string, muted: boolean): Promise<boolean> {
    const result = await this.db
      .updateTable('memberships')
      .set({ muted: muted ? 1 : 0 })
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Moves the user's read mark forward to `seq`, clamped to the room's last seq; never back.
   * Returns the new mark when it moved, undefined otherwise.
   */
  async moveReadMark(roomId: string, userId: string, seq: number): Promise<number | undefined> {
    const room = await this.db.selectFrom('rooms').select('last_seq').where('id', '=', roomId).executeTakeFirst();
    if (!room) return undefined;
    const target = Math.min(seq, room.last_seq);
    const row = await this.db
      .updateTable('memberships')
      .set({ last_read_seq: target })
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .where('last_read_seq', '<', target)
      .returning('last_read_seq')
      .executeTakeFirst();
    return row?.last_read_seq;
  }
}

/** Takes the room row's write lock (a no-op update); false when the room does not exist. */
async function lockRoom(trx: Transaction<DB>, roomId: string): Promise<boolean> {
  const result = await trx
    .updateTable('rooms')
    .set((eb) => ({ member_count: eb.ref('member_count') }))
    .where('id', '=', roomId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** `RoomRepository.addMembers` inside a transaction of the caller's (registering with an invite). */
export async function addMembersIn(
  trx: Transaction<DB>,
  roomId: string,
  userIds: readonly string[],
  now: number,
): Promise<{ room: RoomRow; added: string[] } | undefined> {
  if (!(await lockRoom(trx, roomId))) return undefined;
  const added =
    userIds.length === 0
      ? []
      : await trx
          .insertInto('memberships')
          .values(userIds.map((user_id) => ({ room_id: roomId, user_id, joined_at: now })))
          .onConflict((oc) => oc.columns(['room_id', 'user_id']).doNothing())
          .returning('user_id')
          .execute();
  const room = await trx
    .updateTable('rooms')
    .set((eb) => ({ member_count: eb('member_count', '+', added.length) }))
    .where('id', '=', roomId)
    .returningAll()
    .executeTakeFirstOrThrow();
  return { room, added: added.map((r) => r.user_id) };
}
