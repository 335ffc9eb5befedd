/**
 * `/collab/:docId?token=…` (PROTOCOL §5): the y-websocket protocol on a plain WebSocket, so the
 * stock `WebsocketProvider` and every y-protocols client connect unmodified.
 *
 * The upgrade is authorized before any byte of the document is sent: 401 (no or bad token), 403
 * (not a member of the document's room), 404 (no such document). After it, the connection speaks
 * sync and awareness as the y-websocket server does: the server sends sync step 1 and the
 * awareness states it knows, answers step 1 with step 2, relays updates and awareness changes to
 * the document's other clients, and removes a closed connection's awareness states. A connection
 * changes only the awareness states it introduced (collab-awareness.ts). Updates are
 * stored before they are applied or relayed (domain/documents/live-docs.ts).
 *
 * Every frame is parsed whole before anything is done with it: a malformed one (a text frame, an
 * unknown message type, a truncated or oversized length, trailing bytes, an update Yjs cannot
 * integrate) closes the connection with 4400 and changes nothing; an update that would grow the
 * document past COLLAB_MAX_DOC_BYTES, with 4413. Frames of one connection are
 * handled one after another; while too many wait, or while its unsent data is above
 * MAX_SOCKET_BUFFER_BYTES, the connection is not read (PROTOCOL §2).
 *
 * A document of an archived room is read-only: it loads and syncs as usual, but a frame carrying an
 * update (sync step 2 or update with content) is dropped and its connection closed with 4403 — the
 * y-websocket protocol has no way to refuse one update and go on. An archive while connected takes
 * effect at once: the node where it happened marks its connections read-only and tells the others.
 *
 * A member who leaves the room (4403), a deleted document (4404) and an ended login (4401) close
 * the connections concerned on every node: the node where it happened tells the others, and as
 * that message can be lost (Redis pub/sub), each node also checks its connections again every
 * COLLAB_RESYNC_S.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { CollabCloseCode, CollabMessageType, DocParams, ErrorCode, HttpStatus } from '@switchboard/protocol';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness';
import * as sync from 'y-protocols/sync';
import type { AuthService, Principal } from '../domain/auth.js';
import type { EventBus } from '../domain/bus.js';
import type { DocumentService } from '../domain/documents/documents.js';
import type { LiveDoc } from '../domain/documents/live-docs.js';
import { isValidStateVector, updateKind } from '../domain/documents/updates.js';
import { AppError, notFound, toWireError, unauthenticated } from '../domain/errors.js';
import type { NodeMetrics } from '../domain/monitoring/metrics.js';
import { AwarenessOwners, encodeAwarenessEntries, parseAwarenessUpdate, type AwarenessEntry } from './collab-awareness.js';
import { originAllowed, type OriginPolicy } from './io.js';
import { SendBudget, type BudgetedConnection, type SendBudgetOptions } from './send-budget.js';
import type { CollabCloseTarget, IoServer } from './types.js';
import type { UpgradeRouter } from './upgrade.js';

const PREFIX = '/collab/';

/** Frames of one connection waiting to be handled before it is no longer read. */
const MAX_BACKLOG = 32;

/** A frame, parsed whole. */
type Frame =
  | { kind: 'step1'; stateVector: Uint8Array }
  /** Sync step 2 or an update: both carry a Yjs update. */
  | { kind: 'update'; update: Uint8Array }
  | { kind: 'awareness'; entries: AwarenessEntry[] }
  | { kind: 'query' };

/** The frame, or undefined when it is malformed in any way. */
function parseFrame(bytes: Uint8Array): Frame | undefined {
  try {
    const decoder = decoding.createDecoder(bytes);
    let frame: Frame;
    switch (decoding.readVarUint(decoder)) {
      case CollabMessageType.sync: {
        const subtype = decoding.readVarUint(decoder);
        const payload = decoding.readVarUint8Array(decoder);
        if (subtype === sync.messageYjsSyncStep1) frame = { kind: 'step1', stateVector: payload };
        else if (subtype === sync.messageYjsSyncStep2 || subtype === sync.messageYjsUpdate) frame = { kind: 'update', update: payload };
        else return undefined;
        break;
      }
      case CollabMessageType.awareness: {
        frame = { kind: 'awareness', entries: parseAwarenessUpdate(decoding.readVarUint8Array(decoder)) };
        break;
      }
      case CollabMessageType.queryAwareness:
        frame = { kind: 'query' };
        break;
      default:
        return undefined;
    }
    return decoding.hasContent(decoder) ? undefined : frame;
  } catch {
    return undefined;
  }
}

