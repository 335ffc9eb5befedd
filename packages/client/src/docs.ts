/**
 * `client.docs` (PROTOCOL §5): a room's collaborative documents over HTTP — list, create, rename,
 * delete, and their versions — plus `changed` when a member creates, renames or deletes one.
 * Requests carry the client's current access token; one the server refuses is renewed and the
 * request sent once more. Failures are SwitchboardErrors with the protocol's code. Editing the
 * content is `client.collab.open(docId)`.
 */
import type { Doc, DocChangedEvent, DocVersion } from '@switchboard/protocol';
import type { Connection } from './connection.js';
import { Emitter } from './emitter.js';
import { authorizedCall } from './http.js';
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

  private request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return authorizedCall<T>(this.server(), this.tokens, method, path, body);
  }
}

const enc = encodeURIComponent;
