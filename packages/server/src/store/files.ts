/**
 * File rows: one per upload, pointing at content-addressed bytes (store/blobs.ts). A file is
 * live until the message it is attached to is deleted, or until the orphan sweep releases it for
 * never having been attached; its bytes stay on disk while any live row names their SHA-256.
 * Attaching to and releasing from a message run inside the message's own transaction
 * (`attachFiles`, `releaseFiles`, used by MessageRepository). A user's live files count against
 * their storage quota, checked in the transaction that records a new one.
 */
import type { Kysely, Transaction } from 'kysely';
import type { DB, FileRow } from './schema.js';

/** Some files could not be attached inside the message's transaction: attached meanwhile, or deleted. */
export class AttachmentsTakenError extends Error {
  constructor() {
    super('a file was attached to another message or deleted meanwhile');
    this.name = 'AttachmentsTakenError';
  }
}

export class FileRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Total size of the user's live files, bytes. */
  async usedBytes(userId: string): Promise<number> {
    return usedBytes(this.db, userId);
  }

  /**
   * Records an upload unless the uploader's live files and this one would pass `quotaBytes`; then
   * nothing is written and the answer says how much they use already. The uploader's row is
   * locked first, so parallel uploads of one user count one after another and cannot both pass
   * (on SQLite the transaction holds the database's write lock from its start anyway).
   */
  async insertWithinQuota(row: FileRow, quotaBytes: number): Promise<{ stored: true } | { stored: false; usedBytes: number }> {
    return this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('users')
        .set((eb) => ({ role: eb.ref('role') }))
        .where('id', '=', row.uploader_id)
        .execute();
      const used = await usedBytes(trx, row.uploader_id);
      if (used + row.size > quotaBytes) return { stored: false as const, usedBytes: used };
      await trx.insertInto('files').values(row).execute();
      return { stored: true as const };
    });
  }

  /** Removes a row that never became usable (its bytes could not be stored). */
  async remove(id: string): Promise<void> {
    await this.db.deleteFrom('files').where('id', '=', id).execute();
  }

  byId(id: string): Promise<FileRow | undefined> {
    return this.db.selectFrom('files').selectAll().where('id', '=', id).executeTakeFirst();
  }

  byIds(ids: readonly string[]): Promise<FileRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('files').selectAll().where('id', 'in', ids).execute();
  }

  /** The distinct SHA-256s of a message's files, live or not. */
  async hashesOfMessage(messageId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('files').select('sha256').distinct().where('message_id', '=', messageId).execute();
    return rows.map((r) => r.sha256);
  }

  /**
   * Releases (as a message deletion does) up to `limit` files created before `createdBefore` and
   * never attached, and returns their hashes. A file attached meanwhile, or released by another
   * node's sweep at the same moment, fails the row's own conditions and is left alone: each file
   * is released once, and an attachment racing the sweep either wins or fails with CONFLICT.
   */
  async releaseUnattached(createdBefore: number, now: number, limit: number): Promise<{ released: number; hashes: string[] }> {
    const rows = await this.db
      .updateTable('files')
      .set({ deleted_at: now })
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('files as f')
          .select('f.id')
          .where('f.message_id', 'is', null)
          .where('f.deleted_at', 'is', null)
          .where('f.created_at', '<', createdBefore)
          .limit(limit),
      )
      .where('message_id', 'is', null)
      .where('deleted_at', 'is', null)
      .returning('sha256')
      .execute();
    return { released: rows.length, hashes: [...new Set(rows.map((r) => r.sha256))] };
  }

  /** Whether any live file still needs these bytes. */
  async isReferenced(sha256: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('files')
      .select('id')
      .where('sha256', '=', sha256)
      .where('deleted_at', 'is', null)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }
}

async function usedBytes(db: Kysely<DB>, userId: string): Promise<number> {
  const row = await db
    .selectFrom('files')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number | string>('size'), eb.lit(0)).as('used'))
    .where('uploader_id', '=', userId)
    .where('deleted_at', 'is', null)
    .executeTakeFirstOrThrow();
  // PostgreSQL sums bigint into numeric, which arrives as a string.
  return Number(row.used);
}

/**
 * Inside a message's transaction: attaches the files to the message, but only those still
 * unattached, live, uploaded by `uploaderId` into `roomId`. Throws AttachmentsTakenError (which
 * rolls the message back) unless every one of them was attached.
 */
export async function attachFiles(
  trx: Transaction<DB>,
  target: { messageId: string; roomId: string; uploaderId: string; fileIds: readonly string[] },
): Promise<void> {
  const result = await trx
    .updateTable('files')
    .set({ message_id: target.messageId })
    .where('id', 'in', target.fileIds)
    .where('room_id', '=', target.roomId)
    .where('uploader_id', '=', target.uploaderId)
    .where('message_id', 'is', null)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== target.fileIds.length) throw new AttachmentsTakenError();
}

/** Inside a message deletion's transaction: the message's files stop being served. */
export async function releaseFiles(trx: Transaction<DB>, messageId: string, now: number): Promise<void> {
  await trx.updateTable('files').set({ deleted_at: now }).where('message_id', '=', messageId).where('deleted_at', 'is', null).execute();
}