function syncMessage(write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, CollabMessageType.sync);
  write(encoder);
  return encoding.toUint8Array(encoder);
}

function awarenessMessage(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, CollabMessageType.awareness);
  encoding.writeVarUint8Array(encoder, update);
  return encoding.toUint8Array(encoder);
}

/** One client connection to one document; it is its own send budget's connection (no closures per connection). */
class CollabConnection implements BudgetedConnection {
  live: LiveDoc | undefined;
  /** Frames are handled in order, each after the previous one. */
  turn: Promise<void> = Promise.resolve();
  backlog = 0;
  closing = false;
  /** The document's room is archived: updates from this client are refused. */
  readOnly = false;
  private paused = false;
  readonly budget: SendBudget;

  constructor(
    readonly ws: WebSocket,
    readonly principal: Principal,
    readonly docId: string,
    readonly roomId: string,
    budgetOptions: SendBudgetOptions,
    private readonly log: Logger,
  ) {
    this.budget = new SendBudget(this, budgetOptions);
  }

  unsentBytes(): number {
    return this.ws.bufferedAmount;
  }

  pause(): void {
    this.updateReading();
  }

  resume(): void {
    this.updateReading();
  }

  /** The client does not read: terminated at once, without a close handshake it would not read either. */
  close(reason: 'stalled' | 'overflow', unsentBytes: number): void {
    this.log.warn({ reason, unsentBytes, docId: this.docId }, 'collab connection closed: its client is not reading');
    this.closing = true;
    this.ws.terminate();
  }

  send(bytes: Uint8Array): void {
    if (this.closing || this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(bytes);
    this.budget.check();
  }

  /** A protocol close: the client learns why. */
  end(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.ws.close(code, reason);
  }

  /** Reads the client only while it reads us and its frames do not pile up. */
  updateReading(): void {
    const pause = this.budget.paused || this.backlog > MAX_BACKLOG;
    if (pause === this.paused) return;
    this.paused = pause;
    if (pause) this.ws.pause();
    else this.ws.resume();
  }
}

/**
 * The connections of one document on this node, and the listeners relaying its changes to them:
 * one object per open document, its listeners bound methods rather than closures over a scope.
 */
class Channel {
  readonly conns = new Set<CollabConnection>();
  /** Which connection owns which awareness client id (collab-awareness.ts). */
  readonly owners = new AwarenessOwners<CollabConnection>();
  private readonly onUpdate = this.relayUpdate.bind(this);
  private readonly onAwareness = this.relayAwareness.bind(this);

  constructor(readonly live: LiveDoc) {
    live.doc.on('update', this.onUpdate);
    live.awareness.on('update', this.onAwareness);
  }

  stop(): void {
    this.live.doc.off('update', this.onUpdate);
    this.live.awareness.off('update', this.onAwareness);
  }

  private relayUpdate(update: Uint8Array, origin: unknown): void {
    const message = syncMessage((encoder) => sync.writeUpdate(encoder, update));
    for (const conn of this.conns) if (conn !== origin) conn.send(message);
  }

