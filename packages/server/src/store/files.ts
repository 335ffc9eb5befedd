/**
 * File rows: one per upload, pointing at content-addressed bytes (store/blobs.ts). A file is
 * live until the message it is attached to is deleted; its bytes stay on disk while any live
 * row names their SHA-256. Attaching to and releasing from a message run inside the message's
 * own transaction (`attachFiles`, `releaseFiles`, used by MessageRepository).
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

  async insert(row: FileRow): Promise<void> {
    await this.db.insertInto('files').values(row).execute();
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
