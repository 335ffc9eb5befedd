/**
 * `createClient()`: the Switchboard SDK's entry point. One client is one signed-in user on one
 * server: a single connection for every namespace (see connection.ts), tokens kept fresh (see
 * tokens.ts), `client.chat`, `client.notifications`, `client.files`, `client.game` and, for admins, `client.monitor`,
 * and a connection `state` for UIs.
 */
import { ErrorCode, type Session, type User } from '@switchboard/protocol';
import { ChatApi, type SyncState } from './chat.js';
import { CollabApi } from './collab.js';
import { AccountsApi } from './accounts.js';
import { DocsApi } from './docs.js';
import { Connection, type ConnectionState } from './connection.js';
import { Emitter } from './emitter.js';
import { SwitchboardError } from './errors.js';
import { FilesApi } from './files.js';
import { GameApi } from './game.js';
import { IntegrationsApi } from './integrations.js';
import { MonitorApi } from './monitor.js';
import { NotificationsApi } from './notifications.js';
import { TokenSource, type Credentials } from './tokens.js';

/** Every option's default. */
export const ClientDefaults = {
  /** Socket.IO path on the server. */
  path: '/socket.io/',
  /** Tried in this order: WebSocket first, long-polling when a WebSocket cannot be opened. */
  transports: ['websocket', 'polling'] as ('websocket' | 'polling')[],
  /** First reconnection delay, ms; doubles with each failed attempt. */
  reconnectionDelay: 1000,
  /** Largest reconnection delay, ms. */
  reconnectionDelayMax: 5000,
  /** 0..1: each delay varies by up to this fraction either way, so clients do not return in lockstep. */
  randomizationFactor: 0.5,
  /** How long a request waits for its acknowledgement, ms; an unanswered `message:send` is retried. */
  requestTimeout: 10_000,
};

export type ClientOptions = Credentials & {
  /** The server's base URL, e.g. `https://chat.example.com`. */
  url: string;
  /**
   * Base URLs of other nodes of the same deployment (several nodes without a load balancer in
   * front). Each reconnection attempt moves on to the next URL, `url` first, round-robin, so a
   * client whose node died reconnects to another one; HTTP calls (token refresh) follow along.
   */
  fallbackUrls?: string[];
  path?: string;
  transports?: ('websocket' | 'polling')[];
  reconnectionDelay?: number;
  reconnectionDelayMax?: number;
  randomizationFactor?: number;
  requestTimeout?: number;
  /** Continue delivery where an earlier run stopped (`client.chat.syncState()`); default: from now. */
  resumeFrom?: SyncState;
};

export interface ClientEvents {
  state: (state: ConnectionState) => void;
  /** A new Session after a login or refresh: store it if sessions are persisted (its refresh token replaced the old one). */
  session: (session: Session) => void;
  /** The client stopped for good (the login ended and cannot be renewed); `state` is `disconnected`. */
  error: (error: SwitchboardError) => void;
}

const closedError = () => new SwitchboardError(ErrorCode.UNAVAILABLE, 'client closed', { local: true });

export class SwitchboardClient extends Emitter<ClientEvents> {
  readonly chat: ChatApi;
  readonly notifications: NotificationsApi;
  readonly files: FilesApi;
  /** Admins only; opened on `monitor.open()` or its first request, never before. */
  readonly monitor: MonitorApi;
  /** Light Cycles; `/game` is opened on `game.open()` or its first request, never before. */
  readonly game: GameApi;
  /** Collaborative documents: `open(docId)` → a Yjs doc, its awareness and the y-websocket provider. */
  readonly collab: CollabApi;
  /** A room's documents over HTTP (list, create, rename, delete, versions) and `changed` events. */
  readonly docs: DocsApi;
  /** Bots (admins) and a room's webhooks over HTTP. */
  readonly integrations: IntegrationsApi;
  /** The user's display name and password, invite links, and (admins) account management. */
  readonly accounts: AccountsApi;
  private readonly tokens: TokenSource;
  private readonly conn: Connection;
  private synced = false;
  private failure: SwitchboardError | undefined;

  constructor(options: ClientOptions) {
    super();
    const backoff = {
      min: options.reconnectionDelay ?? ClientDefaults.reconnectionDelay,
      max: options.reconnectionDelayMax ?? ClientDefaults.reconnectionDelayMax,
      jitter: options.randomizationFactor ?? ClientDefaults.randomizationFactor,
    };
    this.tokens = new TokenSource(() => this.conn.url, options, backoff);
    this.conn = new Connection(this.tokens, {
      url: options.url,
      fallbackUrls: options.fallbackUrls ?? [],
      path: options.path ?? ClientDefaults.path,
      transports: [...(options.transports ?? ClientDefaults.transports)],
      backoff,
      requestTimeout: options.requestTimeout ?? ClientDefaults.requestTimeout,
    });
    this.chat = new ChatApi(this.conn, { backoff, resumeFrom: options.resumeFrom, me: () => this.tokens.user?.id });
    this.notifications = new NotificationsApi(this.conn);
    this.files = new FilesApi(options.url, this.tokens);
    this.monitor = new MonitorApi(this.conn);
    this.game = new GameApi(this.conn, () => this.conn.url, this.tokens);
    this.collab = new CollabApi(() => this.conn.url, this.tokens);
    this.docs = new DocsApi(() => this.conn.url, this.tokens, this.conn);
    this.integrations = new IntegrationsApi(() => this.conn.url, this.tokens);
    this.accounts = new AccountsApi(() => this.conn.url, this.tokens);

    this.tokens.on('session', (session) => this.emit('session', session));
    this.conn.on('state', (state) => this.emit('state', state));
    this.conn.on('fatal', (err) => {
      this.failure = err;
      this.chat.close(err);
      this.emit('error', err);
    });
    this.conn.chat.on('disconnect', () => {
      this.synced = false;
    });
    this.chat.on('synced', () => {
      this.synced = this.conn.chat.connected;
    });
    this.conn.start();
  }

  /** `connecting` → `connected` ⇄ `reconnecting`, and `disconnected` at the end. */
  get state(): ConnectionState {
    return this.conn.state;
  }

  /** The signed-in user, once known. */
  get user(): User | undefined {
    return this.tokens.user;
  }

  /** The current Session (undefined when tokens come from `getToken`). */
  get session(): Session | undefined {
    return this.tokens.currentSession;
  }

  /** Resolves when connected and caught up; rejects when the client closes or its login ends first. */
  ready(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.conn.isClosed) return Promise.reject(closedError());
    if (this.synced && this.state === 'connected') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.failure || this.conn.isClosed) {
          stop();
          reject(this.failure ?? closedError());
        } else if (this.synced && this.state === 'connected') {
          stop();
          resolve();
        }
      };
      const offs = [this.chat.on('synced', check), this.on('state', check), this.on('error', check)];
      const stop = () => offs.forEach((off) => off());
    });
  }

  /** Disconnects for good; pending sends reject. The login stays valid (see `logout()`). */
  close(): void {
    this.conn.close();
    this.chat.close(closedError());
  }

  /** Closes the client and ends its login on the server (`POST /api/auth/logout`). */
  async logout(): Promise<void> {
    this.close();
    await this.tokens.logout();
  }
}

/** Creates a client and starts connecting; `await client.ready()` to wait for the first connect. */
export function createClient(options: ClientOptions): SwitchboardClient {
  return new SwitchboardClient(options);
}
