/**
 * The plain-WebSocket gateway at `/ws` (PROTOCOL §8), for devices and languages without
 * Socket.IO: JSON text frames, an auth frame within 5 s, requests with ids answered by replies,
 * room subscriptions that replay from a seq and then stream, and the same rules as Socket.IO for
 * everything else — rate limits, draining, logins that end, presence, and the per-connection send
 * budget (send-budget.ts). Every request calls the same domain services as `/chat`: publishing is
 * `MessageService.send`, idempotent per `clientMsgId`, so no business rule is written twice.
 *
 * Events come from the feed (feed.ts), which brings other nodes' changes too.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket as NetSocket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import {
  ErrorCode,
  GatewayAuthFrame,
  GatewayCloseCode,
  GatewayFrame,
  GatewayLimits,
  GatewayRequestId,
  GatewayRequestSchemas,
  Limits,
  type GatewayEventName,
  type GatewayEvents,
  type GatewayReplies,
  type GatewayRequestType,
  type GatewayServerFrame,
} from '@switchboard/protocol';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { z } from 'zod';
import { AppError, invalid } from '../domain/errors.js';
import { TypingTracker } from './chat.js';
import type { RealtimeContext } from './context.js';
import type { Feed, FeedEvent } from './feed.js';
import { gatewayEventFrame } from './feed-frames.js';
import { originAllowed, type OriginPolicy, type Realtime } from './io.js';
import { reportFailure } from './requests.js';
import { RoomStream, type RoomStreamSink } from './room-stream.js';
import { SendBudget, type BudgetedConnection, type SendBudgetOptions } from './send-budget.js';
import { corkForThisTick, tcpSocketOfWs } from './write-coalescing.js';

export interface GatewayOptions {
  /** Unsent bytes per connection (MAX_SOCKET_BUFFER_BYTES): PROTOCOL §2's budget. */
  maxBufferBytes: number;
  /** Milliseconds between WebSocket pings; a peer that has not answered the previous one is dropped. */
  pingIntervalMs: number;
  origins: OriginPolicy;
}

export interface Gateway {
  /** Refuses new connections and requests, waits for requests in flight, then closes every connection with 1001. */
  drain(timeoutMs: number): Promise<void>;
  /** Drops every connection and stops the ping timer. */
  close(): Promise<void>;
}

/** Frames a client may send behind its auth frame before `ready`. */
const MAX_HELD_FRAMES = 32;

/** Requests whose answers can be large: one at a time per connection, each only while it is under its budget. */
const LARGE_ANSWERS = new Set<string>(['subscribe', 'history']);

/** A room subscription: the stream, and how to stop hearing the room. */
interface Subscription {
  stream: RoomStream;
  unlisten: () => void;
}

type Handler = (input: never, conn: Connection) => Promise<object> | object;

