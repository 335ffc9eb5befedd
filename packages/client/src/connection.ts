/**
 * One connection for every namespace: a single Socket.IO Manager (one WebSocket, or one polling
 * session) shared by `/chat` and `/notifications` — and `/monitor` and `/game`, opened only when asked
 * (the server refuses `/monitor` to everyone but admins, and only players need `/game`) — authenticated with whatever token is current at each
 * (re)connect, and kept alive through everything that can drop it:
 *
 * - transport loss (network, `server:draining`, a node going away): the Manager reconnects by
 *   itself, with exponential backoff and jitter — to the next of the deployment's URLs, when
 *   fallback URLs are given;
 * - a server-side disconnect (`io server disconnect`: `disconnectSockets()`, `auth:expired`) and
 *   a refused handshake (`connect_error`): Socket.IO leaves the socket down on purpose, so this
 *   module reconnects it, with the same backoff, after dropping the refused token — except a
 *   `FORBIDDEN` refusal, which another attempt would only repeat;
 * - token expiry: renewed tokens are handed to live sockets with `auth:renew`.
 *
 * Only `close()` (or a login that can no longer be renewed) stops it.
 */
import {
  ErrorCode,
  Namespace,
  type ChatClientToServer,
  type ChatServerToClient,
  type CommonClientToServer,
  type GameClientToServer,
  type GameServerToClient,
  type MonitorClientToServer,
  type MonitorServerToClient,
  type NotificationsClientToServer,
  type NotificationsServerToClient,
} from '@switchboard/protocol';
import { Manager, type Socket } from 'socket.io-client';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { Emitter } from './emitter.js';
import { SwitchboardError } from './errors.js';
import { baseUrl } from './http.js';
import type { TokenSource } from './tokens.js';

export type ChatSocket = Socket<ChatServerToClient, ChatClientToServer>;
export type NotificationsSocket = Socket<NotificationsServerToClient, NotificationsClientToServer>;
export type MonitorSocket = Socket<MonitorServerToClient, MonitorClientToServer>;
export type GameSocket = Socket<GameServerToClient, GameClientToServer>;

/** The `/monitor` socket and its typed requests. */
export interface MonitorChannel {
  socket: MonitorSocket;
  requests: Requester<MonitorClientToServer>;
}

/** The `/game` socket and its typed requests. */
export interface GameChannel {
  socket: GameSocket;
  requests: Requester<GameClientToServer>;
}

/**
 * - `connecting`: not connected yet since the client was created;
 * - `connected`: every namespace is connected (`/chat` and `/notifications`; `/monitor` and `/game` have their own signals);
 * - `reconnecting`: was connected, lost (part of) it, and is coming back by itself;
 * - `disconnected`: closed, logged out, or the login ended; it does not come back.
 */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

export interface ConnectionOptions {
  url: string;
  /** More base URLs of the same deployment: each reconnection attempt moves to the next one. */
  fallbackUrls: string[];
  path: string;
  transports: ('websocket' | 'polling')[];
  backoff: BackoffOptions;
  requestTimeout: number;
}

type AckOf<F> = F extends (...args: infer A) => void ? NonNullable<A[1]> : never;
/** The payload of request `F` (an event map entry). */
export type PayloadOf<F> = F extends (payload: infer P, ...rest: never[]) => void ? P : never;
/** The successful acknowledgement of request `F`: `{ ok: true, ...result }`. */
export type AnswerOf<F> = Extract<Parameters<Extract<AckOf<F>, (...args: never[]) => void>>[0], { ok: true }>;

interface LooseSocket {
  timeout(ms: number): { emitWithAck(event: string, ...args: unknown[]): Promise<unknown> };
}

/** Typed requests on one namespace: exactly one answer, or a SwitchboardError. */
export class Requester<Map> {
  constructor(
    private readonly socket: Socket,
    private readonly defaultTimeout: number,
  ) {}

  async send<E extends keyof Map & string>(
    event: E,
    payload: PayloadOf<Map[E]>,
    timeoutMs = this.defaultTimeout,
  ): Promise<AnswerOf<Map[E]>> {
    let answer: unknown;
    try {
      answer = await (this.socket as unknown as LooseSocket).timeout(timeoutMs).emitWithAck(event, payload);
    } catch (err) {
      throw SwitchboardError.noAnswer(event, err);
    }
    if (typeof answer === 'object' && answer !== null && (answer as { ok?: unknown }).ok === true) {
      return answer as AnswerOf<Map[E]>;
    }
    throw SwitchboardError.fromWire((answer as { error?: unknown } | null | undefined)?.error, `${event} failed`);
  }
}

