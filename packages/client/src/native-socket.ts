/**
 * `NativeSocket`: the SDK's client of the plain-WebSocket gateway `/ws` (PROTOCOL §8), for apps
 * that want one bare WebSocket instead of Socket.IO — with the same guarantees as the Socket.IO
 * client: every message of a subscribed room exactly once and in order across reconnects, and
 * every publish stored exactly once.
 *
 * - Connection: opens `/ws`, sends the `auth` frame with the token current at each (re)connect
 *   (tokens.ts: a password login, a Session refreshed as it nears expiry, or the app's provider,
 *   asked again on every reconnect), and hands renewed tokens to the live connection as a new
 *   `auth` frame, so the server never closes it for an expired token.
 * - Reconnection: exponential backoff with jitter (backoff.ts) after anything but a close that
 *   another attempt would only repeat: 1000 (closed on purpose), 4001 (the login ended or the
 *   token was refused) and 4003 (the account is gone). 1001 is a draining node: reconnect.
 * - Heartbeat: `{type:"ping"}` every `heartbeatIntervalMs`; a connection that brings no frame
 *   back within `heartbeatTimeoutMs` is dead (a half-open TCP connection never reports a close
 *   by itself) and is replaced.
 * - Requests: `{type, id, …}` answered by the reply with that `id`, as promises with timeouts.
 * - Publishing: the outbox (outbox.ts) retries each message with its fixed `clientMsgId` until
 *   acknowledged; the server stores it once.
 * - Subscriptions: resubscribed on every connect with `afterSeq` = the last seq delivered; the
 *   sequencer (sequencer.ts) drops repeats and holds what follows a gap while the room is
 *   resubscribed from where delivery stopped.
 *
 * Browsers use the global `WebSocket`; Node before 22 has none, so pass one (e.g. the `ws`
 * package's) as the `WebSocket` option.
 */
import {
  ErrorCode,
  GatewayCloseCode,
  type GatewayEvents,
  type GatewayReplies,
  type GatewayRequest,
  type GatewayRequestType,
  type GatewayServerFrame,
  type Message,
  type PresenceEvent,
  type ReadEvent,
  type Session,
  type TypingEvent,
  type User,
} from '@switchboard/protocol';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { Emitter } from './emitter.js';
import { SwitchboardError } from './errors.js';
import { baseUrl } from './http.js';
import { newClientMsgId } from './ids.js';
import { Outbox, type OutboxEntry } from './outbox.js';
import { Sequencer } from './sequencer.js';
import { TokenSource, type Credentials } from './tokens.js';

/** The part of the WebSocket API (WHATWG) this client uses: browsers' `WebSocket` and the `ws` package's both have it. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  // Handlers take `never` so that every implementation's own event types fit; this client
  // reads only `data` (message) and `code`/`reason` (close), which both APIs define alike.
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** The connection's states; events `state` report each change. */
export const NativeSocketState = {
  /** Opening a connection, or waiting (backoff) to open the next one. */
  CONNECTING: 'connecting',
  /** Authenticated (`ready` received): requests and publishes flow. */
  OPEN: 'open',
  /** `close()` was called; the connection is closing. */
  CLOSING: 'closing',
  /** Stopped for good: `close()`, a close code that forbids reconnecting, or a login that cannot be renewed. */
  CLOSED: 'closed',
} as const;
export type NativeSocketState = (typeof NativeSocketState)[keyof typeof NativeSocketState];

/** Close codes after which reconnecting would only be refused again. */
const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([1000, GatewayCloseCode.UNAUTHENTICATED, GatewayCloseCode.FORBIDDEN]);

/** Every option's default. */
export const NativeSocketDefaults = {
  /** Path of the gateway on the server. */
  path: '/ws',
  /** Reconnection delays: the first, ms; doubling up to `max`; each varies by ± `jitter`. */
  backoff: { min: 500, max: 10_000, jitter: 0.5 } as BackoffOptions,
  /** How long a request waits for its reply (including the wait for a connection), ms. */
  requestTimeoutMs: 10_000,
  /** How long a connection may take from opening to `ready`, ms, before it is dropped and retried. */
  connectTimeoutMs: 10_000,
  /** A `ping` frame this often, ms. */
  heartbeatIntervalMs: 25_000,
  /** No frame at all within this long after a ping: the connection is dead and is replaced, ms. */
  heartbeatTimeoutMs: 10_000,
};

