/**
 * Pages over everything an export holds, in primary-key order (keyset paging: each page starts
 * after the last key of the one before), so an export of any size reads a bounded amount at a
 * time and needs no cursor held open across awaits.
 */
import type { Kysely } from 'kysely';
import type { DB, MessageRow, RoomRow, UserRow } from './schema.js';

export class ExportRepository {
  constructor(private readonly db: Kysely<DB>) {}

  users(afterId: string, limit: number): Promise<UserRow[]> {
    return this.db.selectFrom('users').selectAll().where('id', '>', afterId).orderBy('id').limit(limit).execute();
  }

  rooms(afterId: string, limit: number): Promise<RoomRow[]> {
    return this.db.selectFrom('rooms').selectAll().where('id', '>', afterId).orderBy('id').limit(limit).execute();
  }

  memberships(after: { roomId: string; userId: string }, limit: number) {
    return this.db
      .selectFrom('memberships')
      .selectAll()
      .where((eb) =>
        eb.or([eb('room_id', '>', after.roomId), eb.and([eb('room_id', '=', after.roomId), eb('user_id', '>', after.userId)])]),
      )
      .orderBy('room_id')
      .orderBy('user_id')
      .limit(limit)
      .execute();
  }

  messages(afterId: string, limit: number): Promise<MessageRow[]> {
    return this.db.selectFrom('messages').selectAll().where('id', '>', afterId).orderBy('id').limit(limit).execute();
  }
}
