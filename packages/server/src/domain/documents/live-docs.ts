/**
 * The documents this node holds in memory (PROTOCOL §5): each one a Yjs document and its
 * awareness, loaded from the database when first needed and dropped again once nobody has used
 * it for a while, so memory follows the documents in use, not the documents that exist.
 *
 * Durability: an update is appended to the log (several updates waiting together share one
 * commit) BEFORE it is applied here, so nobody — a client of this node, another node, the next
 * load — ever sees an edit that could still be lost. A load that fails serves nothing and stores
 * nothing: the state only ever grows by appended updates and by compactions that replace rows
 * with a snapshot containing them.
 *
 * Size: a document may not grow past `maxDocBytes` of encoded state. Each document keeps a cheap
 * upper bound of its size (the bytes loaded plus every update since); only when an update would
 * pass the limit by that bound is the state encoded to measure it exactly, and the update refused
 * (PAYLOAD_TOO_LARGE, nothing stored or applied) if it still would. Updates that only delete are
 * always accepted, so a full document can be trimmed.
 *
 * Background work per loaded document: compaction once the log holds `compactAfter` updates,
 * an automatic version at least every `versionIntervalMs` while it is edited (one node wins
 * each), and unloading after `idleMs` without users. With other nodes, also a resync every
 * `resyncMs`: the stored log (and a newer snapshot) applied again, which changes nothing unless
 * a relayed update never arrived — the relay between nodes is Redis pub/sub, which drops
 * messages while a node reconnects.
 */
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { Logger } from 'pino';
import { newId } from '../ids.js';
import { ErrorCode } from '@switchboard/protocol';
import { AppError, notFound } from '../errors.js';
import type { DocumentRepository, NewDocUpdate } from '../../store/documents.js';
import { compactState } from './updates.js';

/** Origin of updates and awareness changes that came from another node: they are not sent back. */
const REMOTE_ORIGIN = Symbol('remote');

/** How this node tells the other nodes of a deployment about updates and awareness changes. */
export interface DocumentPeers {
  publishUpdate(docId: string, update: Uint8Array): void;
  publishAwareness(docId: string, update: Uint8Array): void;
}

export interface LiveDocumentOptions {
  /** Updates in the log after which a document is compacted. */
  compactAfter: number;
  /** An automatic version at least this often while a document is edited, ms. */
  versionIntervalMs: number;
  /** A document nobody uses is unloaded after this long, ms. */
  idleMs: number;
  /** With other nodes: how often a loaded document applies the stored state again, ms. */
  resyncMs: number;
  /** Largest encoded state of a document, bytes; updates that would grow one past it are refused. */
  maxDocBytes: number;
}

/** One document in memory. */
export class LiveDoc {
  readonly doc = new Y.Doc();
  readonly awareness = new Awareness(this.doc);
  /** Connections and requests using it; unloaded only at 0. */
  holders = 0;
  idleSince = Date.now();
  /** Updates in the log, as far as this node knows (its own and the ones it heard of). */
  logRows = 0;
  /**
   * At least the size of the encoded state, bytes: exact when `sizeExact`, else the exact size
   * measured last plus every update applied since (merging never makes updates larger).
   */
  sizeBound = 0;
  sizeExact = false;
  /** Bytes of this node's updates being stored, not yet applied: counted against the limit too. */
  pendingBytes = 0;
  /** Edited since the latest automatic version. */
  edited = false;
  autoVersionAt = 0;
  compacting = false;
  /** The snapshot revision applied; a resync fetches the snapshot only when it changed. */
  snapshotRev = 0;
  resyncAt = Date.now();
  resyncing = false;

  constructor(readonly id: string) {
    // The server has no cursor of its own (as in the y-websocket server).
    this.awareness.setLocalState(null);
  }

  destroy(): void {
    this.awareness.destroy();
    this.doc.destroy();
  }
}

/** A document being loaded: what other nodes sent meanwhile is applied once it is there. */
interface Loading {
  promise: Promise<LiveDoc>;
  updates: Uint8Array[];
}

interface PendingAppend extends NewDocUpdate {
  resolve(): void;
  reject(err: unknown): void;
}

export class LiveDocuments {
  private readonly loaded = new Map<string, LiveDoc>();
  private readonly loading = new Map<string, Loading>();
  private peers: DocumentPeers | undefined;
  private pending: PendingAppend[] = [];
  private flushing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  /** Background work still running (for a clean shutdown). */
  private readonly background = new Set<Promise<void>>();

  constructor(
    private readonly repo: DocumentRepository,
    private readonly options: LiveDocumentOptions,
    private readonly log: Logger,
  ) {
    const tickMs = Math.max(50, Math.min(1000, options.idleMs / 4, options.versionIntervalMs / 4, options.resyncMs / 4));
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
  }

