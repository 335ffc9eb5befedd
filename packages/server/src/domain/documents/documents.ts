/**
 * Documents (PROTOCOL §5): they belong to a room, and its members — nobody else — read, edit,
 * rename, delete and version them. Every check of who may do what to a document is here, for
 * HTTP and for the `/collab` WebSocket alike; changes are published as `doc.changed`.
 */
import type { Doc, DocChangedEvent, DocCreateInput, DocVersion, DocVersionCreateInput } from '@switchboard/protocol';
import type { EventBus } from '../bus.js';
import { notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { RoomService } from '../rooms.js';
import type { DocMeta, DocumentRepository, DocVersionMeta } from '../../store/documents.js';
import type { DocVersionRow } from '../../store/schema.js';
import * as Y from 'yjs';
import type { LiveDoc, LiveDocuments } from './live-docs.js';
import { editToText, textOf } from './updates.js';

/** Origin of the edit a restore makes. */
const RESTORE_ORIGIN = Symbol('restore');

function toDoc(row: DocMeta): Doc {
  return {
    id: row.id,
    roomId: row.room_id,
    title: row.title,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toVersion(row: DocVersionMeta): DocVersion {
  return { id: row.id, docId: row.doc_id, name: row.name, createdAt: row.created_at, createdBy: row.created_by };
}

export class DocumentService {
  constructor(
    private readonly repo: DocumentRepository,
    private readonly rooms: RoomService,
    readonly live: LiveDocuments,
    private readonly bus: EventBus,
    /** Whether a login is still active (store/users.ts `SessionRepository.isActive`). */
    private readonly sessionActive: (sessionId: string) => Promise<boolean>,
  ) {}

  /**
   * The document, for a member of its room: NOT_FOUND when it does not exist, FORBIDDEN for
   * anyone outside its room, then NOT_FOUND when it is deleted (PROTOCOL §5's order).
   */
  async readable(userId: string, docId: string): Promise<Doc> {
    const row = await this.repo.byId(docId);
    if (!row) throw notFound('document');
    await this.rooms.requireMember(userId, row.room_id);
    if (row.deleted_at !== null) throw notFound('document');
    return toDoc(row);
  }

  /**
   * Of the logins holding a document open, which may no longer: whether the document is deleted,
   * which users left its room, which logins ended. The events that close such connections at once
   * cross nodes over Redis pub/sub, which can drop them; this check is what makes them certain.
   */
  async revoked(
    docId: string,
    holders: readonly { userId: string; sessionId: string }[],
  ): Promise<{ deleted: boolean; nonMembers: Set<string>; endedSessions: Set<string> }> {
    const row = await this.repo.byId(docId);
    const userIds = [...new Set(holders.map((h) => h.userId))];
    const sessionIds = [...new Set(holders.map((h) => h.sessionId))];
    const members = row ? await this.repo.membersAmong(row.room_id, userIds) : new Set<string>();
    const active = await Promise.all(sessionIds.map((id) => this.sessionActive(id)));
    return {
      deleted: !row || row.deleted_at !== null,
      nonMembers: new Set(userIds.filter((id) => !members.has(id))),
      endedSessions: new Set(sessionIds.filter((_, i) => !active[i])),
    };
  }

  async create(userId: string, roomId: string, input: DocCreateInput): Promise<Doc> {
    await this.rooms.requireMember(userId, roomId);
    // An archived room is read-only (PROTOCOL §4.3): no new documents, renames or restores in it.
    await this.rooms.assertWritable(roomId);
    const now = Date.now();
    const row: DocMeta = { id: newId(), room_id: roomId, title: input.title, created_by: userId, created_at: now, updated_at: now, deleted_at: null };
    await this.repo.create(row);
    return this.changed(toDoc(row), 'created');
  }

  async list(userId: string, roomId: string): Promise<Doc[]> {
    await this.rooms.requireMember(userId, roomId);
    return (await this.repo.listForRoom(roomId)).map(toDoc);
  }

  async rename(userId: string, docId: string, title: string): Promise<Doc> {
    await this.rooms.assertWritable((await this.readable(userId, docId)).roomId);
    const row = await this.repo.rename(docId, title, Date.now());
    if (!row) throw notFound('document');
    return this.changed(toDoc(row), 'renamed');
  }

  /** Deletes the document; its open connections are closed by the transport on `doc.changed`. */
  async delete(userId: string, docId: string): Promise<void> {
    await this.readable(userId, docId);
    const row = await this.repo.markDeleted(docId, Date.now());
    if (!row) throw notFound('document');
    this.changed(toDoc(row), 'deleted');
    this.live.drop(docId);
  }

  async versions(userId: string, docId: string): Promise<DocVersion[]> {
    await this.readable(userId, docId);
    return (await this.repo.listVersions(docId)).map(toVersion);
  }

  /** A named version of the document as it is now (as stored: the live state holds nothing else). */
  async createVersion(userId: string, docId: string, input: DocVersionCreateInput): Promise<DocVersion> {
    await this.readable(userId, docId);
    const state = await this.withLive(docId, (live) => Y.encodeStateAsUpdate(live.doc));
    const row: DocVersionRow = { id: newId(), doc_id: docId, name: input?.name ?? null, created_at: Date.now(), created_by: userId, state };
    await this.repo.insertVersion(row);
    return toVersion(row);
  }

  async version(userId: string, docId: string, versionId: string): Promise<{ version: DocVersion; text: string }> {
    await this.readable(userId, docId);
    const row = await this.repo.version(docId, versionId);
    if (!row) throw notFound('version');
    return { version: toVersion(row), text: textOf(row.state) };
  }

  /**
   * Makes `content` the version's text again, as a new edit of the live document: stored, then
   * applied and sent to every open client like any other edit. History keeps everything.
   */
  async restore(userId: string, docId: string, versionId: string): Promise<DocVersion> {
    await this.rooms.assertWritable((await this.readable(userId, docId)).roomId);
    const row = await this.repo.version(docId, versionId);
    if (!row) throw notFound('version');
    const target = textOf(row.state);
    await this.withLive(docId, async (live) => {
      const edit = editToText(live.doc, target);
      if (edit) await this.live.submit(live, edit, RESTORE_ORIGIN);
    });
    return toVersion(row);
  }

  private async withLive<T>(docId: string, work: (live: LiveDoc) => T | Promise<T>): Promise<T> {
    const live = await this.live.acquire(docId);
    try {
      return await work(live);
    } finally {
      this.live.release(live);
    }
  }

  private changed(doc: Doc, action: DocChangedEvent['action']): Doc {
    this.bus.publish('doc.changed', { roomId: doc.roomId, doc, action });
    return doc;
  }
}