/** Engine.IO's host options for a base URL. */
function socketTarget(url: string): { hostname: string; port: string; secure: boolean } {
  const parsed = new URL(url);
  const secure = parsed.protocol === 'https:' || parsed.protocol === 'wss:';
  // An IPv6 hostname comes in brackets, which Engine.IO adds itself.
  return { hostname: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port: parsed.port || (secure ? '443' : '80'), secure };
}

/** One namespace's socket and what the connection tracks about it. */
class Link {
  readonly socket: Socket;
  readonly renew: Requester<CommonClientToServer>;
  /** The access token this socket authenticated (or last renewed) with. */
  token: string | undefined;
  /** Failed reconnects in a row, for the backoff. */
  attempts = 0;
  timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    manager: Manager,
    nsp: Namespace,
    auth: (link: Link, cb: (data: object) => void) => void,
    timeout: number,
    /** Whether the connection `state` follows this namespace. */
    readonly essential: boolean,
  ) {
    this.socket = manager.socket(nsp, { auth: (cb) => auth(this, cb) });
    this.renew = new Requester(this.socket, timeout);
  }
}

export interface ConnectionEvents {
  state: (state: ConnectionState) => void;
  /** The login cannot be renewed any more; the connection has closed. */
  fatal: (error: SwitchboardError) => void;
}

export class Connection extends Emitter<ConnectionEvents> {
  readonly chat: ChatSocket;
  readonly notifications: NotificationsSocket;
  readonly chatRequests: Requester<ChatClientToServer>;
  readonly notificationRequests: Requester<NotificationsClientToServer>;
  private readonly manager: Manager;
  private readonly links: Link[] = [];
  private monitorLink: { link: Link; channel: MonitorChannel } | undefined;
  private gameLink: { link: Link; channel: GameChannel } | undefined;
  private readonly urls: string[];
  private endpoint = 0;
  private current: ConnectionState = 'connecting';
  private everConnected = false;
  private closed = false;

  constructor(
    private readonly tokens: TokenSource,
    private readonly options: ConnectionOptions,
  ) {
    super();
    this.urls = [options.url, ...options.fallbackUrls].map(baseUrl);
    // The node is given as host options rather than a URI: the Manager reads them at every
    // (re)connection, so moving to another node is a change of these options.
    this.manager = new Manager({
      ...socketTarget(this.url),
      path: options.path,
      transports: options.transports,
      // WebSocket first; when it cannot be opened, fall back to the next transport (polling).
      tryAllTransports: options.transports.length > 1,
      reconnectionDelay: options.backoff.min,
      reconnectionDelayMax: options.backoff.max,
      randomizationFactor: options.backoff.jitter,
      autoConnect: false,
    });
    const chat = this.link(Namespace.chat, true).socket;
    const notifications = this.link(Namespace.notifications, true).socket;
    this.chat = chat as unknown as ChatSocket;
    this.notifications = notifications as unknown as NotificationsSocket;
    this.chatRequests = new Requester(chat, options.requestTimeout);
    this.notificationRequests = new Requester(notifications, options.requestTimeout);

    if (this.urls.length > 1) {
      this.manager.on('reconnect_attempt', () => {
        this.endpoint = (this.endpoint + 1) % this.urls.length;
        Object.assign(this.manager.opts, socketTarget(this.url));
      });
    }
    tokens.on('renewed', (token) => this.renewSockets(token));
    tokens.on('fatal', (err) => {
      this.emit('fatal', err);
      this.close();
    });
  }

  get state(): ConnectionState {
    return this.current;
  }