export type NativeSocketOptions = Credentials & {
  /** The server's base URL, e.g. `https://chat.example.com` (HTTP: tokens are refreshed there too). */
  url: string;
  /** A WebSocket class; default: the global `WebSocket`. */
  WebSocket?: WebSocketConstructor;
} & Partial<typeof NativeSocketDefaults>;

export interface DisconnectInfo {
  code: number;
  reason: string;
  /** Another attempt follows after `delayMs`; false when the socket is closed for good. */
  willReconnect: boolean;
  delayMs: number | undefined;
}

export interface NativeSocketEvents {
  state: (state: NativeSocketState) => void;
  /** The connection is authenticated (again). */
  open: (user: User) => void;
  /** A new Session from a login or refresh: apps that persist sessions must store this one (its refresh token replaced the old one). */
  session: (session: Session) => void;
  disconnect: (info: DisconnectInfo) => void;
  /** A message of a subscribed room: each seq exactly once, in order per room. */
  message: (message: Message) => void;
  /** An edit or deletion of a delivered message, once per version. */
  messageUpdated: (message: Message) => void;
  typing: (event: TypingEvent) => void;
  read: (event: ReadEvent) => void;
  presence: (event: PresenceEvent) => void;
  /** An outbox entry changed (pending → sent / failed). */
  outbox: (entry: OutboxEntry) => void;
  /** The socket stopped for good because of this (a final close code, a login that ended). */
  error: (error: SwitchboardError) => void;
}

/** The fields of request `T` besides `type` and `id`. */
export type NativeRequestFields<T extends GatewayRequestType> = Omit<Extract<GatewayRequest, { type: T }>, 'type' | 'id'>;

interface Pending {
  type: GatewayRequestType;
  frame: Record<string, unknown>;
  resolve: (value: Record<string, unknown>) => void;
  reject: (error: SwitchboardError) => void;
  timer: ReturnType<typeof setTimeout>;
  /** The connection it was written to; undefined while it waits for one. */
  sentOn: WebSocketLike | undefined;
}

interface Subscription {
  /** `subscribe` without `afterSeq` starts after the room's latest message: what arrives before its reply is held here. */
  early: Message[] | undefined;
  /** Counts subscribe requests: only the latest one's answer counts. */
  attempt: number;
  /** A (re)subscribe in flight on the current connection. */
  inFlight: boolean;
  /** `subscribe()` calls waiting for the first reply. */
  waiters: { resolve: (value: { lastSeq: number }) => void; reject: (error: SwitchboardError) => void }[];
}

/** The reason a close code's error gives. */
function closeError(code: number, reason: string): SwitchboardError {
  const errorCode = code === GatewayCloseCode.FORBIDDEN ? ErrorCode.FORBIDDEN : code === 1000 ? ErrorCode.UNAVAILABLE : ErrorCode.UNAUTHENTICATED;
  return new SwitchboardError(errorCode, `connection closed (${code})${reason ? `: ${reason}` : ''}`);
}

export class NativeSocket extends Emitter<NativeSocketEvents> {
  private readonly url: string;
  private readonly options: typeof NativeSocketDefaults;
  private readonly WebSocketClass: WebSocketConstructor;
  private readonly tokens: TokenSource;
  private readonly providesTokens: boolean;
  private readonly outbox: Outbox;
  private readonly sequencer: Sequencer;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly pending = new Map<number, Pending>();
  private ws: WebSocketLike | undefined;
  private current: NativeSocketState = NativeSocketState.CONNECTING;
  private attempts = 0;
  private connects = 0;
  private nextId = 1;
  private timers: { retry?: ReturnType<typeof setTimeout>; connect?: ReturnType<typeof setTimeout>; ping?: ReturnType<typeof setInterval>; dead?: ReturnType<typeof setTimeout> } = {};
  private readyWaiters: { resolve: () => void; reject: (e: SwitchboardError) => void }[] = [];
  /** The signed-in user, once the first connection is ready. */
  user: User | undefined;

