/**
 * Files over HTTP (PROTOCOL §3): `POST /api/files` (multipart upload into a room),
 * `GET /api/files/:id` (the bytes, by Bearer or signed URL) and `POST /api/files/:id/url` (a
 * signed URL for `<img src>`, so the long-lived access token never goes into a URL).
 *
 * Downloads are served so that a browser can never run them as part of Switchboard: the detected
 * type with `nosniff`, `inline` only for raster images (never SVG, which can carry script),
 * `attachment` for everything else, and a sandboxing CSP in case a browser renders it anyway.
 */
import multipart from '@fastify/multipart';
import { ErrorCode, FileDownloadQuery, FileIdParams, FileInfo, FileUploadFields, FileUrl } from '@switchboard/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AuthService } from '../domain/auth.js';
import { AppError, invalid } from '../domain/errors.js';
import type { FileService } from '../domain/files.js';
import type { RateLimiter } from '../scale/rate-limit.js';
import type { FileRow } from '../store/schema.js';
import { requireUser } from './auth.js';
import { parse } from './errors.js';
import { docs, jsonSchema } from './openapi.js';

/** Shown inline (`<img>`, a new tab); every other type downloads. */
const INLINE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif']);

/** Browsers may reuse a download this long; a deleted file can stay visible in a cache for as long. */
const CACHE_SECONDS = 300;

export interface FileRouteDeps {
  auth: AuthService;
  files: FileService;
  limiter: RateLimiter;
  /** Largest upload, bytes. */
  maxBytes: number;
  /** Hears the size of every file stored (monitoring). */
  onUpload?: ((bytes: number) => void) | undefined;
}