  /** The base URL of the node in use (or being tried). */
  get url(): string {
    return this.urls[this.endpoint] ?? this.options.url;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  start(): void {
    for (const link of this.links) link.socket.connect();
  }

  /**
   * Connects `/monitor`, creating its socket on first use. Admins only: anyone else's handshake is
   * refused with `FORBIDDEN` (a `connect_error` on the socket), and it is not retried.
   */
  openMonitor(): MonitorChannel {
    if (!this.monitorLink) {
      const link = this.link(Namespace.monitor, false);
      const requests = new Requester<MonitorClientToServer>(link.socket, this.options.requestTimeout);
      this.monitorLink = { link, channel: { socket: link.socket as unknown as MonitorSocket, requests } };
    }
    const { link, channel } = this.monitorLink;
    if (!this.closed && !link.socket.active) link.socket.connect();
    return channel;
  }

  /** Disconnects `/monitor` until the next `openMonitor()`. */
  closeMonitor(): void {
    if (this.monitorLink) this.disconnectLink(this.monitorLink.link);
  }

  /** Connects `/game`, creating its socket on first use. */
  openGame(): GameChannel {
    if (!this.gameLink) {
      const link = this.link(Namespace.game, false);
      const requests = new Requester<GameClientToServer>(link.socket, this.options.requestTimeout);
      this.gameLink = { link, channel: { socket: link.socket as unknown as GameSocket, requests } };
    }
    const { link, channel } = this.gameLink;
    if (!this.closed && !link.socket.active) link.socket.connect();
    return channel;
  }

  /** Disconnects `/game` until the next `openGame()` (a seated player's seat is then held, then forfeited). */
  closeGame(): void {
    if (this.gameLink) this.disconnectLink(this.gameLink.link);
  }

  private disconnectLink(link: Link): void {
    clearTimeout(link.timer);
    link.timer = undefined;
    link.socket.disconnect();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.tokens.close();
    for (const link of this.links) {
      clearTimeout(link.timer);
      link.socket.disconnect();
    }
    this.update();
  }

  private link(nsp: Namespace, essential: boolean): Link {
    // `auth` is a function, so every (re)connect presents the token that is current at that moment.
    const auth = (link: Link, cb: (data: object) => void) => {
      this.tokens.get().then(
        (token) => {
          link.token = token;
          if (!this.closed) cb({ token });
        },
        // No token now (network, or the login ended: then `fatal` closes everything). An empty
        // handshake is refused, and the refusal goes through the usual backoff.
        () => {
          if (!this.closed) cb({});
        },
      );
    };
    const link = new Link(this.manager, nsp, auth, this.options.requestTimeout, essential);
    const { socket } = link;
    this.links.push(link);

    socket.on('connect', () => {
      link.attempts = 0;
      // A renewal that happened during the handshake has not reached this socket yet.
      const latest = this.tokens.latest;
      if (latest !== undefined && latest !== link.token) this.renew(link, latest);
      this.update();
    });
    socket.on('disconnect', (reason) => {
      this.update();
      // Socket.IO does not come back by itself after a server-side disconnect.
      if (reason === 'io server disconnect') this.reconnectLater(link);
    });
    socket.on('connect_error', (err) => {
      // An active socket lost the transport: the Manager retries on its own schedule.
      if (this.closed || socket.active) return;
      if (err.message === ErrorCode.UNAUTHENTICATED) this.tokens.invalidate(link.token);
      if (err.message !== ErrorCode.FORBIDDEN) this.reconnectLater(link);
      this.update();
    });
    // The server disconnects right after this; the reconnect must not present the same token.
    socket.on('auth:expired', () => this.tokens.invalidate(link.token));
    return link;
  }

  private reconnectLater(link: Link): void {
    if (this.closed || link.timer !== undefined) return;
    link.timer = setTimeout(() => {
      link.timer = undefined;
      if (!this.closed && !link.socket.connected) link.socket.connect();
    }, backoffDelay(link.attempts++, this.options.backoff));
  }

  private renewSockets(token: string): void {
    for (const link of this.links) if (link.socket.connected && link.token !== token) this.renew(link, token);
  }

  private renew(link: Link, token: string): void {
    link.renew.send('auth:renew', { token }).then(
      () => {
        link.token = token;
      },
      // Refused or unanswered: the server then expires the socket and the reconnect
      // authenticates afresh, so there is nothing more to do here.
      () => undefined,
    );
  }

  private update(): void {
    const next: ConnectionState = this.closed
      ? 'disconnected'
      : this.links.every((l) => !l.essential || l.socket.connected)
        ? 'connected'
        : this.everConnected
          ? 'reconnecting'
          : 'connecting';
    if (next === 'connected') this.everConnected = true;
    if (next === this.current) return;
    this.current = next;
    this.emit('state', next);
  }
}