  constructor(options: NativeSocketOptions) {
    super();
    const { url, WebSocket: WebSocketClass, ...rest } = options;
    this.options = { ...NativeSocketDefaults };
    for (const key of Object.keys(NativeSocketDefaults) as (keyof typeof NativeSocketDefaults)[]) {
      if (rest[key] !== undefined) Object.assign(this.options, { [key]: rest[key] });
    }
    const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    const chosen = WebSocketClass ?? global;
    if (!chosen) throw new SwitchboardError(ErrorCode.INVALID_ARGUMENT, 'no global WebSocket here: pass the WebSocket option', { local: true });
    this.WebSocketClass = chosen;
    this.url = baseUrl(url);
    const credentials: Credentials =
      'getToken' in options ? { getToken: options.getToken } : 'session' in options ? { session: options.session } : { username: options.username, password: options.password };
    this.providesTokens = 'getToken' in credentials;
    this.tokens = new TokenSource(() => this.url, credentials, this.options.backoff);
    this.tokens.on('renewed', (token) => {
      if (this.current === NativeSocketState.OPEN) this.write({ type: 'auth', token });
    });
    this.tokens.on('fatal', (error) => this.stop(error));
    this.tokens.on('session', (session) => this.emit('session', session));
    this.outbox = new Outbox(
      {
        send: async (entry) =>
          (
            await this.request('publish', {
              roomId: entry.roomId,
              clientMsgId: entry.clientMsgId,
              text: entry.text,
              ...(entry.attachmentIds ? { attachmentIds: [...entry.attachmentIds] } : {}),
            })
          ).message,
        connected: () => this.current === NativeSocketState.OPEN,
        changed: (entry) => this.emit('outbox', entry),
      },
      this.options.backoff,
    );
    this.sequencer = new Sequencer({
      deliver: (message) => this.emit('message', message),
      update: (message) => this.emit('messageUpdated', message),
      gap: (roomId) => this.resubscribe(roomId),
    });
    this.open();
  }

  get state(): NativeSocketState {
    return this.current;
  }

