/**
 * Files (PROTOCOL §3): what `POST /api/files` answers, the signed-URL answer, and the schemas
 * of the file endpoints' inputs. Uploads are multipart (`roomId`, then `file`); these schemas
 * validate the parts that are not the bytes themselves.
 */
import { z } from 'zod';
import { Limits } from './limits.js';
import { Id, Timestamp } from './schemas.js';

/** A stored file as its uploader and the members of its room see it. */
export const FileInfo = z.object({
  id: Id,
  roomId: Id,
  /** The uploaded name, sanitized: no path, no control characters, at most `Limits.fileNameMax` code points. */
  name: z.string(),
  /** Bytes. */
  size: z.number().int().min(0),
  /** Detected from the bytes, never taken from the client. */
  mime: z.string(),
  /** Hex SHA-256 of the bytes; also the download's `ETag`. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: Timestamp,
  /** Pixel width and height of a PNG, JPEG, GIF or WebP image (as shown, EXIF rotation applied); absent for other files. */
  width: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
});
export type FileInfo = z.infer<typeof FileInfo>;

/** A short-lived download URL that needs no `Authorization` header (for `<img src>`). */
export const FileUrl = z.object({
  /** Relative to the server's base URL: `/api/files/<id>?token=…`. */
  url: z.string(),
  /** When the URL stops working, ms since the epoch. */
  expiresAt: Timestamp,
});
export type FileUrl = z.infer<typeof FileUrl>;

/** The non-file part of an upload: the room the file is shared in. */
export const FileUploadFields = z.object({ roomId: Id });
export const FileIdParams = z.object({ id: Id });
/** `GET /api/files/:id?token=…`: a signed-URL token, instead of a Bearer header. */
export const FileDownloadQuery = z.object({ token: z.string().min(1).max(Limits.tokenMax).optional() });