  private relayAwareness({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }): void {
    const message = awarenessMessage(encodeAwarenessUpdate(this.live.awareness, [...added, ...updated, ...removed]));
    for (const conn of this.conns) conn.send(message);
  }
}

export interface CollabDeps {
  upgrades: UpgradeRouter;
  auth: AuthService;
  documents: DocumentService;
  bus: EventBus;
  log: Logger;
  origins: OriginPolicy;
  /** Largest frame, bytes (COLLAB_MAX_FRAME_BYTES). */
  maxFrameBytes: number;
  /** MAX_SOCKET_BUFFER_BYTES. */
  sendLimitBytes: number;
  metrics?: NodeMetrics | undefined;
  /** The Socket.IO server, when there are other processes to tell (multi-node or cluster mode). */
  peers?: IoServer | undefined;
  /** In a cluster worker: counts each connection in the primary's balancing; returns its uncount. */
  countConnection?: (() => () => void) | undefined;
  /** With peers: how often the connections of each open document are checked again, ms (COLLAB_RESYNC_S). */
  auditMs: number;
  /** Whether a room is archived (its documents read-only), read fresh from the database. */
  roomArchived: (roomId: string) => Promise<boolean>;
}

export interface Collab {
  /** Refuses new connections (503) and closes every open one with 1001. */
  drain(): void;
  close(): Promise<void>;
}

const toBase64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
const fromBase64 = (text: string) => new Uint8Array(Buffer.from(text, 'base64'));

/**
 * Module-level on purpose: a listener created inside the upgrade handler would share its closure
 * scope, and so keep the upgrade request (headers, the token in its URL) and its read buffer alive
 * for as long as the connection lasts.
 */
const ignoreError = () => undefined;

function refuse(socket: Duplex, status: number): void {
  if (socket.destroyed) return;
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

export function setupCollab(deps: CollabDeps): Collab {
  const { auth, documents, log, metrics, peers } = deps;
  const live = documents.live;
  const wss = new WebSocketServer({ noServer: true, maxPayload: deps.maxFrameBytes, perMessageDeflate: false, clientTracking: false });
  const conns = new Set<CollabConnection>();
  const channels = new Map<string, Channel>();
  const budgetOptions: SendBudgetOptions = { limitBytes: deps.sendLimitBytes };
  let draining = false;

  function openChannel(docLive: LiveDoc): Channel {
    let channel = channels.get(docLive.id);
    if (!channel) channels.set(docLive.id, (channel = new Channel(docLive)));
    return channel;
  }

  async function handle(conn: CollabConnection, bytes: Uint8Array): Promise<void> {
    const docLive = conn.live;
    if (conn.closing || !docLive) return;
    const frame = parseFrame(bytes);
    if (!frame) return conn.end(CollabCloseCode.malformed, 'malformed frame');
    switch (frame.kind) {
      case 'step1':
        if (!isValidStateVector(frame.stateVector)) return conn.end(CollabCloseCode.malformed, 'malformed state vector');
        conn.send(syncMessage((encoder) => sync.writeSyncStep2(encoder, docLive.doc, frame.stateVector)));
        return;
      case 'update': {
        const kind = updateKind(frame.update);
        if (kind === 'invalid') return conn.end(CollabCloseCode.malformed, 'malformed update');
        if (kind === 'empty') return;
        if (conn.readOnly) return conn.end(CollabCloseCode.forbidden, 'the room is archived: its documents are read-only');
        try {
          await live.submit(docLive, frame.update, conn);
        } catch (err) {
          if (err instanceof AppError && err.code === ErrorCode.PAYLOAD_TOO_LARGE) return conn.end(CollabCloseCode.tooLarge, err.message);
          log.error({ err, docId: conn.docId }, 'could not store a document update');
          conn.end(CollabCloseCode.unavailable, 'the update could not be stored; reconnect');
        }
        return;
      }
      case 'awareness': {
        const owners = channels.get(conn.docId)?.owners;
        if (!owners) return;
        const permitted = owners.permitted(conn, frame.entries, (id) => docLive.awareness.getStates().has(id));
        if (permitted.length > 0) applyAwarenessUpdate(docLive.awareness, encodeAwarenessEntries(permitted), conn);
        return;
      }
      case 'query': {
        const ids = [...docLive.awareness.getStates().keys()];
        if (ids.length > 0) conn.send(awarenessMessage(encodeAwarenessUpdate(docLive.awareness, ids)));
        return;
      }
    }
  }

  function enqueue(conn: CollabConnection, bytes: Uint8Array): void {
    conn.backlog++;
    conn.updateReading();
    conn.turn = conn.turn
      .then(() => handle(conn, bytes))
      .catch((err: unknown) => {
        log.error({ err, docId: conn.docId }, 'collab frame failed');
        conn.end(CollabCloseCode.unavailable, 'internal error');
      })
      .finally(() => {
        conn.backlog--;
        conn.updateReading();
      });
  }

  async function start(conn: CollabConnection): Promise<void> {
    const docLive = await live.acquire(conn.docId);
    if (conn.closing) {
      live.release(docLive);
      return;
    }
    conn.live = docLive;
    openChannel(docLive).conns.add(conn);
    conn.send(syncMessage((encoder) => sync.writeSyncStep1(encoder, docLive.doc)));
    const ids = [...docLive.awareness.getStates().keys()];
    if (ids.length > 0) conn.send(awarenessMessage(encodeAwarenessUpdate(docLive.awareness, ids)));
  }

  function finish(conn: CollabConnection): void {
    if (!conns.delete(conn)) return;
    conn.closing = true;
    conn.budget.dispose();
    metrics?.onSocketDisconnected('/collab', conn.principal.userId);
    const docLive = conn.live;
    if (!docLive) return;
    const channel = channels.get(conn.docId);
    channel?.conns.delete(conn);
    const awarenessIds = channel?.owners.release(conn) ?? [];
    if (awarenessIds.length > 0) removeAwarenessStates(docLive.awareness, awarenessIds, null);
    if (channel && channel.conns.size === 0) {
      channel.stop();
      channels.delete(conn.docId);
    }
    live.release(docLive);
  }

  function connected(ws: WebSocket, principal: Principal, docId: string, roomId: string, readOnly: boolean): void {
    const conn = new CollabConnection(ws, principal, docId, roomId, budgetOptions, log);
    conn.readOnly = readOnly;
    conns.add(conn);
    // With `pid` in every line, this tells which process of a cluster serves whom.
    log.debug({ docId, userId: principal.userId }, 'collab connected');
    metrics?.onSocketConnected('/collab', principal.userId);
    const uncount = deps.countConnection?.();
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) return conn.end(CollabCloseCode.malformed, 'text frames are not part of the protocol');
      enqueue(conn, toBytes(data));
    });
    ws.on('close', () => {
      uncount?.();
      finish(conn);
    });
    ws.on('error', (err) => log.debug({ err, docId }, 'collab connection error'));
    conn.turn = start(conn).catch((err: unknown) => {
      // Nothing of the document was sent, and nothing is stored: the client reconnects later.
      log.error({ err, docId }, 'could not load a document');
      metrics?.onError({ code: ErrorCode.UNAVAILABLE, event: 'collab:load', message: 'could not load a document' });
      conn.end(CollabCloseCode.unavailable, 'the document could not be loaded; reconnect');
    });
  }

  async function authorize(req: IncomingMessage): Promise<{ principal: Principal; docId: string; roomId: string; readOnly: boolean }> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const token = url.searchParams.get('token');
    if (!token) throw unauthenticated('missing token');
    const principal = await auth.verify(token);
    const params = DocParams.safeParse({ docId: url.pathname.slice(PREFIX.length) });
    if (!params.success) throw notFound('document');
    const doc = await documents.readable(principal.userId, params.data.docId);
    return { principal, docId: doc.id, roomId: doc.roomId, readOnly: await deps.roomArchived(doc.roomId) };
  }

  deps.upgrades.add(PREFIX, (req, socket, head) => {
    socket.on('error', ignoreError); // a client that gives up while it is authorized
    if (!originAllowed(deps.origins, req)) return refuse(socket, HttpStatus.FORBIDDEN);
    if (draining) return refuse(socket, HttpStatus.UNAVAILABLE);
    authorize(req).then(
      ({ principal, docId, roomId, readOnly }) => {
        metrics?.onHandshake('/collab', 'ok');
        if (socket.destroyed) return;
        if (draining) return refuse(socket, HttpStatus.UNAVAILABLE);
        wss.handleUpgrade(req, socket, head, (ws) => connected(ws, principal, docId, roomId, readOnly));
      },
      (err: unknown) => {
        const { code } = toWireError(err);
        metrics?.onHandshake('/collab', code);
        if (HttpStatus[code] >= 500) log.warn({ err }, 'collab upgrade failed');
        refuse(socket, HttpStatus[code]);
      },
    );
  });

  /** Closes this node's connections that `target` names. */
  function closeLocal(target: CollabCloseTarget): void {
    for (const conn of conns) {
      if ('sessionId' in target && conn.principal.sessionId === target.sessionId) {
        conn.end(CollabCloseCode.unauthenticated, 'the login ended');
      } else if ('userId' in target && conn.roomId === target.roomId && conn.principal.userId === target.userId) {
        conn.end(CollabCloseCode.forbidden, 'no longer a member of the room');
      } else if ('docId' in target && conn.docId === target.docId) {
        conn.end(CollabCloseCode.notFound, 'the document was deleted');
      }
    }
  }

  function closeEverywhere(target: CollabCloseTarget): void {
    closeLocal(target);
    peers?.serverSideEmit('collab:close', target);
  }

  deps.bus.on('session.revoked', ({ sessionId }) => closeEverywhere({ sessionId }));
  deps.bus.on('room.member.left', ({ room, userId }) => closeEverywhere({ roomId: room.id, userId }));
  /** Marks this node's connections to the room's documents read-only, or writable again. */
  function setReadOnly(roomId: string, archived: boolean): void {
    for (const conn of conns) if (conn.roomId === roomId) conn.readOnly = archived;
  }
  deps.bus.on('room.updated', ({ room }) => {
    setReadOnly(room.id, room.archived);
    peers?.serverSideEmit('collab:archived', room.id, room.archived);
  });
  deps.bus.on('doc.changed', ({ doc, action }) => {
    if (action === 'deleted') closeEverywhere({ docId: doc.id });
  });

  /** Closes this node's connections to `docId` that may no longer be open. */
  async function audit(docId: string, members: readonly CollabConnection[]): Promise<void> {
    const { deleted, nonMembers, endedSessions } = await documents.revoked(docId, members.map((c) => c.principal));
    // An archive's message to this node can be lost like a close: its flag is read again too.
    const roomId = members[0]?.roomId;
    const archived = roomId !== undefined && (await deps.roomArchived(roomId));
    for (const conn of members) conn.readOnly = archived;
    for (const conn of members) {
      if (deleted) conn.end(CollabCloseCode.notFound, 'the document was deleted');
      else if (endedSessions.has(conn.principal.sessionId)) conn.end(CollabCloseCode.unauthenticated, 'the login ended');
      else if (nonMembers.has(conn.principal.userId)) conn.end(CollabCloseCode.forbidden, 'no longer a member of the room');
    }
  }

  let auditTimer: NodeJS.Timeout | undefined;
  let auditing = false;
  if (peers) {
    auditTimer = setInterval(() => {
      if (auditing) return;
      auditing = true;
      const work = [...channels.entries()].map(([docId, channel]) => audit(docId, [...channel.conns]));
      void Promise.allSettled(work).then((results) => {
        auditing = false;
        for (const result of results) if (result.status === 'rejected') log.warn({ err: result.reason }, 'collab connection check failed');
      });
    }, deps.auditMs);
    auditTimer.unref();
    peers.on('collab:close', closeLocal);
    peers.on('collab:archived', setReadOnly);
    peers.on('collab:update', (docId, update) => live.remoteUpdate(docId, fromBase64(update)));
    peers.on('collab:awareness', (docId, update) => live.remoteAwareness(docId, fromBase64(update)));
    live.share({
      publishUpdate: (docId, update) => peers.serverSideEmit('collab:update', docId, toBase64(update)),
      publishAwareness: (docId, update) => peers.serverSideEmit('collab:awareness', docId, toBase64(update)),
    });
  }

  return {
    drain() {
      draining = true;
      for (const conn of conns) conn.end(CollabCloseCode.goingAway, 'the server is shutting down');
    },
    async close() {
      draining = true;
      clearInterval(auditTimer);
      for (const conn of conns) conn.ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
