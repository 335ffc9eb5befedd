/**
 * Files shared in rooms (PROTOCOL §3): uploads by members, downloads by members of the file's
 * room, short-lived signed download URLs, the checks behind attaching files to a message, and
 * removing the bytes once the last file that needs them is gone.
 *
 * A file belongs to the room it was uploaded into and is readable by that room's members, also
 * before it is attached; once its message is deleted, it is gone (404) and its bytes are removed
 * from disk when no other live file has the same content.
 *
 * Each user's live files may take up to a storage quota together (MAX_STORAGE_MB_PER_USER):
 * checked before the upload is read, bounding how much of it is read, and decided in the
 * transaction that records it. A file never attached to a message is released by the orphan
 * sweep once its grace period is over (FILE_ORPHAN_GRACE_HOURS), which frees its quota and, when
 * no other live file shares them, its bytes. Every node sweeps; see `FileRepository.releaseUnattached`.
 *
 * Signed URLs carry a JWT of their own (HS256, the server's key) with an audience distinct from
 * access tokens', so neither can stand in for the other, and the login it was issued to (`sid`),
 * so a URL dies with its login.
 */
import type { Readable } from 'node:stream';
import { ErrorCode, Limits, type Attachment, type FileInfo, type FileUrl } from '@switchboard/protocol';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import type { EventBus } from './bus.js';
import { AppError, conflict, forbidden, invalid, notFound, unauthenticated } from './errors.js';
import { newId } from './ids.js';
import type { RoomService } from './rooms.js';
import type { Principal } from './auth.js';
import { BlobSourceError, BlobTooLargeError, type BlobStore } from '../store/blobs.js';
import type { FileRepository } from '../store/files.js';
import type { FileRow } from '../store/schema.js';
import type { SessionRepository } from '../store/users.js';

const ISSUER = 'switchboard';
/** Not the access tokens' audience (`switchboard`): see the module comment. */
const FILE_AUDIENCE = 'switchboard:file';

export const FileDefaults = {
  /** Lifetime of a signed download URL, seconds. */
  urlTtlSeconds: 300,
  /** Extensions longer than this are not kept when a long name is shortened. */
  extensionMax: 16,
  /** Files one sweep statement releases at most; a sweep repeats it until no orphan is left. */
  sweepBatch: 500,
};

export interface FileOptions {
  /** The server's HS256 key (the access tokens' key). */
  secret: Uint8Array;
  /** Largest upload, bytes. */
  maxBytes: number;
  /** Per-user storage quota: the total size of a user's live files, bytes. */
  quotaBytes: number;
  /** How long an upload may stay unattached before the orphan sweep releases it, ms. */
  orphanGraceMs: number;
  urlTtlSeconds?: number;
}

