/**
 * Documents, their update log and their versions (PROTOCOL §5). A document's Yjs state is its
 * `snapshot` plus every row of `doc_updates` for it. Updates are only ever appended; compaction
 * merges rows into the snapshot and deletes exactly the rows it merged, guarded by `snapshot_rev`,
 * so two nodes compacting at once, or a row committed late, never lose an update.
 */
import type { Kysely } from 'kysely';
import type { DB, DocRow, DocVersionRow } from './schema.js';

/** A document's metadata as the HTTP API shows it (no Yjs state). */
export type DocMeta = Omit<DocRow, 'snapshot' | 'snapshot_rev' | 'auto_version_at'>;
export type DocVersionMeta = Omit<DocVersionRow, 'state'>;

/** One update to append. */
export interface NewDocUpdate {
  docId: string;
  data: Uint8Array;
}

/** Everything stored of a document's state: load it by applying the snapshot, then every update. */
export interface StoredDocState {
  /** Null before the first compaction, or when the caller already has this revision. */
  snapshot: Uint8Array | null;
  snapshotRev: number;
  /** When the latest automatic version was taken, ms (0: never). */
  autoVersionAt: number;
  updates: { seq: number; data: Uint8Array }[];
}

/** Rows per statement, far below both dialects' parameter limits. */
const CHUNK = 500;

const META_COLUMNS = ['id', 'room_id', 'title', 'created_by', 'created_at', 'updated_at', 'deleted_at'] as const;
const VERSION_META_COLUMNS = ['id', 'doc_id', 'name', 'created_at', 'created_by'] as const;

/** better-sqlite3 binds Buffers only; pg takes them too. A view, never a copy. */
const toBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export class DocumentRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async create(doc: DocMeta): Promise<void> {
    await this.db.insertInto('docs').values(doc).execute();
  }

  /** The document, deleted or not. */
  byId(id: string): Promise<DocMeta | undefined> {
    return this.db.selectFrom('docs').select(META_COLUMNS).where('id', '=', id).executeTakeFirst();
  }

  /** The room's documents that are not deleted, newest first. */
  listForRoom(roomId: string): Promise<DocMeta[]> {
    return this.db
      .selectFrom('docs')
      .select(META_COLUMNS)
      .where('room_id', '=', roomId)
      .where('deleted_at', 'is', null)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
  }

  /** Renames a live document; undefined when it is deleted or unknown. */
  rename(id: string, title: string, now: number): Promise<DocMeta | undefined> {
    return this.db
      .updateTable('docs')
      .set({ title, updated_at: now })
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .returning(META_COLUMNS)
      .executeTakeFirst();
  }

  /** Marks a live document deleted; undefined when it already was (or is unknown). */
  markDeleted(id: string, now: number): Promise<DocMeta | undefined> {
    return this.db
      .updateTable('docs')
      .set({ deleted_at: now, updated_at: now })
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .returning(META_COLUMNS)
      .executeTakeFirst();
  }

  /** Appends updates (of any documents) in one transaction: one commit, one fsync on SQLite. */
  async appendUpdates(updates: readonly NewDocUpdate[], now: number): Promise<void> {
    if (updates.length === 0) return;
    const rows = updates.map((u) => ({ doc_id: u.docId, data: toBuffer(u.data), created_at: now }));
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < rows.length; i += CHUNK) {
        await trx.insertInto('doc_updates').values(rows.slice(i, i + CHUNK)).execute();
      }
    });
  }

  /**
   * The stored state; with `knownRev`, the snapshot is left out (null) while it is still that
   * revision. The log is read before the snapshot: a compaction committed in between only moves
   * rows already read into the newer snapshot, so nothing stored before this call is missed
   * (reading the snapshot first could miss rows compacted away after it was read).
   */
  async load(docId: string, knownRev?: number): Promise<StoredDocState | undefined> {
    const updates = await this.db
      .selectFrom('doc_updates')
      .select(['seq', 'data'])
      .where('doc_id', '=', docId)
      .orderBy('seq')
      .execute();
    const doc = await this.db.selectFrom('docs').select(['snapshot_rev', 'auto_version_at']).where('id', '=', docId).executeTakeFirst();
    if (!doc) return undefined;
    let snapshot: Uint8Array | null = null;
    if (doc.snapshot_rev !== knownRev) {
      const row = await this.db.selectFrom('docs').select('snapshot').where('id', '=', docId).executeTakeFirst();
      snapshot = row?.snapshot ?? null;
    }
    return { snapshot, snapshotRev: doc.snapshot_rev, autoVersionAt: doc.auto_version_at, updates };
  }

  /**
   * Replaces the snapshot with `snapshot` (which must contain the old one and the updates
   * `mergedSeqs`) and deletes those updates, unless another compaction moved `snapshot_rev` since
   * `rev` was read. Returns whether it was written.
   */
  async compact(docId: string, rev: number, snapshot: Uint8Array, mergedSeqs: readonly number[]): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('docs')
        .set({ snapshot: toBuffer(snapshot), snapshot_rev: rev + 1 })
        .where('id', '=', docId)
        .where('snapshot_rev', '=', rev)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return false;
      for (let i = 0; i < mergedSeqs.length; i += CHUNK) {
        await trx
          .deleteFrom('doc_updates')
          .where('doc_id', '=', docId)
          .where('seq', 'in', mergedSeqs.slice(i, i + CHUNK))
          .execute();
      }
      return true;
    });
  }

  /** Of `userIds`, those who are members of the room. */
  async membersAmong(roomId: string, userIds: readonly string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const rows = await this.db
      .selectFrom('memberships')
      .select('user_id')
      .where('room_id', '=', roomId)
      .where('user_id', 'in', userIds)
      .execute();
    return new Set(rows.map((r) => r.user_id));
  }

  async insertVersion(version: DocVersionRow): Promise<void> {
    await this.db
      .insertInto('doc_versions')
      .values({ ...version, state: toBuffer(version.state) })
      .execute();
  }

  /**
   * Takes the right to store the next automatic version: true for exactly one caller (on any
   * node) that saw `previousAt`.
   */
  async claimAutoVersion(docId: string, previousAt: number, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('docs')
      .set({ auto_version_at: now })
      .where('id', '=', docId)
      .where('auto_version_at', '=', previousAt)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async autoVersionAt(docId: string): Promise<number | undefined> {
    const row = await this.db.selectFrom('docs').select('auto_version_at').where('id', '=', docId).executeTakeFirst();
    return row?.auto_version_at;
  }

  /** The document's versions, newest first. */
  listVersions(docId: string): Promise<DocVersionMeta[]> {
    return this.db
      .selectFrom('doc_versions')
      .select(VERSION_META_COLUMNS)
      .where('doc_id', '=', docId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
  }

  version(docId: string, versionId: string): Promise<DocVersionRow | undefined> {
    return this.db
      .selectFrom('doc_versions')
      .selectAll()
      .where('doc_id', '=', docId)
      .where('id', '=', versionId)
      .executeTakeFirst();
  }
}