/** `Content-Disposition` (RFC 6266) with an ASCII fallback and the exact name in UTF-8 (RFC 8187). */
function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const exact = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${exact}`;
}

/** Whether an `If-None-Match` header names this entity tag (weak or strong, or `*`). */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

/** What the multipart parser refused (a malformed body, too many parts): the client's fault, never INTERNAL. */
function malformed(err: unknown): AppError {
  const message = err instanceof Error ? err.message : String(err);
  if ((err as { statusCode?: unknown }).statusCode === 413) {
    return new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `too many parts in the form: ${message}`, { cause: err });
  }
  return new AppError(ErrorCode.INVALID_ARGUMENT, `malformed multipart body: ${message}`, { cause: err });
}

/**
 * After a failed upload the client may still be sending: read the rest and throw it away, so the
 * error reaches it as a normal answer on a connection that stays usable (closing with unread
 * data would reset the connection, and the client could lose the answer).
 */
function discardRest(req: FastifyRequest): void {
  req.raw.unpipe();
  req.raw.resume();
}

const fileSchemas = {
  upload: {
    tags: ['files'],
    summary: 'Upload a file into a room',
    description:
      'Multipart form: the field `roomId` first, then the part `file`. The type is detected from the bytes, ' +
      'the name is sanitized. Members of the room only; the room is checked before the file is read. ' +
      'Each user\'s live files count against a storage quota; a file never attached to a message is ' +
      'deleted after a grace period (FILE_ORPHAN_GRACE_HOURS). ' +
      'Rate-limited per user (a burst of 10, then 1 per second).',
    security: docs.bearer,
    consumes: ['multipart/form-data'],
    body: {
      type: 'object',
      required: ['roomId', 'file'],
      properties: { roomId: { type: 'string' }, file: { type: 'string', format: 'binary' } },
    },
    response: {
      201: { description: 'Stored', ...jsonSchema(z.object({ file: FileInfo }), 'output') },
      ...docs.errors({
        400: 'not multipart, `roomId` missing or not before `file`, or `file` missing',
        401: 'no valid access token',
        403: 'not a member of the room',
        404: 'unknown room',
        413: 'the file is larger than MAX_UPLOAD_MB, or would take the uploader past MAX_STORAGE_MB_PER_USER',
        429: 'too many uploads',
      }),
    },
  },
  download: {
    tags: ['files'],
    summary: 'Download a file',
    description:
      'For members of the file\'s room, with `Authorization: Bearer` or the `token` of a signed URL. ' +
      '`ETag` is the SHA-256 (304 on `If-None-Match`). Raster images are `inline`, everything else `attachment`.',
    security: [...docs.bearer, {}],
    params: jsonSchema(FileIdParams),
    querystring: jsonSchema(FileDownloadQuery),
    response: {
      200: {
        description: 'The bytes, with their detected Content-Type',
        content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
      },
      304: docs.noContent('Not modified'),
      ...docs.errors({
        401: 'no valid access token, or an expired, forged or non-file token',
        403: 'not a member of the file\'s room, or a token for another file',
        404: 'unknown file, or its message was deleted',
      }),
    },
  },
  url: {
    tags: ['files'],
    summary: 'Get a short-lived download URL',
    description: 'The URL works without a Bearer header for 5 minutes, for the same user while they may read the file.',
    security: docs.bearer,
    params: jsonSchema(FileIdParams),
    response: {
      200: { description: 'A signed URL, relative to the server', ...jsonSchema(FileUrl, 'output') },
      ...docs.errors({ 401: 'no valid access token', 403: 'not a member of the file\'s room', 404: 'unknown or deleted file' }),
    },
  },
};

export async function fileRoutes(app: FastifyInstance, deps: FileRouteDeps): Promise<void> {
  const { auth, files, limiter, maxBytes } = deps;

  /** The upload's parts in order: `roomId` (checked at once), then `file` (streamed to disk). */
  async function receive(req: FastifyRequest, userId: string): Promise<FileInfo> {
    let roomId: string | undefined;
    const parts = req.parts({
      // One byte over the limit must reach BlobStore.stage, which refuses it and cleans up.
      limits: { fileSize: maxBytes + 1, files: 1, fields: 10, fieldSize: 1024, parts: 11 },
    });
    for (;;) {
      let next;
      try {
        next = await parts.next();
      } catch (err) {
        throw malformed(err);
      }
      if (next.done) break;
      const part = next.value;
      if (part.type === 'field') {
        if (part.fieldname === 'roomId') {
          roomId = parse(FileUploadFields, { roomId: part.value }).roomId;
          await files.checkRoom(userId, roomId);
        }
        continue;
      }
      if (part.fieldname !== 'file') throw invalid(`${part.fieldname}: unexpected file part; send the file as "file"`);
      if (roomId === undefined) throw invalid('roomId: required, before the file');
      return files.upload(userId, roomId, part.filename, part.file);
    }
    throw invalid(roomId === undefined ? 'roomId: required' : 'file: required');
  }

  function sendFile(reply: FastifyReply, row: FileRow, ifNoneMatch: string | undefined) {
    const etag = `"${row.sha256}"`;
    const disposition = INLINE_TYPES.has(row.mime) ? 'inline' : 'attachment';
    reply
      .header('etag', etag)
      .header('cache-control', `private, max-age=${CACHE_SECONDS}`)
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "sandbox; default-src 'none'")
      .header('content-disposition', contentDisposition(disposition, row.name));
    if (matchesEtag(ifNoneMatch, etag)) return reply.status(304).send();
    return files.open(row).then((stream) => reply.type(row.mime).header('content-length', row.size).send(stream));
  }

  await app.register(async (scope) => {
    // Multipart parsing only here: every other route keeps taking JSON alone.
    await scope.register(multipart);

    scope.post('/api/files', { schema: fileSchemas.upload }, async (req, reply) => {
      const { userId } = await requireUser(auth, req);
      await limiter.consume(userId, 'upload');
      if (!req.isMultipart()) throw invalid('the body must be multipart/form-data: roomId, then file');
      let file: FileInfo;
      try {
        file = await receive(req, userId);
      } catch (err) {
        discardRest(req);
        throw err;
      }
      deps.onUpload?.(file.size);
      return reply.status(201).send({ file });
    });

    // Files are mostly compressed already (images, archives); compressing them again costs CPU for nothing.
    scope.get('/api/files/:id', { schema: fileSchemas.download, compress: false }, async (req, reply) => {
      const { id } = parse(FileIdParams, req.params);
      const { token } = parse(FileDownloadQuery, req.query);
      const userId = token === undefined ? (await requireUser(auth, req)).userId : await files.verifyUrlToken(token, id);
      const row = await files.readable(userId, id);
      return sendFile(reply, row, req.headers['if-none-match']);
    });

    scope.post('/api/files/:id/url', { schema: fileSchemas.url }, async (req) => {
      const { id } = parse(FileIdParams, req.params);
      return files.signUrl(await requireUser(auth, req), id);
    });
  });
}
