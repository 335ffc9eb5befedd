/**
 * Collaborative documents (PROTOCOL §5): the `Doc` and `DocVersion` objects, the HTTP inputs,
 * the `doc:changed` event on `/chat`, and the constants of the `/collab/:docId` WebSocket — the
 * y-websocket message types it accepts and the close codes it uses.
 */
import { z } from 'zod';
import { Id, nameText } from './schemas.js';

/** Limits of documents: titles and names in Unicode code points, sizes in bytes. */
export const DocLimits = {
  titleMax: 120,
  versionNameMax: 120,
  /**
   * Default largest document (COLLAB_MAX_DOC_BYTES): the size of its encoded Yjs state, what a
   * client downloads when it opens it. An update that would grow it past this is refused (4413).
   */
  stateBytesMax: 8 * 1024 * 1024,
  /**
   * Default largest `/collab` frame (COLLAB_MAX_FRAME_BYTES; larger: close 1009). No frame can
   * usefully carry more than a document may hold, plus its few bytes of framing.
   */
  frameBytesMax: 8 * 1024 * 1024 + 1024,
} as const;
export type DocLimits = typeof DocLimits;

/** The `Y.Text` of a document's Yjs state that holds its text (what versions show and restore). */
export const DOC_TEXT_NAME = 'content';

/** A document: it belongs to a room, whose members read and edit it. */
export interface Doc {
  id: string;
  roomId: string;
  title: string;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
}

/** A stored snapshot of a document; automatic ones have `name: null` and `createdBy: null`. */
export interface DocVersion {
  id: string;
  docId: string;
  name: string | null;
  createdAt: number;
  createdBy: string | null;
}

/** `doc:changed` on `/chat`, to the members of the document's room. */
export interface DocChangedEvent {
  roomId: string;
  doc: Doc;
  action: 'created' | 'renamed' | 'deleted';
}

export const DocTitle = nameText(1, DocLimits.titleMax);

export const DocCreateInput = z.object({ title: DocTitle });
export const DocRenameInput = z.object({ title: DocTitle });
/** A version's name is optional; given, it follows the rules of names people see. */
export const DocVersionCreateInput = z.object({ name: nameText(1, DocLimits.versionNameMax).optional() }).optional();

export const RoomDocsParams = z.object({ roomId: Id });
export const DocParams = z.object({ docId: Id });
export const DocVersionParams = z.object({ docId: Id, versionId: Id });

export type DocCreateInput = z.input<typeof DocCreateInput>;
export type DocRenameInput = z.input<typeof DocRenameInput>;
export type DocVersionCreateInput = z.input<typeof DocVersionCreateInput>;

/** The y-websocket message types (the first varUint of every binary frame) `/collab` accepts. */
export const CollabMessageType = {
  sync: 0,
  awareness: 1,
  queryAwareness: 3,
} as const;
export type CollabMessageType = (typeof CollabMessageType)[keyof typeof CollabMessageType];

/** WebSocket close codes of `/collab/:docId`. */
export const CollabCloseCode = {
  /** The node is shutting down: reconnect (elsewhere). */
  goingAway: 1001,
  /** The server could not load or store the document: reconnect later. */
  unavailable: 1011,
  /** A malformed frame: nothing of it was applied. */
  malformed: 4400,
  /** The login ended (logout, refresh-token reuse). */
  unauthenticated: 4401,
  /** The user is no longer a member of the document's room. */
  forbidden: 4403,
  /** The document was deleted. */
  notFound: 4404,
  /**
   * The update would grow the document past its size limit (COLLAB_MAX_DOC_BYTES): it was neither
   * stored nor relayed; the document is unchanged. Updates that only delete are still accepted.
   */
  tooLarge: 4413,
} as const;
export type CollabCloseCode = (typeof CollabCloseCode)[keyof typeof CollabCloseCode];
