/**
 * `client.docs` (PROTOCOL §5): a room's collaborative documents over HTTP — list, create, rename,
 * delete, and their versions — plus `changed` when a member creates, renames or deletes one.
 * Requests carry the client's current access token; one the server refuses is renewed and the
 * request sent once more. Failures are SwitchboardErrors with the protocol's code. Editing the
 * content is `client.collab.open(docId)`.
 */
import { ErrorCode, type Doc, type DocChangedEvent, type DocVersion } from '@switchboard/protocol';
import type { Connection } from './connection.js';
import { Emitter } from './emitter.js';
import { SwitchboardError } from './errors.js';
import { baseUrl } from './http.js';
import type { TokenSource } from './tokens.js';

export interface DocsApiEvents {
  /** A document of one of the user's rooms was created, renamed or deleted (by anyone). */
  changed: (event: DocChangedEvent) => void;
}

export class DocsApi extends Emitter<DocsApiEvents> {
  constructor(
    private readonly server: () => string,
    private readonly tokens: TokenSource,
    conn: Connection,
  ) {
    super();
    conn.chat.on('doc:changed', (event) => this.emit('changed', event));
  }

  /** The room's documents, newest first. */
  async list(roomId: string): Promise<Doc[]> {
    return (await this.request<{ docs: Doc[] }>('GET', `/api/rooms/${enc(roomId)}/docs`)).docs;
  }

  async create(roomId: string, title: string): Promise<Doc> {
    return (await this.request<{ doc: Doc }>('POST', `/api/rooms/${enc(roomId)}/docs`, { title })).doc;
  }

  async get(docId: string): Promise<Doc> {
    return (await this.request<{ doc: Doc }>('GET', `/api/docs/${enc(docId)}`)).doc;
  }

  async rename(docId: string, title: string): Promise<Doc> {
    return (await this.request<{ doc: Doc }>('PATCH', `/api/docs/${enc(docId)}`, { title })).doc;
  }

  async remove(docId: string): Promise<void> {
    await this.request<undefined>('DELETE', `/api/docs/${enc(docId)}`);
  }

  /** The document's versions, newest first. */
  async versions(docId: string): Promise<DocVersion[]> {
    return (await this.request<{ versions: DocVersion[] }>('GET', `/api/docs/${enc(docId)}/versions`)).versions;
  }

  /** Saves the current content as a version, named if `name` is given. */
  async saveVersion(docId: string, name?: string): Promise<DocVersion> {
    return (await this.request<{ version: DocVersion }>('POST', `/api/docs/${enc(docId)}/versions`, name ? { name } : {})).version;
  }

  /** A version and the text the document had then. */
  version(docId: string, versionId: string): Promise<{ version: DocVersion; text: string }> {
    return this.request('GET', `/api/docs/${enc(docId)}/versions/${enc(versionId)}`);
  }

  /** Makes a version's text the content again, as a new edit every open session receives. */
  async restore(docId: string, versionId: string): Promise<DocVersion> {
    return (await this.request<{ version: DocVersion }>('POST', `/api/docs/${enc(docId)}/versions/${enc(versionId)}/restore`)).version;
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const send = async (token: string) => {
      try {
        return await fetch(baseUrl(this.server()) + path, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      } catch (err) {
        throw SwitchboardError.noAnswer(`${method} ${path}`, err);
      }
    };
    const token = await this.tokens.get();
    let res = await send(token);
    if (res.status === 401) {
      this.tokens.invalidate(token);
      res = await send(await this.tokens.get());
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (res.ok) return parsed as T;
    const wire = SwitchboardError.fromWire((parsed as { error?: unknown } | undefined)?.error, `${method} ${path} failed with HTTP ${res.status}`);
    const retryAfter = Number(res.headers.get('retry-after'));
    if (wire.code === ErrorCode.RATE_LIMITED && wire.retryAfterMs === undefined && retryAfter > 0) {
      throw new SwitchboardError(wire.code, wire.message, { retryAfterMs: retryAfter * 1000 });
    }
    throw wire;
  }
}

const enc = encodeURIComponent;