  /** Resolves once the connection is open (at once when it is); rejects when the socket stops for good first. */
  ready(): Promise<void> {
    if (this.current === NativeSocketState.OPEN) return Promise.resolve();
    if (this.current === NativeSocketState.CLOSED || this.current === NativeSocketState.CLOSING) {
      return Promise.reject(new SwitchboardError(ErrorCode.UNAVAILABLE, 'socket closed', { local: true }));
    }
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /**
   * Sends a request and resolves with its reply's fields; rejects with the reply's error, or a
   * `local` UNAVAILABLE error when no reply came in `timeoutMs` (the request may have been applied).
   * Requests made while the socket is connecting are sent once it is open.
   */
  request<T extends GatewayRequestType>(type: T, fields: NativeRequestFields<T>, options: { timeoutMs?: number } = {}): Promise<GatewayReplies[T]> {
    if (this.current === NativeSocketState.CLOSED || this.current === NativeSocketState.CLOSING) {
      return Promise.reject(new SwitchboardError(ErrorCode.UNAVAILABLE, 'socket closed', { local: true }));
    }
    const id = this.nextId++;
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs;
    return new Promise<GatewayReplies[T]>((resolve, reject) => {
      const entry: Pending = {
        type,
        frame: { ...fields, type, id },
        resolve: resolve as (value: Record<string, unknown>) => void,
        reject,
        sentOn: undefined,
        timer: setTimeout(() => {
          this.pending.delete(id);
          reject(SwitchboardError.noAnswer(type, new Error(`no reply within ${timeoutMs} ms`)));
        }, timeoutMs),
      };
      this.pending.set(id, entry);
      if (this.current === NativeSocketState.OPEN) this.sendPending(entry);
    });
  }

  /**
   * Subscribes to a room: messages after `afterSeq` (default: from now on) are delivered as
   * `message` events, exactly once and in order, and keep coming across reconnects. Resolves with
   * the seq the live stream continues after; rejects when the server refuses (not a member).
   */
  subscribe(roomId: string, options: { afterSeq?: number } = {}): Promise<{ lastSeq: number }> {
    if (this.current === NativeSocketState.CLOSED || this.current === NativeSocketState.CLOSING) {
      return Promise.reject(new SwitchboardError(ErrorCode.UNAVAILABLE, 'socket closed', { local: true }));
    }
    if (options.afterSeq !== undefined) {
      this.sequencer.untrack(roomId);
      this.sequencer.track(roomId, options.afterSeq);
    }
    const subscription: Subscription = { early: undefined, attempt: 0, inFlight: false, waiters: [] };
    this.subscriptions.get(roomId)?.waiters.splice(0).forEach((w) => subscription.waiters.push(w));
    this.subscriptions.set(roomId, subscription);
    return new Promise((resolve, reject) => {
      subscription.waiters.push({ resolve, reject });
      this.resubscribe(roomId);
    });
  }

  /** Stops delivering a room. */
  async unsubscribe(roomId: string): Promise<void> {
    this.subscriptions.delete(roomId);
    this.sequencer.untrack(roomId);
    if (this.current === NativeSocketState.OPEN) await this.request('unsubscribe', { roomId });
  }

  /** The last seq delivered per subscribed room: save it to resume a later run with `subscribe(roomId, { afterSeq })`. */
  cursors(): Record<string, number> {
    return this.sequencer.cursors();
  }

  /**
   * Publishes a message through the outbox: retried with the same `clientMsgId` until the server
   * acknowledges it, in order per room; resolves with the stored message.
   */
  send(roomId: string, text: string, options: { clientMsgId?: string; attachmentIds?: string[] } = {}): Promise<Message> {
    return this.outbox.add({
      clientMsgId: options.clientMsgId ?? newClientMsgId(),
      roomId,
      text,
      ...(options.attachmentIds ? { attachmentIds: options.attachmentIds } : {}),
    });
  }

  /** Pending and failed publishes, in send order. */
  get pendingMessages(): OutboxEntry[] {
    return this.outbox.list();
  }

  /** Closes for good (code 1000). Pending requests and publishes reject. */
  close(): void {
    if (this.current === NativeSocketState.CLOSED || this.current === NativeSocketState.CLOSING) return;
    const ws = this.ws;
    if (ws && ws.readyState <= 1) {
      this.setState(NativeSocketState.CLOSING);
      this.shutdown(new SwitchboardError(ErrorCode.UNAVAILABLE, 'socket closed', { local: true }));
      ws.close(1000, 'closed by the client');
      return;
    }
    this.stop(new SwitchboardError(ErrorCode.UNAVAILABLE, 'socket closed', { local: true }), false);
  }

  // ------------------------------------------------------------------ connection

  private setState(state: NativeSocketState): void {
    if (this.current === state) return;
    this.current = state;
    this.emit('state', state);
  }

  private open(): void {
    this.setState(NativeSocketState.CONNECTING);
    // A token provider is asked on every reconnect, so the app can hand over a fresh token.
    if (this.providesTokens && this.connects > 0) this.tokens.invalidate(this.tokens.latest);
    this.connects++;
    this.tokens.get().then(
      (token) => {
        if (this.current !== NativeSocketState.CONNECTING) return;
        this.connect(token);
      },
      (err: unknown) => {
        if (this.current !== NativeSocketState.CONNECTING) return;
        const error = err instanceof SwitchboardError ? err : SwitchboardError.noAnswer('token', err);
        // A refused login is final (tokens.ts reports it as `fatal`); anything else is tried again.
        if (!error.local && (error.code === ErrorCode.UNAUTHENTICATED || error.code === ErrorCode.FORBIDDEN)) return;
        this.retry(0, error.message);
      },
    );
  }

  private connect(token: string): void {
    const wsUrl = `${this.url.replace(/^http/, 'ws')}${this.options.path}`;
    let ws: WebSocketLike;
    try {
      ws = new this.WebSocketClass(wsUrl);
    } catch (err) {
      this.retry(0, err instanceof Error ? err.message : String(err));
      return;
    }
    this.ws = ws;
    this.timers.connect = setTimeout(() => this.drop(ws, 4000, 'no ready in time'), this.options.connectTimeoutMs);
    ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token }));
    ws.onmessage = (event: { data: unknown }) => {
      if (this.ws !== ws) return;
      this.heard();
      if (typeof event.data !== 'string') return;
      let frame: GatewayServerFrame;
      try {
        frame = JSON.parse(event.data) as GatewayServerFrame;
      } catch {
        return;
      }
      this.onFrame(frame, token);
    };
    ws.onerror = () => undefined;
    ws.onclose = (event: { code: number; reason: string }) => {
      if (this.ws !== ws) return;
      this.onClose(event.code, event.reason);
    };
  }

  /** Abandons connection `ws` (dead, or never ready) at once: a dead peer would delay its close event for minutes. */
  private drop(ws: WebSocketLike, code: number, reason: string): void {
    if (this.ws !== ws) return;
    try {
      ws.close(code, reason);
    } catch {
      // Closing an already closing socket: nothing more to do with it.
    }
    this.onClose(1006, reason);
  }

  private onClose(code: number, reason: string): void {
    const wasClosing = this.current === NativeSocketState.CLOSING;
    this.ws = undefined;
    this.clearConnectionTimers();
    this.disconnected();
    if (wasClosing) {
      this.setState(NativeSocketState.CLOSED);
      this.emit('disconnect', { code, reason, willReconnect: false, delayMs: undefined });
      return;
    }
    if (FINAL_CLOSE_CODES.has(code)) {
      if (code === GatewayCloseCode.UNAUTHENTICATED) this.tokens.invalidate(this.tokens.latest);
      const error = closeError(code, reason);
      this.emit('disconnect', { code, reason, willReconnect: false, delayMs: undefined });
      this.stop(error);
      return;
    }
    this.retry(code, reason);
  }

  private retry(code: number, reason: string): void {
    const delayMs = backoffDelay(this.attempts++, this.options.backoff);
    this.setState(NativeSocketState.CONNECTING);
    this.emit('disconnect', { code, reason, willReconnect: true, delayMs });
    clearTimeout(this.timers.retry);
    this.timers.retry = setTimeout(() => this.open(), delayMs);
  }

  private onFrame(frame: GatewayServerFrame, token: string): void {
    switch (frame.type) {
      case 'ready':
        this.user = frame.user;
        if (this.current === NativeSocketState.CONNECTING) this.opened(token);
        return;
      case 'pong':
        return;
      case 'reply': {
        const entry = typeof frame.id === 'number' ? this.pending.get(frame.id) : undefined;
        if (!entry) return;
        this.pending.delete(frame.id as number);
        clearTimeout(entry.timer);
        if (frame.ok) {
          const { type: _type, id: _id, ok: _ok, ...result } = frame;
          entry.resolve(result);
        } else {
          entry.reject(SwitchboardError.fromWire(frame.error, `${entry.type} failed`));
        }
        return;
      }
      case 'event':
        return this.onEvent(frame);
    }
  }

  private onEvent(frame: Extract<GatewayServerFrame, { type: 'event' }>): void {
    switch (frame.event) {
      case 'message:new': {
        const message = frame.data as GatewayEvents['message:new'];
        const early = this.subscriptions.get(message.roomId)?.early;
        if (early) early.push(message);
        else this.sequencer.accept(message);
        return;
      }
      case 'message:updated':
        return this.sequencer.update(frame.data as GatewayEvents['message:updated']);
      case 'typing':
        return this.emit('typing', frame.data as TypingEvent);
      case 'read':
        return this.emit('read', frame.data as ReadEvent);
      case 'presence':
        return this.emit('presence', frame.data as PresenceEvent);
    }
  }

  private opened(token: string): void {
    clearTimeout(this.timers.connect);
    this.attempts = 0;
    this.setState(NativeSocketState.OPEN);
    this.startHeartbeat();
    // A renewal that landed while connecting was not sent: send the newest token now.
    const latest = this.tokens.latest;
    if (latest !== undefined && latest !== token) this.write({ type: 'auth', token: latest });
    for (const roomId of this.subscriptions.keys()) this.resubscribe(roomId);
    for (const entry of this.pending.values()) if (!entry.sentOn) this.sendPending(entry);
    this.outbox.pump();
    for (const waiter of this.readyWaiters.splice(0)) waiter.resolve();
    if (this.user) this.emit('open', this.user);
  }

  /** The connection is gone: what was sent on it will get no reply; what waits is sent on the next. */
  private disconnected(): void {
    for (const [id, entry] of this.pending) {
      if (!entry.sentOn) continue;
      this.pending.delete(id);
      clearTimeout(entry.timer);
      entry.reject(SwitchboardError.noAnswer(entry.type, new Error('connection lost')));
    }
    for (const subscription of this.subscriptions.values()) {
      subscription.inFlight = false;
      subscription.attempt++;
    }
  }

  /** Stops for good, reporting `error` unless the app closed the socket itself. */
  private stop(error: SwitchboardError, report = true): void {
    if (this.current === NativeSocketState.CLOSED) return;
    const ws = this.ws;
    this.ws = undefined;
    ws?.close(1000);
    this.shutdown(error);
    this.setState(NativeSocketState.CLOSED);
    if (report) this.emit('error', error);
  }

  private shutdown(error: SwitchboardError): void {
    clearTimeout(this.timers.retry);
    this.clearConnectionTimers();
    this.tokens.close();
    this.outbox.close(error);
    for (const entry of this.pending.values()) {
      clearTimeout(entry.timer);
      entry.reject(error);
    }
    this.pending.clear();
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(error);
    for (const subscription of this.subscriptions.values()) for (const waiter of subscription.waiters.splice(0)) waiter.reject(error);
  }

  // ------------------------------------------------------------------ heartbeat

  private startHeartbeat(): void {
    clearInterval(this.timers.ping);
    this.timers.ping = setInterval(() => {
      const ws = this.ws;
      if (!ws || this.timers.dead !== undefined) return;
      this.write({ type: 'ping' });
      this.timers.dead = setTimeout(() => this.drop(ws, 4000, 'heartbeat timeout'), this.options.heartbeatTimeoutMs);
    }, this.options.heartbeatIntervalMs);
  }

  /** Any frame proves the connection alive. */
  private heard(): void {
    clearTimeout(this.timers.dead);
    this.timers.dead = undefined;
  }

  private clearConnectionTimers(): void {
    clearTimeout(this.timers.connect);
    clearInterval(this.timers.ping);
    clearTimeout(this.timers.dead);
    this.timers.dead = undefined;
  }

  // ------------------------------------------------------------------ requests and rooms

  private write(frame: Record<string, unknown>): void {
    this.ws?.send(JSON.stringify(frame));
  }

  private sendPending(entry: Pending): void {
    entry.sentOn = this.ws;
    this.write(entry.frame);
  }

  /** The subscribe reply arrived: a room subscribed from "now" starts at its first message heard. */
  private started(roomId: string, subscription: Subscription, lastSeq: number): void {
    const early = subscription.early;
    if (!early) return;
    subscription.early = undefined;
    const first = early.reduce((min, m) => Math.min(min, m.seq), Infinity);
    this.sequencer.track(roomId, Number.isFinite(first) ? first - 1 : lastSeq);
    for (const message of early) this.sequencer.accept(message);
  }

  /** Subscribes a room (again) from its last delivered seq: on subscribe, after a reconnect, past a gap. */
  private resubscribe(roomId: string): void {
    const subscription = this.subscriptions.get(roomId);
    if (!subscription || subscription.inFlight || this.current !== NativeSocketState.OPEN) return;
    const afterSeq = this.sequencer.cursor(roomId);
    // Not started yet (new, or its first subscribe was cut): start from now.
    subscription.early = afterSeq === undefined ? [] : undefined;
    subscription.inFlight = true;
    const attempt = ++subscription.attempt;
    const current = () => this.subscriptions.get(roomId) === subscription && subscription.attempt === attempt;
    this.request('subscribe', afterSeq === undefined ? { roomId } : { roomId, afterSeq }).then(
      (reply) => {
        if (!current()) return;
        subscription.inFlight = false;
        this.started(roomId, subscription, reply.lastSeq);
        for (const waiter of subscription.waiters.splice(0)) waiter.resolve({ lastSeq: reply.lastSeq });
      },
      (err: unknown) => {
        if (!current()) return;
        subscription.inFlight = false;
        // No answer: tried again now if still connected, else on the next connect.
        if (err instanceof SwitchboardError && err.local) return this.resubscribe(roomId);
        // Refused (not a member, left the room): the subscription ends.
        this.subscriptions.delete(roomId);
        this.sequencer.untrack(roomId);
        const error = err instanceof SwitchboardError ? err : SwitchboardError.noAnswer('subscribe', err);
        for (const waiter of subscription.waiters.splice(0)) waiter.reject(error);
      },
    );
  }
}
