/**
 * Socket.IO setup: one server on the HTTP server's port, the namespaces, handshake auth and
 * Origin checks, compression, and draining on shutdown (PROTOCOL §1, §4).
 */
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import { Server, type Namespace } from 'socket.io';
import type { Config } from '../config.js';
import type { AdapterChoice } from '../scale/adapter.js';
import { ADMIN_NAMESPACES, bindSession, handshake } from './connection.js';
import type { RealtimeContext } from './context.js';
import { enforceSendBudgets } from './socket-budget.js';
import { coalesceWebSocketWrites } from './write-coalescing.js';
import { channel, type IoServer, type SocketData } from './types.js';
import { UpgradeRouter } from './upgrade.js';

export interface Realtime {
  io: IoServer;
  /** Where the plain-WebSocket endpoints register their paths. */
  upgrades: UpgradeRouter;
  /**
   * Refuses new handshakes and requests (`UNAVAILABLE`), tells every socket `server:draining`,
   * waits up to `timeoutMs` for the requests in flight to be answered, then closes every
   * transport so its client reconnects elsewhere.
   */
  drain(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** Which browser origins may connect: CORS_ORIGINS, and PUBLIC_URL's origin when it is set. */
export interface OriginPolicy {
  allowlist: readonly string[];
  publicOrigin?: string | undefined;
}

/**
 * Browsers send `Origin`; only PUBLIC_URL's origin or the CORS_ORIGINS allowlist may connect.
 * Without PUBLIC_URL, an origin naming the request's own `Host` is accepted: a page that DNS
 * rebinding pointed at this server sends a matching Host, so deployments set PUBLIC_URL.
 */
export function originAllowed(policy: OriginPolicy, req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true; // not a browser: Origin is a browser safeguard
  if (policy.allowlist.includes(origin) || policy.allowlist.includes('*')) return true;
  if (policy.publicOrigin !== undefined) return origin === policy.publicOrigin;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/**
 * permessage-deflate for WebSocket. `ws` applies its size threshold only when the server side
 * resets its context after every message (`server_no_context_takeover`): without it every frame is
 * deflated, whatever its size, and a broadcast costs one deflate per receiving socket. Without a
 * kept context, a socket also holds no compression window between messages.
 */
function deflateOptions(threshold: number) {
  return {
    threshold,
    serverNoContextTakeover: true,
    clientNoContextTakeover: true,
  };
}

/** Sets up one namespace's handlers and returns it; `createRealtime` adds the handshake. */
export type NamespaceSetup = (io: IoServer, ctx: RealtimeContext) => Namespace;

export function createRealtime(
  httpServer: HttpServer,
  config: Config,
  ctx: RealtimeContext,
  namespaces: readonly NamespaceSetup[],
  /** Carries broadcasts to the other processes (scale/adapter.ts); Socket.IO's in-memory one when unset. */
  adapter?: AdapterChoice,
): Realtime {
  const io: IoServer = new Server(httpServer, {
    ...(adapter ? { adapter } : {}),
    serveClient: false,
    // Upgrades for other paths belong to the plain-WebSocket endpoints (realtime/upgrade.ts).
    destroyUpgrade: false,
    maxHttpBufferSize: config.MAX_PACKET_BYTES,
    perMessageDeflate: config.WS_COMPRESSION ? deflateOptions(config.WS_COMPRESSION_THRESHOLD) : false,
    httpCompression: { threshold: 1024 },
    ...(config.CORS_ORIGINS.length > 0 ? { cors: { origin: config.CORS_ORIGINS, credentials: true } } : {}),
    allowRequest: (req, callback) => {
      const ok = originAllowed({ allowlist: config.CORS_ORIGINS, publicOrigin: config.PUBLIC_URL }, req);
      callback(ok ? null : 'origin not allowed', ok);
    },
  });

  enforceSendBudgets(io, config.MAX_SOCKET_BUFFER_BYTES, ctx.log);
  coalesceWebSocketWrites(io);

  let draining = false;
  const metrics = ctx.monitoring?.metrics;
  const authenticate = handshake(ctx.services.auth, () => draining, metrics && ((namespace, result) => metrics.onHandshake(namespace, result)));
  metrics?.countConnectionsWith(() => io.engine.clientsCount);
  /** Counts `message:new` packets as they are written to this node's chat sockets (one function for all). */
  const countDelivery = (event: string) => {
    if (event === 'message:new') metrics?.onDeliveries(1);
  };
  // The main namespace carries no events, but it authenticates like every other.
  const main = io.of('/');
  // …and ends with its login like every other (logout, token expiry, refresh-token reuse); it is
  // not counted as presence, which the namespaces people use in the app report.
  main.on('connection', (socket) => bindSession(socket));
  const all: Namespace[] = [main, ...namespaces.map((setup) => setup(io, ctx))];
  for (const nsp of all) {
    nsp.use(authenticate);
    // With `pid` in every line, this tells which process of a cluster serves whom.
    nsp.on('connection', (socket) => {
      const { userId } = socket.data as SocketData;
      ctx.log.debug({ namespace: nsp.name, userId, transport: socket.conn.transport.name }, 'socket connected');
      if (!metrics) return;
      metrics.onSocketConnected(nsp.name, userId);
      socket.on('disconnect', () => metrics.onSocketDisconnected(nsp.name, userId));
      if (nsp.name === '/chat') socket.onAnyOutgoing(countDelivery);
    });
  }

  ctx.bus.on('session.revoked', ({ sessionId }) => {
    for (const nsp of all) nsp.in(channel.session(sessionId)).disconnectSockets(true);
  });
  ctx.bus.on('user.demoted', ({ userId }) => {
    for (const nsp of all) if (ADMIN_NAMESPACES.has(nsp.name)) nsp.in(channel.user(userId)).disconnectSockets(true);
  });

  return {
    io,
    upgrades: new UpgradeRouter(httpServer, io.path()),
    async drain(timeoutMs) {
      draining = true;
      ctx.inFlight.refusing = true;
      for (const nsp of all) nsp.local.emit('server:draining', {});
      // Answers to requests in flight must reach their sockets before the transports go.
      await ctx.inFlight.idle(timeoutMs);
      for (const nsp of all) {
        // Closing the transport (not `disconnect()`) makes standard clients reconnect by themselves.
        for (const socket of nsp.sockets.values()) socket.conn.close();
      }
    },
    close: () => io.close(),
  };
}
