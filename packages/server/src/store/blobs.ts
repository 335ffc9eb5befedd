/**
 * File bytes on disk, content-addressed: `DATA_DIR/files/<first two hex digits>/<sha256>`, so
 * identical uploads share one copy. An upload streams into `files/tmp` while it is hashed,
 * counted and cut off at the size limit; only then is its type detected, from the bytes, and it
 * is moved into place. Several nodes may share the directory (a shared volume): every step is a
 * rename within it, which is atomic, and nothing relies on this process's memory.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileTypeFromFile } from 'file-type';
import { imageSize, type ImageSize } from './image-size.js';

/** What file-type cannot name: UTF-8 text without NUL bytes, or anything else. */
const TEXT = 'text/plain; charset=utf-8';
const BINARY = 'application/octet-stream';

/** Temporary files older than this are left over from a crash and removed at start. */
const STALE_TEMP_MS = 24 * 60 * 60 * 1000;

/** The upload went over the size limit; nothing of it is left on disk. */
export class BlobTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`larger than ${maxBytes} bytes`);
    this.name = 'BlobTooLargeError';
  }
}

/** The bytes did not arrive: the upload was cut off, or its body is malformed. Nothing is left on disk. */
export class BlobSourceError extends Error {
  constructor(cause: unknown) {
    super('the upload ended early or is malformed', { cause });
    this.name = 'BlobSourceError';
  }
}

/** An upload written to a temporary file: hashed, counted and typed, not yet in place. */
export interface StagedBlob {
  sha256: string;
  size: number;
  /** Detected from the bytes (see `detectMime`). */
  mime: string;
  /** Width and height of a PNG, JPEG, GIF or WebP image, from its header; else undefined. */
  dimensions: ImageSize | undefined;
  /** Moves the bytes to their address (a copy already there is kept and this one dropped). */
  commit(): Promise<void>;
  /** Deletes the temporary file. */
  discard(): Promise<void>;
}

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}

/** Whether the file is UTF-8 without NUL bytes: text that is safe to label `text/plain`. */
async function isUtf8Text(path: string): Promise<boolean> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
      if (chunk.includes(0)) return false;
      decoder.decode(chunk, { stream: true });
    }
    decoder.decode();
    return true;
  } catch (err) {
    if (err instanceof TypeError) return false; // the decoder's "invalid UTF-8"
    throw err;
  }
}

/**
 * The MIME type of a file, from its bytes only: file-type's signature detection, else text or
 * binary. The name and the type the client declared are never consulted, so a `.png` holding
 * an executable is stored, and served, as the executable it is.
 */
export async function detectMime(path: string): Promise<string> {
  const detected = await fileTypeFromFile(path);
  if (detected) return detected.mime;
  return (await isUtf8Text(path)) ? TEXT : BINARY;
}

export class BlobStore {
  private readonly tmp: string;

  /** `root` is `DATA_DIR/files`. */
  constructor(private readonly root: string) {
    this.tmp = join(root, 'tmp');
  }

  /** Creates the directories and removes temporary files a crash left behind. */
  async init(): Promise<void> {
    await mkdir(this.tmp, { recursive: true, mode: 0o700 });
    const now = Date.now();
    for (const name of await readdir(this.tmp)) {
      const path = join(this.tmp, name);
      // Only old ones: another node sharing the directory may be writing a fresh one right now.
      const info = await stat(path).catch(() => undefined);
      if (info && now - info.mtimeMs > STALE_TEMP_MS) await rm(path, { force: true });
    }
  }

  /** Where the bytes with this hash live. */
  path(sha256: string): string {
    return join(this.root, sha256.slice(0, 2), sha256);
  }

  /**
   * Streams `source` into a temporary file, hashing and counting it. More than `maxBytes` →
   * BlobTooLargeError; `source` failing → BlobSourceError; any failure deletes the temporary file.
   */
  async stage(source: Readable, maxBytes: number): Promise<StagedBlob> {
    const temp = join(this.tmp, `${randomUUID()}.part`);
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        if (size > maxBytes) {
          done(new BlobTooLargeError(maxBytes));
          return;
        }
        hash.update(chunk);
        done(null, chunk);
      },
    });
    const writer = createWriteStream(temp, { flags: 'wx', mode: 0o600 });
    // A failure anywhere destroys the whole pipeline with it: only the stream that failed first
    // tells whether the client (the source) or this server (hashing, the disk) is at fault.
    // (A source that failed before this point, say while the room was being checked, is `errored`.)
    let origin: 'source' | 'server' | undefined = source.errored ? 'source' : undefined;
    source.once('error', () => (origin ??= 'source'));
    for (const stream of [meter, writer]) stream.once('error', () => (origin ??= 'server'));
    try {
      await pipeline(source, meter, writer);
      const sha256 = hash.digest('hex');
      const mime = await detectMime(temp);
      return {
        sha256,
        size,
        mime,
        dimensions: await imageSize(temp, mime),
        commit: async () => {
          const target = this.path(sha256);
          if (await exists(target)) {
            await rm(temp, { force: true });
            return;
          }
          await mkdir(dirname(target), { recursive: true, mode: 0o700 });
          await rename(temp, target);
        },
        discard: () => rm(temp, { force: true }),
      };
    } catch (err) {
      await rm(temp, { force: true });
      throw origin === 'source' && !(err instanceof BlobTooLargeError) ? new BlobSourceError(err) : err;
    }
  }

  /** An open handle on the bytes, or undefined when they are not on disk. */
  async open(sha256: string): Promise<FileHandle | undefined> {
    try {
      return await open(this.path(sha256), 'r');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /**
   * Deletes the bytes unless `referenced()` says a live file still needs them.
   *
   * An upload of the same bytes may run at the same time, on any node: it inserts its row and
   * then commits (keeping the copy it finds in place). So the bytes are first moved aside, and
   * `referenced()` is asked again: if an upload's row appeared meanwhile, they are put back.
   * Whatever the interleaving, a live row never ends up without its bytes.
   */
  async remove(sha256: string, referenced: () => Promise<boolean>): Promise<void> {
    if (await referenced()) return;
    const target = this.path(sha256);
    const aside = join(this.tmp, `${randomUUID()}.removed`);
    try {
      await rename(target, aside);
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    if ((await referenced()) && !(await exists(target))) {
      await rename(aside, target);
      return;
    }
    await rm(aside, { force: true });
  }
}
