/**
 * `client.collab`: collaborative documents (PROTOCOL §5) over the stock y-websocket provider, so
 * any Yjs editor binding works with what `open()` returns. What the SDK adds is the login: every
 * connection attempt carries the client's current access token (y-websocket builds its URL from
 * `params` on each attempt), a refused or expired one is renewed before the next attempt, and a
 * close that says "stop" (the login ended, no longer a member, document deleted) is reported.
 *
 * yjs and y-websocket are loaded on first use, so apps that never open a document do not carry them.
 */
import { ErrorCode } from '@switchboard/protocol';
import type { Awareness } from 'y-protocols/awareness';
import type { WebsocketProvider } from 'y-websocket';
import type { Doc } from 'yjs';
import { Emitter } from './emitter.js';
import { SwitchboardError } from './errors.js';
import type { TokenSource } from './tokens.js';

/** What the final closes of PROTOCOL §5 mean (4400, a malformed frame, is INVALID_ARGUMENT). */
const FINAL_CLOSES: Record<number, ErrorCode> = {
  4401: ErrorCode.UNAUTHENTICATED,
  4403: ErrorCode.FORBIDDEN,
  4404: ErrorCode.NOT_FOUND,
  4413: ErrorCode.PAYLOAD_TOO_LARGE,
};

export interface CollabOpenOptions {
  /** The Yjs document to bind; a new one by default. Its text is the `Y.Text` named `content`. */
  doc?: Doc;
  /** A WebSocket class where the platform has none (Node 20: `ws`'s `WebSocket`). */
  WebSocketPolyfill?: unknown;
}

export interface CollabSessionEvents {
  /** Synced with the server (again after every reconnect). */
  synced: () => void;
  /**
   * The server closed the document for good: `FORBIDDEN` (left the room), `NOT_FOUND` (deleted),
   * `UNAUTHENTICATED` (login ended), `PAYLOAD_TOO_LARGE` (an edit would pass the document's size limit).
   */
  closed: (error: SwitchboardError) => void;
}

/** An open document: bind `doc` and `awareness` to an editor; `close()` when done. */
export class CollabSession extends Emitter<CollabSessionEvents> {
  constructor(
    readonly doc: Doc,
    readonly provider: WebsocketProvider,
    private readonly stopRenewals: () => void,
  ) {
    super();
    provider.on('sync', (synced: boolean) => {
      if (synced) this.emit('synced');
    });
    // y-websocket stops by itself on 44xx closes; say why.
    provider.on('closed', ({ code, reason }: { code: number; reason: string }) => {
      this.emit('closed', new SwitchboardError(FINAL_CLOSES[code] ?? ErrorCode.INVALID_ARGUMENT, reason || `the document was closed (${code})`));
    });
  }

  get awareness(): Awareness {
    return this.provider.awareness;
  }

  /** The document's text (`Y.Text` `content`). */
  get text() {
    return this.doc.getText('content');
  }

  /** Disconnects and stops reconnecting; the local `doc` stays as it is. */
  close(): void {
    this.stopRenewals();
    this.provider.destroy();
  }
}

export class CollabApi {
  constructor(
    /** The node this client uses now (it moves with the connection). */
    private readonly baseUrl: () => string,
    private readonly tokens: TokenSource,
  ) {}

  /** Opens document `docId` (a member of its room only). Resolves once connecting has begun. */
  async open(docId: string, options: CollabOpenOptions = {}): Promise<CollabSession> {
    const [{ WebsocketProvider }, Y, token] = await Promise.all([import('y-websocket'), import('yjs'), this.tokens.get()]);
    const doc = options.doc ?? new Y.Doc();
    const endpoint = `${this.baseUrl().replace(/^http/, 'ws').replace(/\/$/, '')}/collab`;
    const provider = new WebsocketProvider(endpoint, docId, doc, {
      params: { token },
      // Every edit goes through the server, which stores it before anyone else gets it; y-websocket
      // would otherwise also hand edits to other sessions of the same browser (or process) directly.
      disableBc: true,
      ...(options.WebSocketPolyfill ? { WebSocketPolyfill: options.WebSocketPolyfill as typeof WebSocket } : {}),
    });
    const session = new CollabSession(doc, provider, this.tokens.on('renewed', (fresh) => {
      provider.params.token = fresh;
    }));
    const renew = (refused: boolean) => {
      if (refused) this.tokens.invalidate(provider.params.token);
      this.tokens.get().then(
        (fresh) => {
          provider.params.token = fresh;
        },
        () => provider.disconnect(), // the login ended: the client reports it
      );
    };
    // A refused upgrade (401) shows as an error before any open: renew the token for the next attempt.
    provider.on('connection-error', () => renew(true));
    // A lost connection: the next attempt takes the current token, renewed if it is near expiry.
    provider.on('connection-close', () => renew(false));
    return session;
  }
}