  /** Documents in memory now. */
  get size(): number {
    return this.loaded.size;
  }

  /** Sends this node's updates and awareness changes to the other nodes from now on. */
  share(peers: DocumentPeers): void {
    this.peers = peers;
  }

  /** The live document, loaded from the database if needed; `release` it when done. */
  async acquire(docId: string): Promise<LiveDoc> {
    const live = this.loaded.get(docId) ?? (await this.load(docId));
    live.holders++;
    return live;
  }

  release(live: LiveDoc): void {
    live.holders = Math.max(0, live.holders - 1);
    if (live.holders === 0) live.idleSince = Date.now();
  }

  /**
   * Stores `update` and then applies it with `origin`; the other nodes hear of it after it is
   * stored. Rejects (and applies nothing) when it cannot be stored.
   */
  async submit(live: LiveDoc, update: Uint8Array, origin: unknown): Promise<void> {
    this.admit(live, update);
    live.pendingBytes += update.length;
    try {
      await this.append(live.id, update);
    } finally {
      live.pendingBytes -= update.length;
    }
    live.logRows++;
    live.edited = true;
    this.grew(live, update.length);
    Y.applyUpdate(live.doc, update, origin);
    this.peers?.publishUpdate(live.id, update);
  }

  /** Throws PAYLOAD_TOO_LARGE when `update` would grow `live` past the size limit. */
  private admit(live: LiveDoc, update: Uint8Array): void {
    const max = this.options.maxDocBytes;
    const fits = () => live.sizeBound + live.pendingBytes + update.length <= max;
    if (fits()) return;
    if (!live.sizeExact) {
      live.sizeBound = Y.encodeStateAsUpdate(live.doc).length;
      live.sizeExact = true;
      if (fits()) return;
    }
    // Deleting adds a few bytes to the log, and frees the content once compacted.
    if (Y.decodeUpdate(update).structs.length === 0) return;
    throw new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `the document is at its size limit of ${max} bytes`);
  }

  private grew(live: LiveDoc, bytes: number): void {
    live.sizeBound += bytes;
    live.sizeExact = false;
  }

  /** An update another node stored: applied if the document is here (or being loaded). */
  remoteUpdate(docId: string, update: Uint8Array): void {
    const live = this.loaded.get(docId);
    if (live) {
      live.logRows++;
      live.edited = true;
      this.grew(live, update.length);
      Y.applyUpdate(live.doc, update, REMOTE_ORIGIN);
      return;
    }
    this.loading.get(docId)?.updates.push(update);
  }

  /** An awareness change from another node. */
  remoteAwareness(docId: string, update: Uint8Array): void {
    const live = this.loaded.get(docId);
    if (!live) return;
    try {
      applyAwarenessUpdate(live.awareness, update, REMOTE_ORIGIN);
    } catch (err) {
      this.log.warn({ err, docId }, 'malformed awareness update from another node');
    }
  }

  /** Forgets a deleted document at once (its users are gone). */
  drop(docId: string): void {
    const live = this.loaded.get(docId);
    if (!live) return;
    this.loaded.delete(docId);
    live.destroy();
  }

  /** Stops the background work and waits for what is running; the documents leave memory. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    await Promise.allSettled([...this.background]);
    for (const live of this.loaded.values()) live.destroy();
    this.loaded.clear();
  }

  private load(docId: string): Promise<LiveDoc> {
    const existing = this.loading.get(docId);
    if (existing) return existing.promise;
    const entry: Loading = { promise: Promise.resolve(undefined as never), updates: [] };
    entry.promise = (async () => {
      try {
        const stored = await this.repo.load(docId);
        if (!stored) throw notFound('document');
        const live = new LiveDoc(docId);
        live.doc.transact(() => {
          if (stored.snapshot) Y.applyUpdate(live.doc, stored.snapshot);
          for (const { data } of stored.updates) Y.applyUpdate(live.doc, data);
          for (const update of entry.updates) Y.applyUpdate(live.doc, update);
        }, REMOTE_ORIGIN);
        live.logRows = stored.updates.length;
        live.sizeBound = [stored.snapshot, ...stored.updates.map((u) => u.data), ...entry.updates].reduce((sum, u) => sum + (u?.length ?? 0), 0);
        live.autoVersionAt = stored.autoVersionAt;
        live.snapshotRev = stored.snapshotRev;
        this.watchAwareness(live);
        this.loaded.set(docId, live);
        return live;
      } finally {
        this.loading.delete(docId);
      }
    })();
    this.loading.set(docId, entry);
    return entry.promise;
  }

  private watchAwareness(live: LiveDoc): void {
    live.awareness.on('update', ({ added, updated, removed }: AwarenessChange, origin: unknown) => {
      if (origin === REMOTE_ORIGIN || !this.peers) return;
      this.peers.publishAwareness(live.id, encodeAwarenessUpdate(live.awareness, [...added, ...updated, ...removed]));
    });
  }

  /** Appends with the other updates waiting: one transaction per batch. */
  private append(docId: string, data: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ docId, data, resolve, reject });
      this.flushing ??= this.flush().finally(() => (this.flushing = undefined));
    });
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        await this.repo.appendUpdates(batch, Date.now());
        for (const item of batch) item.resolve();
      } catch (err) {
        for (const item of batch) item.reject(err);
      }
    }
  }

  private tick(): void {
    const now = Date.now();
    for (const live of [...this.loaded.values()]) {
      if (live.logRows >= this.options.compactAfter && !live.compacting) this.run(this.compact(live), live, 'compaction');
      if (live.edited && now - live.autoVersionAt >= this.options.versionIntervalMs) {
        live.edited = false;
        this.run(this.autoVersion(live.id, live.autoVersionAt, Y.encodeStateAsUpdate(live.doc), live), live, 'automatic version');
      }
      if (this.peers && now - live.resyncAt >= this.options.resyncMs && !live.resyncing) this.run(this.resync(live), live, 'resync');
      if (live.holders === 0 && now - live.idleSince >= this.options.idleMs && !live.compacting) this.unload(live);
    }
  }

  private run(work: Promise<void>, live: LiveDoc, what: string): void {
    const tracked = work.catch((err: unknown) => this.log.warn({ err, docId: live.id }, `document ${what} failed`));
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }

  /** Leaves memory; an edit not yet in a version gets one, from the state it leaves with. */
  private unload(live: LiveDoc): void {
    this.loaded.delete(live.id);
    if (live.edited) this.run(this.autoVersion(live.id, live.autoVersionAt, Y.encodeStateAsUpdate(live.doc)), live, 'automatic version');
    live.destroy();
  }

  /** Merges the stored state, read afresh, into a new snapshot and deletes the rows it merged. */
  private async compact(live: LiveDoc): Promise<void> {
    live.compacting = true;
    try {
      const stored = await this.repo.load(live.id);
      if (!stored) return;
      const snapshot = compactState(stored.snapshot, stored.updates.map((u) => u.data));
      const written = await this.repo.compact(live.id, stored.snapshotRev, snapshot, stored.updates.map((u) => u.seq));
      if (written) live.snapshotRev = stored.snapshotRev + 1;
      // Lost to another node's compaction: that one merged these rows, or the next one will.
      live.logRows = Math.max(0, live.logRows - (written ? stored.updates.length : live.logRows));
    } finally {
      live.compacting = false;
    }
  }

  /** Applies the stored state again: whatever the relay from other nodes missed arrives now. */
  private async resync(live: LiveDoc): Promise<void> {
    live.resyncing = true;
    try {
      const stored = await this.repo.load(live.id, live.snapshotRev);
      // Unloaded or dropped meanwhile: nothing to bring up to date.
      if (!stored || this.loaded.get(live.id) !== live) return;
      const before = Y.encodeStateVector(live.doc);
      live.doc.transact(() => {
        if (stored.snapshot) Y.applyUpdate(live.doc, stored.snapshot);
        for (const { data } of stored.updates) Y.applyUpdate(live.doc, data);
      }, REMOTE_ORIGIN);
      // Updates whose relay was lost arrived: the size bound did not count them, so measure again.
      if (!Buffer.from(before).equals(Y.encodeStateVector(live.doc))) {
        live.sizeBound = Y.encodeStateAsUpdate(live.doc).length;
        live.sizeExact = true;
      }
      live.snapshotRev = stored.snapshotRev;
      live.logRows = stored.updates.length;
    } finally {
      live.resyncing = false;
      live.resyncAt = Date.now();
    }
  }

  /** Stores an automatic version, unless another node took the one due after `previousAt`. */
  private async autoVersion(docId: string, previousAt: number, state: Uint8Array, live?: LiveDoc): Promise<void> {
    const now = Date.now();
    if (!(await this.repo.claimAutoVersion(docId, previousAt, now))) {
      if (live) {
        live.autoVersionAt = (await this.repo.autoVersionAt(docId)) ?? now;
        live.edited = true;
      }
      return;
    }
    if (live) live.autoVersionAt = now;
    await this.repo.insertVersion({ id: newId(), doc_id: docId, name: null, created_at: now, created_by: null, state });
  }
}

interface AwarenessChange {
  added: number[];
  updated: number[];
  removed: number[];
}
