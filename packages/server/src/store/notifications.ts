/**
 * Stored notifications, one row per recipient. Ids are UUIDv7, so ordering by id is ordering by
 * creation time, and an id works as a paging cursor without a separate timestamp column.
 */
import { sql, type Kysely } from 'kysely';
import { escapeLike } from './db.js';
import type { DB, NotificationRow } from './schema.js';

export interface NotificationPageQuery {
  /** Only notifications older than this id (a cursor from the previous page). */
  before?: string | undefined;
  limit: number;
  unreadOnly: boolean;
}

export class NotificationRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async insertMany(rows: readonly NotificationRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.insertInto('notifications').values([...rows]).execute();
  }

  /** Up to `limit + 1` of the user's notifications, newest first: the extra row tells whether more exist. */
  pageWithLookahead(userId: string, query: NotificationPageQuery): Promise<NotificationRow[]> {
    let q = this.db.selectFrom('notifications').selectAll().where('user_id', '=', userId);
    if (query.before !== undefined) q = q.where('id', '<', query.before);
    if (query.unreadOnly) q = q.where('read_at', 'is', null);
    return q.orderBy('id', 'desc').limit(query.limit + 1).execute();
  }

  async unreadCount(userId: string): Promise<number> {
    const row = await this.db
      .selectFrom('notifications')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('user_id', '=', userId)
      .where('read_at', 'is', null)
      .executeTakeFirst();
    // PostgreSQL's count is a bigint, which pg may hand over as a string.
    return Number(row?.n ?? 0);
  }

  /**
   * Marks the user's unread notifications among `ids` (or all of them, when `ids` is undefined)
   * read; ids of other users' notifications match nothing. Returns how many changed.
   */
  async markRead(userId: string, ids: readonly string[] | undefined, at: number): Promise<number> {
    if (ids !== undefined && ids.length === 0) return 0;
    let q = this.db
      .updateTable('notifications')
      .set({ read_at: at })
      .where('user_id', '=', userId)
      .where('read_at', 'is', null);
    if (ids !== undefined) q = q.where('id', 'in', [...ids]);
    const result = await q.executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Members of the room other than `userId` (for a DM: the one other side). */
  async otherMembers(roomId: string, userId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('memberships')
      .select('user_id')
      .where('room_id', '=', roomId)
      .where('user_id', '<>', userId)
      .execute();
    return rows.map((r) => r.user_id);
  }

  /** Of `userIds`, those who muted the room. */
  async mutedAmong(roomId: string, userIds: readonly string[]): Promise<string[]> {
    if (userIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('memberships')
      .select('user_id')
      .where('room_id', '=', roomId)
      .where('user_id', 'in', [...userIds])
      .where('muted', '=', 1)
      .execute();
    return rows.map((r) => r.user_id);
  }

  /**
   * Marks read the user's unread message notifications (`mention`, `dm`) about messages of the room
   * up to `seq`; returns how many changed. `data` is JSON text written by one serializer
   * (`{"roomId":…,"messageId":…,"seq":…}`), so the room is matched as text in SQL — the same on
   * both databases, no JSON functions needed — and the seq, once parsed, here.
   */
  async markReadUpTo(userId: string, roomId: string, seq: number, at: number): Promise<number> {
    const candidates = await this.db
      .selectFrom('notifications')
      .select(['id', 'data'])
      .where('user_id', '=', userId)
      .where('read_at', 'is', null)
      .where('kind', 'in', ['mention', 'dm'])
      // ESCAPE is spelled out: SQLite has no default escape character for LIKE.
      .where(sql<boolean>`data like ${`%"roomId":"${escapeLike(roomId)}"%`} escape '\\'`)
      .execute();
    const ids = candidates
      .filter((row) => {
        const data = JSON.parse(row.data) as { roomId?: unknown; seq?: unknown };
        return data.roomId === roomId && typeof data.seq === 'number' && data.seq <= seq;
      })
      .map((row) => row.id);
    return this.markRead(userId, ids, at);
  }
}