/** A refused upgrade: a plain HTTP answer on the raw socket. */
function refuse(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** The text of a frame as `ws` hands it over (a Buffer, or chunks of one). */
function textOf(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** The part of `ws`'s sender that writes a frame built beforehand. */
interface FrameWriter {
  sendFrame(list: readonly Buffer[], cb: (err?: Error) => void): void;
}

/**
 * Where a connection can be handed frames built once for every connection (feed-frames.ts), or
 * undefined when `ws` must frame each send itself.
 *
 * `sendFrame` is a private member of `ws`'s sender; it is the way its maintainers give for
 * writing one pre-built frame to many sockets (https://github.com/websockets/ws/issues/617#issuecomment-283002469),
 * and engine.io uses it for Socket.IO's broadcasts in the same way and under the same checks. A
 * pre-built frame is uncompressed, so a connection that negotiated permessage-deflate is not
 * handed one (`/ws` does not offer it, see setupGateway): `ws` would compress its other sends,
 * and a frame written around its deflate queue would overtake them. Should a later `ws` drop the
 * member, every send goes through `ws.send` again.
 */
function frameWriterOf(ws: WebSocket): FrameWriter | undefined {
  if (ws.extensions !== '') return undefined;
  const sender = (ws as unknown as { _sender?: Partial<FrameWriter> })._sender;
  return typeof sender?.sendFrame === 'function' ? (sender as FrameWriter) : undefined;
}

/** `ws.send`'s options for our frames: text, also when given as bytes. */
const TEXT = { binary: false } as const;

class Connection implements BudgetedConnection {
  readonly id = `ws:${randomUUID()}`;
  state: 'auth' | 'open' | 'closed' = 'auth';
  userId = '';
  sessionId = '';
  displayName = '';
  /** Answered a ping since the last one was sent. */
  alive = true;
  readonly budget: SendBudget;
  private readonly frameWriter: FrameWriter | undefined;
  /** The TCP socket, corked while a synchronous run writes to it (write-coalescing.ts); only with `frameWriter`. */
  private readonly tcp: NetSocket | undefined;
  readonly subscriptions = new Map<string, Subscription>();
  /** Frames wait here (in order) while the auth frame is being checked. */
  gate: Promise<void> | undefined;
  /** How many frames wait for the gate. */
  held = 0;
  /** The last publish queued: the next joins a group commit after it, keeping their order. */
  sendTurn: Promise<void> | undefined;
  /** The last large-answer request queued (see LARGE_ANSWERS). */
  largeTurn: Promise<void> = Promise.resolve();
  /** `RATE_LIMITED` answers since the last accepted request. */
  refusals = 0;
  timers: { auth?: NodeJS.Timeout; expiry?: NodeJS.Timeout } = {};
  unbindSession: (() => void) | undefined;
  /** Hears this connection's rooms: one function, so a presence change for several rooms arrives once. */
  readonly listener: (event: FeedEvent) => void;

  constructor(
    readonly ws: WebSocket,
    budgetOptions: SendBudgetOptions,
    private readonly onUnread: (conn: Connection, reason: 'stalled' | 'overflow', unsent: number) => void,
    onFeed: (conn: Connection, event: FeedEvent) => void,
  ) {
    this.budget = new SendBudget(this, budgetOptions);
    this.frameWriter = frameWriterOf(ws);
    this.tcp = this.frameWriter && tcpSocketOfWs(ws);
    this.listener = (event) => onFeed(this, event);
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  unsentBytes(): number {
    return this.ws.bufferedAmount;
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  close(reason: 'stalled' | 'overflow', unsentBytes: number): void {
    this.onUnread(this, reason, unsentBytes);
  }

  send(frame: GatewayServerFrame): void {
    if (this.state === 'closed') return;
    this.ws.send(JSON.stringify(frame), TEXT, this.written);
    this.budget.check();
  }

  /**
   * Sends a feed event's frame, built once for every connection: written as it is when `ws`
   * allows (see frameWriterOf). Either way its bytes count in `bufferedAmount` — a pre-built
   * frame is written straight to the socket, whose queue that includes — so the budget sees them.
   */
  event<E extends GatewayEventName>(event: E, data: GatewayEvents[E]): void {
    if (this.state === 'closed') return;
    const frame = gatewayEventFrame(event, data);
    // Past OPEN `ws.send` refuses the bytes (and counts them) rather than writing behind the close frame.
    if (this.frameWriter && this.ws.readyState === this.ws.OPEN) {
      if (this.tcp) corkForThisTick(this.tcp);
      this.frameWriter.sendFrame(frame.wire, this.written);
    } else this.ws.send(frame.payload, TEXT, this.written);
    this.budget.check();
  }

  /** Where its room streams send their messages. */
  readonly sink: RoomStreamSink = {
    whenReadable: () => this.budget.whenReadable(),
    send: (message) => this.event('message:new', message),
    isClosed: () => this.closed,
  };

  /** Written to the operating system (or failed): the budget may be back under its limit. */
  private readonly written = () => {
    if (this.budget.paused) this.budget.check();
  };

  /** A protocol close (the client learns why); a client that does not read is terminated instead. */
  end(code: number, reason: string): void {
    if (this.state === 'closed') return;
    // RFC 6455 allows 123 bytes of reason; ours are ASCII.
    this.ws.close(code, reason.slice(0, 120));
  }
}

export function setupGateway(realtime: Realtime, feed: Feed, ctx: RealtimeContext, options: GatewayOptions): Gateway {
  const { services, log, limiter, inFlight } = ctx;
  const { auth, rooms, messages, presence } = services;
  const metrics = ctx.monitoring?.metrics;
  // No permessage-deflate: JSON events are short, and the frames every connection shares are sent uncompressed (frameWriterOf).
  const wss = new WebSocketServer({ noServer: true, maxPayload: GatewayLimits.maxFrameBytes, perMessageDeflate: false });
  const connections = new Set<Connection>();
  const budgetOptions: SendBudgetOptions = { limitBytes: options.maxBufferBytes };
  /** Open `/ws` connections per user on this node, to end typing when the last one goes. */
  const perUser = new Map<string, number>();
  let draining = false;

  const typing = new TypingTracker(ctx.typing, Limits.typingExpirySeconds * 1000, (event) => ctx.bus.publish('typing.changed', event), log);

  const notReading = (conn: Connection, reason: 'stalled' | 'overflow', unsentBytes: number) => {
    log.warn({ reason, unsentBytes, transport: 'ws' }, 'connection closed: its client is not reading');
    // A close frame would queue behind what the client is not reading: drop the connection now.
    conn.ws.terminate();
  };

  // ------------------------------------------------------------------ events

  const unsubscribe = (conn: Connection, roomId: string) => {
    const subscription = conn.subscriptions.get(roomId);
    if (!subscription) return;
    conn.subscriptions.delete(roomId);
    subscription.stream.stop();
    subscription.unlisten();
  };

  const onFeed = (conn: Connection, event: FeedEvent) => {
    if (conn.state !== 'open') return;
    switch (event.kind) {
      case 'message:new':
        return conn.subscriptions.get(event.roomId)?.stream.live(event.data);
      case 'message:updated': {
        // A message not yet sent goes out as it is now, in its turn.
        if (conn.subscriptions.get(event.roomId)?.stream.sent(event.data.seq)) conn.event('message:updated', event.data);
        return;
      }
      case 'typing':
        if (event.data.userId !== conn.userId) conn.event('typing', event.data);
        return;
      case 'read':
        return conn.event('read', event.data);
      case 'presence':
        return conn.event('presence', event.data);
      case 'left':
        if (event.userId === conn.userId) unsubscribe(conn, event.roomId);
        return;
      case 'revoked':
        return event.deactivated
          ? conn.end(GatewayCloseCode.FORBIDDEN, 'the account was deactivated')
          : conn.end(GatewayCloseCode.UNAUTHENTICATED, 'the login has ended');
      case 'notification:new':
      case 'joined':
        return;
    }
  };

  // ------------------------------------------------------------------ requests

  const handlers: { [T in GatewayRequestType]: (input: z.output<(typeof GatewayRequestSchemas)[T]>, conn: Connection) => Promise<GatewayReplies[T]> } = {
    subscribe: async ({ roomId, afterSeq }, conn) => {
      await rooms.requireMember(conn.userId, roomId);
      unsubscribe(conn, roomId);
      const stream = new RoomStream(roomId, conn.userId, messages, conn.sink, log);
      // Listening before reading the database: a message is either read or heard, never neither.
      conn.subscriptions.set(roomId, { stream, unlisten: feed.onRoom(roomId, conn.listener) });
      try {
        await stream.start(afterSeq);
      } catch (err) {
        unsubscribe(conn, roomId);
        throw err;
      }
      return { roomId, lastSeq: stream.cursor };
    },
    unsubscribe: ({ roomId }, conn) => {
      unsubscribe(conn, roomId);
      return Promise.resolve({});
    },
    publish: async (input, conn) => {
      const { queued, stored } = messages.send(conn.userId, input, conn.sendTurn);
      conn.sendTurn = queued;
      return { message: await stored };
    },
    typing: async ({ roomId, typing: isTyping }, conn) => {
      await rooms.requireMember(conn.userId, roomId);
      await typing.set({ roomId, userId: conn.userId, displayName: conn.displayName, typing: isTyping });
      return {};
    },
    read: async ({ roomId, seq }, conn) => {
      await rooms.markRead(conn.userId, roomId, seq);
      return {};
    },
    history: (input, conn) => messages.history(conn.userId, input),
  };
  const table = handlers as unknown as Record<string, Handler>;
  const schemas = GatewayRequestSchemas as Record<string, z.ZodType>;

  /** What metrics and error groups call a frame type: the client's own text only when it is in the contract. */
  const labelOf = (type: string) => (type === 'auth' || type === 'ping' || Object.hasOwn(schemas, type) ? `ws:${type}` : 'ws:unknown');

  const request = async (conn: Connection, frame: Record<string, unknown>, arrived: number) => {
    const type = String(frame.type);
    const id = GatewayRequestId.safeParse(frame.id);
    const replyId = id.success ? id.data : null;
    try {
      await limiter.consume(conn.userId, type === 'publish' ? 'message' : 'default');
      conn.refusals = 0;
      if (type === 'ping') return conn.send({ type: 'pong' });
      if (!id.success || frame.id === undefined) throw invalid('a request needs an "id": a string of at most 64 characters or an integer');
      if (!Object.hasOwn(schemas, type)) {
        // The type is echoed as JSON (quoted, escaped) and shortened: it is the client's text.
        throw invalid(`unknown type ${JSON.stringify(type.slice(0, 64))}`);
      }
      if (inFlight.refusing) throw new AppError(ErrorCode.UNAVAILABLE, 'this server is shutting down; reconnect and retry');
      const parsed = (schemas[type] as z.ZodType).safeParse(frame);
      if (!parsed.success) throw AppError.invalid(parsed.error);
      const result = await (table[type] as Handler)(parsed.data as never, conn);
      conn.send({ type: 'reply', id: replyId, ok: true, ...result });
    } catch (err) {
      const error = reportFailure(ctx, err, labelOf(type), conn.userId);
      if (error.code === ErrorCode.RATE_LIMITED && ++conn.refusals >= GatewayLimits.refusalsBeforeClose) {
        return conn.end(GatewayCloseCode.RATE_LIMITED, 'too many requests');
      }
      conn.send({ type: 'reply', id: replyId, ok: false, error });
    } finally {
      metrics?.onAnswered(labelOf(type), performance.now() - arrived);
    }
  };

  const dispatch = (conn: Connection, frame: Record<string, unknown>) => {
    const arrived = performance.now();
    const type = String(frame.type);
    metrics?.onRequest(labelOf(type));
    if (type === 'auth') {
      void inFlight.track(() => renew(conn, frame));
      return;
    }
    if (!LARGE_ANSWERS.has(type)) {
      void inFlight.track(() => request(conn, frame, arrived));
      return;
    }
    const turn = conn.largeTurn
      .then(() => conn.budget.whenReadable())
      .then(() => (conn.state === 'open' ? request(conn, frame, arrived) : undefined));
    conn.largeTurn = turn;
    void inFlight.track(() => turn);
  };

  // ------------------------------------------------------------------ authentication

  const armExpiry = (conn: Connection, expiresAt: number) => {
    clearTimeout(conn.timers.expiry);
    conn.timers.expiry = setTimeout(
      () => conn.end(GatewayCloseCode.UNAUTHENTICATED, 'access token expired'),
      Math.max(0, expiresAt - Date.now()),
    );
  };

  const bindSession = (conn: Connection, sessionId: string) => {
    conn.unbindSession?.();
    conn.sessionId = sessionId;
    conn.unbindSession = feed.onSession(sessionId, conn.listener);
  };

  /** The first frame: a valid access token of an active login opens the connection. */
  const authenticate = async (conn: Connection, frame: unknown) => {
    const parsed = GatewayAuthFrame.safeParse(frame);
    if (!parsed.success) return conn.end(GatewayCloseCode.UNAUTHENTICATED, 'the first frame must be {"type":"auth","token":…}');
    let principal;
    try {
      principal = await auth.verify(parsed.data.token);
    } catch (err) {
      const code = err instanceof AppError && err.code === ErrorCode.UNAUTHENTICATED ? GatewayCloseCode.UNAUTHENTICATED : 1011;
      return conn.end(code, code === 1011 ? 'try again later' : err instanceof AppError ? err.message : 'invalid access token');
    }
    let user;
    try {
      user = await auth.me(principal.userId);
    } catch (err) {
      const gone = err instanceof AppError && err.code === ErrorCode.UNAUTHENTICATED;
      return conn.end(gone ? GatewayCloseCode.FORBIDDEN : 1011, gone ? 'the account no longer exists' : 'try again later');
    }
    if (conn.state !== 'auth') return;
    clearTimeout(conn.timers.auth);
    conn.state = 'open';
    conn.userId = user.id;
    conn.displayName = user.displayName;
    bindSession(conn, principal.sessionId);
    armExpiry(conn, principal.expiresAt);
    perUser.set(user.id, (perUser.get(user.id) ?? 0) + 1);
    presence.connected(user.id, conn.id).catch((err: unknown) => log.error({ err }, 'presence connect failed'));
    metrics?.onSocketConnected('/ws', user.id);
    conn.send({ type: 'ready', user });
  };

  /** A later auth frame: a newer token of the same user moves the expiry (and login) forward. */
  const renew = async (conn: Connection, frame: unknown) => {
    const parsed = GatewayAuthFrame.safeParse(frame);
    if (!parsed.success) return conn.end(GatewayCloseCode.UNAUTHENTICATED, 'an auth frame needs a "token"');
    try {
      await limiter.consume(conn.userId, 'default');
      const principal = await auth.verify(parsed.data.token);
      if (principal.userId !== conn.userId) return conn.end(GatewayCloseCode.UNAUTHENTICATED, 'token belongs to another user');
      if (principal.sessionId !== conn.sessionId) bindSession(conn, principal.sessionId);
      armExpiry(conn, principal.expiresAt);
      conn.send({ type: 'ready', user: await auth.me(conn.userId) });
    } catch (err) {
      const error = reportFailure(ctx, err, 'ws:auth', conn.userId);
      conn.end(error.code === ErrorCode.RATE_LIMITED ? GatewayCloseCode.RATE_LIMITED : GatewayCloseCode.UNAUTHENTICATED, error.message);
    }
  };

  // ------------------------------------------------------------------ connections

  const onFrame = (conn: Connection, data: RawData, isBinary: boolean) => {
    conn.alive = true;
    if (isBinary) return conn.end(GatewayCloseCode.BAD_FRAME, 'binary frames are not accepted');
    let value: unknown;
    try {
      value = JSON.parse(textOf(data));
    } catch {
      return conn.end(GatewayCloseCode.BAD_FRAME, 'a frame must be JSON');
    }
    if (!GatewayFrame.safeParse(value).success) {
      return conn.end(GatewayCloseCode.BAD_FRAME, 'a frame must be a JSON object with a string "type"');
    }
    const frame = value as Record<string, unknown>;
    if (conn.state === 'auth') {
      if (conn.gate) {
        // Requests sent right behind the auth frame are served once it is accepted.
        if (++conn.held > MAX_HELD_FRAMES) return conn.end(GatewayCloseCode.RATE_LIMITED, 'too many frames before "ready"');
        void conn.gate.then(() => conn.state === 'open' && dispatch(conn, frame));
        return;
      }
      const open = () => {
        conn.gate = undefined;
      };
      conn.gate = authenticate(conn, frame).then(open, (err: unknown) => {
        log.error({ err }, '/ws authentication failed');
        conn.end(1011, 'try again later');
      });
      return;
    }
    if (conn.state === 'open') dispatch(conn, frame);
  };

  const onClose = (conn: Connection) => {
    const wasOpen = conn.state === 'open';
    conn.state = 'closed';
    connections.delete(conn);
    clearTimeout(conn.timers.auth);
    clearTimeout(conn.timers.expiry);
    conn.budget.dispose();
    conn.unbindSession?.();
    for (const roomId of [...conn.subscriptions.keys()]) unsubscribe(conn, roomId);
    if (!wasOpen) return;
    const { userId } = conn;
    presence.disconnected(userId, conn.id).catch((err: unknown) => log.error({ err }, 'presence disconnect failed'));
    metrics?.onSocketDisconnected('/ws', userId);
    const left = (perUser.get(userId) ?? 1) - 1;
    if (left > 0) perUser.set(userId, left);
    else {
      perUser.delete(userId);
      typing.endAll(userId);
    }
  };

  const accept = (ws: WebSocket) => {
    const conn = new Connection(ws, budgetOptions, notReading, onFeed);
    connections.add(conn);
    conn.timers.auth = setTimeout(() => conn.end(GatewayCloseCode.UNAUTHENTICATED, 'no auth frame within 5 s'), GatewayLimits.authTimeoutMs);
    ws.on('message', (data, isBinary) => onFrame(conn, data, isBinary));
    ws.on('pong', () => {
      conn.alive = true;
    });
    // Frames over the size limit (1009), invalid UTF-8 (1007): `ws` closes the connection itself.
    ws.on('error', (err) => log.debug({ err }, '/ws connection error'));
    ws.on('close', () => onClose(conn));
  };

  realtime.upgrades.add('/ws', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (draining) return refuse(socket, '503 Service Unavailable');
    if (!originAllowed(options.origins, req)) return refuse(socket, '403 Forbidden');
    wss.handleUpgrade(req, socket, head, accept);
  });

  const pinger = setInterval(() => {
    for (const conn of connections) {
      if (!conn.alive) {
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }, options.pingIntervalMs);
  pinger.unref();

  return {
    async drain(timeoutMs) {
      draining = true;
      await inFlight.idle(timeoutMs);
      for (const conn of connections) conn.end(GatewayCloseCode.DRAINING, 'server draining; reconnect');
    },
    async close() {
      clearInterval(pinger);
      for (const conn of connections) conn.ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
