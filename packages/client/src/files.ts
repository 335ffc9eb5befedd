/**
 * `client.files` (PROTOCOL §3): uploads into a room, with progress where the platform reports
 * it, and short-lived download URLs for `<img src>` and links, cached until shortly before they
 * expire. Requests carry the client's current access token; one the server refuses is renewed
 * (as the connection does) and the request sent once more. Failures are SwitchboardErrors with
 * the protocol's code.
 */
import { ErrorCode, type FileInfo, type FileUrl } from '@switchboard/protocol';
import { SwitchboardError } from './errors.js';
import { baseUrl } from './http.js';
import type { TokenSource } from './tokens.js';

export const FilesDefaults = {
  /** A cached download URL is handed out until this long before it expires, ms. */
  urlRenewBeforeMs: 60_000,
};

export interface UploadOptions {
  /** The name to store (the server sanitizes it); default: the File's own name, else `"file"`. */
  name?: string;
  /**
   * Upload progress, in bytes of the file. With XMLHttpRequest (browsers) it is called as the
   * bytes go out; with `fetch` (Node.js, workers), which reports no upload progress, once at the end.
   */
  onProgress?: (loaded: number, total: number) => void;
  /** Aborts the upload; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

interface Answer {
  status: number;
  text: string;
  retryAfter: string | null;
}

/** An HTTP answer's payload, or the SwitchboardError its error body describes. */
function unwrap<T>(answer: Answer, what: string): T {
  let parsed: unknown;
  try {
    parsed = answer.text.length > 0 ? JSON.parse(answer.text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (answer.status >= 200 && answer.status < 300) return parsed as T;
  const wire = SwitchboardError.fromWire((parsed as { error?: unknown } | undefined)?.error, `${what} failed with HTTP ${answer.status}`);
  const retryAfter = Number(answer.retryAfter);
  if (wire.code === ErrorCode.RATE_LIMITED && wire.retryAfterMs === undefined && retryAfter > 0) {
    throw new SwitchboardError(wire.code, wire.message, { retryAfterMs: retryAfter * 1000 });
  }
  throw wire;
}

const abortReason = (signal: AbortSignal | undefined): unknown =>
  signal?.reason ?? new DOMException('the upload was aborted', 'AbortError');

/** POST with XMLHttpRequest, for its upload progress events. */
function postWithXhr(url: string, token: string, body: FormData, size: number, options: UploadOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const { signal, onProgress } = options;
    // Aborted while the token was being fetched: an abort listener added now would never fire.
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const xhr = new XMLHttpRequest();
    const onAbort = () => xhr.abort();
    xhr.open('POST', url);
    xhr.setRequestHeader('authorization', `Bearer ${token}`);
    if (onProgress) {
      // The request is the file plus a few hundred bytes of form: report it in bytes of the file.
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable && e.total > 0) onProgress(Math.min(size, Math.round((e.loaded / e.total) * size)), size);
      };
    }
    xhr.onload = () => {
      signal?.removeEventListener('abort', onAbort);
      resolve({ status: xhr.status, text: xhr.responseText, retryAfter: xhr.getResponseHeader('retry-after') });
    };
    xhr.onerror = () => {
      signal?.removeEventListener('abort', onAbort);
      reject(SwitchboardError.noAnswer('POST /api/files', new Error('network error')));
    };
    xhr.onabort = () => reject(abortReason(signal));
    signal?.addEventListener('abort', onAbort, { once: true });
    xhr.send(body);
  });
}

async function postWithFetch(url: string, token: string, body: FormData, signal: AbortSignal | undefined): Promise<Answer> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body, ...(signal ? { signal } : {}) });
  } catch (err) {
    if (signal?.aborted) throw abortReason(signal);
    throw SwitchboardError.noAnswer('POST /api/files', err);
  }
  return { status: res.status, text: await res.text(), retryAfter: res.headers.get('retry-after') };
}

export class FilesApi {
  private readonly urls = new Map<string, { promise: Promise<FileUrl>; expiresAt: number }>();

  constructor(
    private readonly server: string,
    private readonly tokens: TokenSource,
  ) {}

  /**
   * Uploads `file` into a room the user is a member of and resolves to the stored file; send it
   * with `chat.send(roomId, text, { attachmentIds: [file.id] })`. Refusals: `FORBIDDEN` (not a
   * member), `NOT_FOUND` (no such room), `PAYLOAD_TOO_LARGE` (over the server's MAX_UPLOAD_MB),
   * `RATE_LIMITED`.
   */
  async upload(roomId: string, file: Blob, options: UploadOptions = {}): Promise<FileInfo> {
    options.signal?.throwIfAborted();
    const name = options.name ?? (typeof File !== 'undefined' && file instanceof File ? file.name : '');
    const endpoint = `${baseUrl(this.server)}/api/files`;
    const answer = await this.withToken((token) => {
      // roomId first: the server checks the room before it reads the file.
      const body = new FormData();
      body.append('roomId', roomId);
      body.append('file', file, name || 'file');
      return typeof XMLHttpRequest === 'undefined'
        ? postWithFetch(endpoint, token, body, options.signal)
        : postWithXhr(endpoint, token, body, file.size, options);
    });
    const { file: stored } = unwrap<{ file: FileInfo }>(answer, 'POST /api/files');
    options.onProgress?.(file.size, file.size);
    return stored;
  }

  /**
   * An absolute URL of the file that works without an `Authorization` header (for `<img src>`,
   * links, downloads) until `expiresAt`. The same URL is handed out again until shortly before
   * it expires, so browsers can cache what it points to.
   */
  url(fileId: string): Promise<FileUrl> {
    const now = Date.now();
    const cached = this.urls.get(fileId);
    if (cached && cached.expiresAt - FilesDefaults.urlRenewBeforeMs > now) return cached.promise;
    for (const [id, entry] of this.urls) if (entry.expiresAt <= now) this.urls.delete(id);

    // Until the answer arrives, callers share this request; a failed one is not kept.
    const promise = this.signedUrl(fileId);
    const entry = { promise, expiresAt: Infinity };
    this.urls.set(fileId, entry);
    promise.then(
      (signed) => {
        entry.expiresAt = signed.expiresAt;
      },
      () => {
        if (this.urls.get(fileId) === entry) this.urls.delete(fileId);
      },
    );
    return promise;
  }

  private async signedUrl(fileId: string): Promise<FileUrl> {
    const path = `/api/files/${encodeURIComponent(fileId)}/url`;
    const answer = await this.withToken(async (token) => {
      try {
        const res = await fetch(baseUrl(this.server) + path, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
        return { status: res.status, text: await res.text(), retryAfter: res.headers.get('retry-after') };
      } catch (err) {
        throw SwitchboardError.noAnswer(`POST ${path}`, err);
      }
    });
    const signed = unwrap<FileUrl>(answer, `POST ${path}`);
    return { url: baseUrl(this.server) + signed.url, expiresAt: signed.expiresAt };
  }

  /** Runs `request` with the current access token; once more with a renewed one if the server refused it. */
  private async withToken(request: (token: string) => Promise<Answer>): Promise<Answer> {
    const token = await this.tokens.get();
    const answer = await request(token);
    if (answer.status !== 401) return answer;
    this.tokens.invalidate(token);
    return request(await this.tokens.get());
  }
}