const MIB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MIB).toFixed(1)} MB`;

function quotaExceeded(detail: string, quotaBytes: number, cause?: unknown): AppError {
  return new AppError(
    ErrorCode.PAYLOAD_TOO_LARGE,
    `storage quota exceeded: ${detail} of your ${mib(quotaBytes)}. Delete messages with files to free space.`,
    cause === undefined ? undefined : { cause },
  );
}

/** C0 and C1 controls, bidirectional overrides and isolates (which can disguise an extension), BOM. */
function isUnsafeCodePoint(cp: number): boolean {
  return (
    cp <= 0x1f ||
    (cp >= 0x7f && cp <= 0x9f) ||
    cp === 0x200e ||
    cp === 0x200f ||
    (cp >= 0x202a && cp <= 0x202e) ||
    (cp >= 0x2066 && cp <= 0x2069) ||
    cp === 0xfeff
  );
}

/**
 * The name a file is stored and offered under: the last path segment of what the client sent,
 * without control or direction-changing characters, trimmed, at most `Limits.fileNameMax` code
 * points (a long name is shortened before its extension); `file` when nothing is left.
 */
export function sanitizeFileName(raw: string): string {
  const base = raw.normalize('NFC').split(/[\\/]/).pop() ?? '';
  const name = [...base].filter((ch) => !isUnsafeCodePoint(ch.codePointAt(0) ?? 0)).join('').trim();
  if (name === '' || /^\.+$/.test(name)) return 'file';
  const chars = [...name];
  if (chars.length <= Limits.fileNameMax) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? [...name.slice(dot)] : [];
  if (ext.length === 0 || ext.length > FileDefaults.extensionMax) return chars.slice(0, Limits.fileNameMax).join('');
  return [...chars.slice(0, Limits.fileNameMax - ext.length), ...ext].join('').trim();
}

function toFileInfo(row: FileRow): FileInfo {
  return {
    id: row.id,
    roomId: row.room_id,
    name: row.name,
    size: row.size,
    mime: row.mime,
    sha256: row.sha256,
    createdAt: row.created_at,
    ...dimensionsOf(row),
  };
}

/** `width` and `height` when the file is an image whose size is known (PROTOCOL §3). */
function dimensionsOf(row: FileRow): { width?: number; height?: number } {
  return row.width !== null && row.height !== null ? { width: row.width, height: row.height } : {};
}

export class FileService {
  private readonly urlTtlSeconds: number;

  constructor(
    private readonly files: FileRepository,
    private readonly blobs: BlobStore,
    private readonly rooms: RoomService,
    private readonly sessions: SessionRepository,
    bus: EventBus,
    private readonly options: FileOptions,
  ) {
    this.urlTtlSeconds = options.urlTtlSeconds ?? FileDefaults.urlTtlSeconds;
    bus.on('message.updated', ({ message }) => (message.deleted ? this.sweep(message.id) : undefined));
  }

  /** NOT_FOUND for an unknown room, FORBIDDEN unless `userId` is a member: checked before any byte is read. */
  async checkRoom(userId: string, roomId: string): Promise<void> {
    await this.rooms.requireMember(userId, roomId);
  }

  /**
   * Stores an upload into a room the user is a member of: `PAYLOAD_TOO_LARGE` over the limit,
   * `INVALID_ARGUMENT` when the bytes stop arriving or are malformed.
   */
  async upload(userId: string, roomId: string, name: string, bytes: Readable): Promise<FileInfo> {
    await this.rooms.requireMember(userId, roomId);
    const { maxBytes, quotaBytes } = this.options;
    const free = quotaBytes - (await this.files.usedBytes(userId));
    if (free <= 0) throw quotaExceeded('no space is left', quotaBytes);
    // Reading stops where the quota would be passed: the final say is the recording transaction's.
    const limit = Math.min(maxBytes, free);
    let staged;
    try {
      staged = await this.blobs.stage(bytes, limit);
    } catch (err) {
      if (err instanceof BlobTooLargeError) {
        if (limit < maxBytes) throw quotaExceeded(`this file is larger than the ${mib(free)} left`, quotaBytes, err);
        throw new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `files may be at most ${mib(err.maxBytes)}`, { cause: err });
      }
      if (err instanceof BlobSourceError) throw new AppError(ErrorCode.INVALID_ARGUMENT, `file: ${err.message}`, { cause: err });
      throw err;
    }
    const row: FileRow = {
      id: newId(),
      room_id: roomId,
      uploader_id: userId,
      name: sanitizeFileName(name),
      size: staged.size,
      mime: staged.mime,
      sha256: staged.sha256,
      created_at: Date.now(),
      message_id: null,
      deleted_at: null,
      width: staged.dimensions?.width ?? null,
      height: staged.dimensions?.height ?? null,
    };
    // The row first, then the bytes: a concurrent removal of the same bytes sees the row and
    // keeps them, or has moved them aside and this commit puts a copy in place (BlobStore.remove).
    let recorded;
    try {
      recorded = await this.files.insertWithinQuota(row, quotaBytes);
    } catch (err) {
      await staged.discard();
      throw err;
    }
    if (!recorded.stored) {
      await staged.discard();
      throw quotaExceeded(`this file needs ${mib(row.size)}, ${mib(Math.max(0, quotaBytes - recorded.usedBytes))} are left`, quotaBytes);
    }
    try {
      await staged.commit();
    } catch (err) {
      await this.files.remove(row.id);
      await staged.discard();
      throw err;
    }
    return toFileInfo(row);
  }

  /** A live file the user may read: NOT_FOUND when unknown or deleted, FORBIDDEN when not a member of its room. */
  async readable(userId: string, fileId: string): Promise<FileRow> {
    const row = await this.files.byId(fileId);
    if (!row || row.deleted_at !== null) throw notFound('file');
    await this.rooms.requireMember(userId, row.room_id);
    return row;
  }

  /** A readable stream of the file's bytes; the caller has checked access with `readable()`. */
  async open(row: FileRow): Promise<Readable> {
    const handle = await this.blobs.open(row.sha256);
    // A live row without its bytes means the files directory lost data: a server fault.
    if (!handle) throw new Error(`bytes of file ${row.id} (sha256 ${row.sha256}) are missing`);
    return handle.createReadStream();
  }

  /** A download URL for `<img src>` and links, valid for a few minutes, for a user who may read the file now. */
  async signUrl(principal: Principal, fileId: string): Promise<FileUrl> {
    await this.readable(principal.userId, fileId);
    const expiresIn = this.urlTtlSeconds;
    const exp = Math.floor(Date.now() / 1000) + expiresIn;
    const token = await new SignJWT({ fid: fileId, sid: principal.sessionId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(principal.userId)
      .setIssuer(ISSUER)
      .setAudience(FILE_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(this.options.secret);
    return { url: `/api/files/${encodeURIComponent(fileId)}?token=${token}`, expiresAt: exp * 1000 };
  }

  /**
   * The user a signed URL's token was issued to. UNAUTHENTICATED when it is expired, forged, not
   * a file token (an access token, say) or its login ended; FORBIDDEN when it is for another file.
   */
  async verifyUrlToken(token: string, fileId: string): Promise<string> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.options.secret, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: FILE_AUDIENCE,
        requiredClaims: ['sub', 'fid', 'sid', 'exp'],
      }));
    } catch (err) {
      const reason = err instanceof joseErrors.JWTExpired ? 'file link expired' : 'invalid file link';
      throw new AppError(ErrorCode.UNAUTHENTICATED, reason, { cause: err });
    }
    const { sub, fid, sid } = payload;
    if (typeof sub !== 'string' || typeof fid !== 'string' || typeof sid !== 'string') throw unauthenticated('invalid file link');
    if (fid !== fileId) throw forbidden('this link is for another file');
    if (!(await this.sessions.isActive(sid))) throw unauthenticated('session has ended');
    return sub;
  }

  /**
   * The attachments of a new message: each file must exist and be live (NOT_FOUND), be uploaded
   * by the sender (FORBIDDEN), into the message's room (INVALID_ARGUMENT), and not be attached
   * to a message yet (CONFLICT). Ids named twice count once. The message's transaction attaches
   * them, and fails with CONFLICT if one was taken meanwhile.
   */
  async attachable(senderId: string, roomId: string, fileIds: readonly string[]): Promise<Attachment[]> {
    const ids = [...new Set(fileIds)];
    const rows = new Map((await this.files.byIds(ids)).map((r) => [r.id, r]));
    return ids.map((id) => {
      const row = rows.get(id);
      if (!row || row.deleted_at !== null) throw notFound('attachment');
      if (row.uploader_id !== senderId) throw forbidden('only files you uploaded can be attached');
      if (row.room_id !== roomId) throw invalid('attachmentIds: a file can only be attached in the room it was uploaded into');
      if (row.message_id !== null) throw conflict('a file can be attached to one message only');
      return { id: row.id, name: row.name, size: row.size, mime: row.mime, ...dimensionsOf(row) };
    });
  }

  /** After a message was deleted: removes the bytes of its files that no live file needs any more. */
  private async sweep(messageId: string): Promise<void> {
    await this.removeUnneeded(await this.files.hashesOfMessage(messageId));
  }

  /**
   * Releases every file uploaded before `now` minus the grace period and never attached, and
   * removes the bytes no live file needs any more. Safe to run on several nodes at once, and
   * beside uploads and sends. Returns how many files it released.
   */
  async sweepOrphans(now = Date.now()): Promise<number> {
    const createdBefore = now - this.options.orphanGraceMs;
    let total = 0;
    for (;;) {
      const { released, hashes } = await this.files.releaseUnattached(createdBefore, now, FileDefaults.sweepBatch);
      total += released;
      await this.removeUnneeded(hashes);
      if (released < FileDefaults.sweepBatch) return total;
    }
  }

  /**
   * Runs `sweepOrphans` every `everyMs` until the returned function is called, which resolves
   * once a sweep still running has ended (so the database can close under none); a sweep still
   * running when the next is due is not doubled. Failures (the database away) go to `onError`
   * and the next sweep tries again.
   */
  startOrphanSweep(everyMs: number, onError: (err: unknown) => void): () => Promise<void> {
    let running: Promise<void> | undefined;
    const timer = setInterval(() => {
      running ??= this.sweepOrphans()
        .then(() => undefined, onError)
        .finally(() => (running = undefined));
    }, everyMs);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await running;
    };
  }

  private async removeUnneeded(hashes: readonly string[]): Promise<void> {
    for (const sha256 of hashes) {
      await this.blobs.remove(sha256, () => this.files.isReferenced(sha256));
    }
  }
}
