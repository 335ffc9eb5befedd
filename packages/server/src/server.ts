/**
 * Composition root: builds the store, the bus, the services, HTTP (Fastify) and Socket.IO on one
 * port, and returns `{ listen, close }`. Tests start it on port 0; `main.ts` starts it for real.
 */
import { join } from 'node:path';
import compress from '@fastify/compress';
import cors from '@fastify/cors';
import { Limits } from '@switchboard/protocol';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ConfigSchema, type Config, type ConfigInput } from './config.js';
import { AccountService } from './domain/accounts.js';
import { AuthService } from './domain/auth.js';
import { EventBus } from './domain/bus.js';
import { DocumentService } from './domain/documents/documents.js';
import { LiveDocuments } from './domain/documents/live-docs.js';
import { forbidden } from './domain/errors.js';
import { FileService } from './domain/files.js';
import { GameRecords } from './domain/game/records.js';
import { InviteService } from './domain/invites.js';
import { MessageService } from './domain/messages.js';
import { NodeMetrics } from './domain/monitoring/metrics.js';
import { MonitorService, newNodeId } from './domain/monitoring/monitor.js';
import { WebhookSender } from './domain/webhooks/post.js';
import { RoomWebhookService } from './domain/webhooks/room-webhooks.js';
import { NotificationService } from './domain/notifications.js';
import { PasswordHasher } from './domain/passwords.js';
import { PresenceService } from './domain/presence.js';
import { RoomService } from './domain/rooms.js';
import { accountRoutes } from './http/accounts.js';
import { SearchService } from './domain/search.js';
import { authRoutes } from './http/auth.js';
import { botRoutes } from './http/bots.js';
import { documentRoutes } from './http/documents.js';
import { edgeOptions, limitBodyTime } from './http/edge.js';
import { eventRoutes } from './http/events.js';
import { frameworkErrors, registerErrorHandling } from './http/errors.js';
import { fileRoutes } from './http/files.js';
import { gameRoutes } from './http/games.js';
import { healthRoutes } from './http/health.js';
import { metricsRoutes } from './http/metrics.js';
import { registerOpenApi } from './http/openapi.js';
import { registerSecurityHeaders } from './http/security-headers.js';
import { defaultWebDir, webRoutes } from './http/web.js';
import { createLogger, RequestLogController } from './logger.js';
import { setupChat } from './realtime/chat.js';
import { setupCollab } from './realtime/collab.js';
import type { RealtimeContext, Services } from './realtime/context.js';
import { createFeed } from './realtime/feed.js';
import { createGameArena } from './realtime/game.js';
import { setupGateway } from './realtime/gateway.js';
import { InFlight } from './realtime/in-flight.js';
import { createRealtime, originAllowed, type Realtime } from './realtime/io.js';
import { shareMembershipDrops } from './realtime/membership-drops.js';
import { setupMonitor, shareMonitorReports } from './realtime/monitor.js';
import { setupNotifications } from './realtime/notifications.js';
import { countPlainConnection } from './scale/cluster.js';
import { clusterScraper } from './scale/cluster-metrics.js';
import { RedisGameCluster } from './scale/game-cluster.js';
import { createScaleMode } from './scale/mode.js';
import { createRateLimiter, type RateLimiter } from './scale/rate-limit.js';
import { loadJwtSecret } from './secrets.js';
import { BlobStore } from './store/blobs.js';
import { BotRepository } from './store/bots.js';
import { WebhookRepository } from './store/webhooks.js';
import { prepareDataDir, warnIfShared } from './store/data-dir.js';
import { openDatabase, type Database } from './store/db.js';
import { DocumentRepository } from './store/documents.js';
import { ExportRepository } from './store/export.js';
import { FileRepository } from './store/files.js';
import { GameRepository } from './store/games.js';
import { InviteRepository } from './store/invites.js';
import { MessageRepository } from './store/messages.js';
import { MonitoringRepository } from './store/monitoring.js';
import { NotificationRepository } from './store/notifications.js';
import { RoomRepository } from './store/rooms.js';
import { SearchRepository } from './store/search.js';
import { SessionRepository, UserRepository } from './store/users.js';
import type { Kysely } from 'kysely';
import type { DB } from './store/schema.js';

export interface SwitchboardServer {
  config: Config;
  app: FastifyInstance;
  realtime: Realtime;
  database: Database;
  services: Services;
  /** Uploads, downloads and the orphan sweep (HTTP's, not a realtime namespace's). */
  files: FileService;
  /** Collaborative documents: metadata, versions and the documents held in memory (PROTOCOL §5). */
  documents: DocumentService;
  log: Logger;
  /** Starts listening; resolves to the base URL (`http://host:port`). */
  listen(): Promise<string>;
  /**
   * Starts serving without binding a port, for a cluster worker: the primary owns the listening
   * socket and hands connections over (scale/cluster.ts injects them into `app.server`).
   */
  serve(): Promise<void>;
  /**
   * First step of a graceful shutdown: `/readyz` turns 503, new handshakes and requests fail with
   * `UNAVAILABLE`, connected sockets get `server:draining`, and once the requests in flight are
   * answered (or half of SHUTDOWN_TIMEOUT has passed) every socket loses its transport.
   */
  drain(): Promise<void>;
  /** Graceful shutdown: `drain()`, then close everything. */
  close(): Promise<void>;
}

export type ServerOptions = Partial<ConfigInput> & {
  logger?: Logger;
  /**
   * This process is a worker of a Node cluster (WORKERS > 1): without REDIS_URL, broadcasts
   * reach its sibling workers through the cluster adapter (scale/adapter.ts).
   */
  clusterWorker?: boolean;
};

/**
 * The account services over a database: what the server and the command line (cli.ts) share, so
 * that both apply the same rules.
 */
export function accountServices(db: Kysely<DB>, config: Config, bus: EventBus, limiter: RateLimiter) {
  const users = new UserRepository(db);
  const sessions = new SessionRepository(db);
  const hasher = new PasswordHasher({
    cost: config.SCRYPT_COST,
    concurrency: config.PASSWORD_HASH_CONCURRENCY,
    maxQueued: config.PASSWORD_HASH_QUEUE,
  });
  const auth = new AuthService(
    users,
    sessions,
    limiter,
    hasher,
    bus,
    {
      secret: loadJwtSecret(config.DATA_DIR, config.JWT_SECRET),
      accessTokenTtl: config.ACCESS_TOKEN_TTL,
      refreshTokenTtl: config.REFRESH_TOKEN_TTL,
      allowRegistration: config.ALLOW_REGISTRATION,
    },
    new BotRepository(db),
  );
  return { users, sessions, auth, accounts: new AccountService(users, sessions, limiter, hasher, bus) };
}

/** Readiness fails when a store takes longer than this to answer. */
const READY_TIMEOUT_MS = 2000;

/** Whether HOST binds to this machine only, so that only browsers on it can reach the server. */
const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

/** Rejects when `work` does not settle within `ms`. */
function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export async function createServer(options: ServerOptions = {}): Promise<SwitchboardServer> {
  const { logger, clusterWorker = false, ...input } = options;
  const config = ConfigSchema.parse(input);
  const log = logger ?? createLogger(config.LOG_LEVEL);
  if (config.PUBLIC_URL === undefined && !isLoopback(config.HOST)) {
    log.warn(
      { host: config.HOST },
      'PUBLIC_URL is unset: browsers are let in when their Origin matches the Host header, which a DNS-rebinding page can fake; set PUBLIC_URL to the URL people open',
    );
  }

  prepareDataDir(config.DATA_DIR, { sqlite: config.DATABASE_URL === undefined });
  const blobs = new BlobStore(join(config.DATA_DIR, 'files'));
  await blobs.init();
  const metrics = config.MONITORING ? new NodeMetrics() : undefined;
  const database = await openDatabase({
    dataDir: config.DATA_DIR,
    databaseUrl: config.DATABASE_URL,
    poolSize: config.DATABASE_POOL_SIZE,
    onQuery: metrics && ((ms, ok) => metrics.onQuery(ms, ok)),
  });
  const { db } = database;
  const bus = new EventBus((err, event) => log.error({ err, event }, 'domain event handler failed'));
  const scale = await createScaleMode({ config, log, clusterWorker, typingExpiryMs: Limits.typingExpirySeconds * 1000 });
  const limiter = createRateLimiter({
    enabled: config.RATE_LIMITS,
    ...(scale.limiterStore ? { store: scale.limiterStore } : {}),
    perIp: {
      register: { burst: config.REGISTER_IP_BURST, points: config.REGISTER_IP_PER_MINUTE, seconds: 60 },
      auth: { burst: config.LOGIN_IP_BURST, points: config.LOGIN_IP_PER_SECOND, seconds: 1 },
    },
  });
  const { users, sessions, auth, accounts } = accountServices(db, config, bus, limiter);
  const presence = new PresenceService(scale.presence, users, bus);
  const rooms = new RoomService(new RoomRepository(db), users, presence, bus, scale.memberships);
  const secret = loadJwtSecret(config.DATA_DIR, config.JWT_SECRET);
  warnIfShared(config.DATA_DIR, log);
  const maxUploadBytes = Math.floor(config.MAX_UPLOAD_MB * 1024 * 1024);
  const files = new FileService(new FileRepository(db), blobs, rooms, sessions, bus, {
    secret,
    maxBytes: maxUploadBytes,
    quotaBytes: Math.floor(config.MAX_STORAGE_MB_PER_USER * 1024 * 1024),
    orphanGraceMs: config.FILE_ORPHAN_GRACE_HOURS * 3_600_000,
  });

  const documentRepository = new DocumentRepository(db);
  const documents = new DocumentService(
    documentRepository,
    rooms,
    new LiveDocuments(
      documentRepository,
      {
        compactAfter: config.COLLAB_COMPACT_AFTER,
        versionIntervalMs: config.COLLAB_VERSION_INTERVAL_S * 1000,
        idleMs: config.COLLAB_IDLE_UNLOAD_S * 1000,
        resyncMs: config.COLLAB_RESYNC_S * 1000,
        maxDocBytes: config.COLLAB_MAX_DOC_BYTES,
      },
      log,
    ),
    bus,
    (sessionId) => sessions.isActive(sessionId),
  );

  const services: Services = {
    auth,
    presence,
    rooms,
    messages: new MessageService(new MessageRepository(db, database.dialect), rooms, bus, files),
    notifications: new NotificationService(new NotificationRepository(db), users, bus),
    search: new SearchService(new SearchRepository(db, database.dialect), rooms),
  };
  const monitoring = metrics && {
    metrics,
    service: new MonitorService(newNodeId(), metrics, new MonitoringRepository(db, database.dialect), bus, services.notifications, {
      log,
      webhook: config.ALERT_WEBHOOK_URL === undefined ? undefined : new WebhookSender(new URL(config.ALERT_WEBHOOK_URL), { allowPrivate: config.WEBHOOK_ALLOW_PRIVATE, log }),
    }),
  };
  if (metrics) bus.on('message.created', () => metrics.onMessagesStored(1));

  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: config.MAX_BODY_BYTES,
    frameworkErrors,
    logController: new RequestLogController(),
    ...edgeOptions(config),
  });
  registerErrorHandling(app, metrics && ((report) => metrics.onError(report)));
  await registerSecurityHeaders(app);
  await app.register(compress, { threshold: 1024 });
  await app.register(cors, { origin: config.CORS_ORIGINS.length > 0 ? config.CORS_ORIGINS : false, credentials: true });
  if (config.PUBLIC_URL !== undefined) {
    // With PUBLIC_URL known, a browser request from any other origin is refused outright (DNS
    // rebinding, cross-site form posts); without it CORS alone keeps other origins from reading answers.
    const policy = { allowlist: config.CORS_ORIGINS, publicOrigin: config.PUBLIC_URL };
    app.addHook('onRequest', async (req) => {
      if (!originAllowed(policy, req.raw)) throw forbidden('origin not allowed');
    });
  }
  await registerOpenApi(app);

  let accepting = false;
  healthRoutes(app, async () => {
    if (!accepting) return false;
    await within(Promise.all([database.ping(), scale.ping()]), READY_TIMEOUT_MS);
    return true;
  });
  authRoutes(app, services.auth);
  accountRoutes(app, {
    auth,
    accounts,
    rooms,
    invites: new InviteService(new InviteRepository(db), new RoomRepository(db), rooms),
    exports: new ExportRepository(db),
    limiter,
    publicUrl: config.PUBLIC_URL,
  });
  const webhooks = new RoomWebhookService(new WebhookRepository(db), rooms, services.messages, bus, { allowPrivate: config.WEBHOOK_ALLOW_PRIVATE, log });
  botRoutes(app, { auth: services.auth, messages: services.messages, webhooks, limiter });
  await fileRoutes(app, { auth: services.auth, files, limiter, maxBytes: maxUploadBytes, onUpload: metrics && ((bytes) => metrics.onUpload(bytes)) });
  documentRoutes(app, { auth: services.auth, documents, limiter });
  const gameRecords = new GameRecords(new GameRepository(db));
  gameRoutes(app, { auth: services.auth, records: gameRecords, limiter });
  if (metrics) {
    metricsRoutes(app, { token: config.METRICS_TOKEN, scrape: clusterWorker ? clusterScraper(metrics.registry) : () => metrics.scrape() });
  }
  await webRoutes(app, config.WEB_DIR ?? defaultWebDir());

  const inFlight = new InFlight();
  const ctx: RealtimeContext = { services, bus, limiter, typing: scale.typing, log, inFlight, monitoring };
  const arena = createGameArena({
    records: gameRecords,
    botFillS: config.MATCH_BOT_FILL_S,
    seatHoldS: config.GAME_SEAT_HOLD_S,
    countdownS: config.GAME_COUNTDOWN_S,
    roundPauseS: config.GAME_ROUND_PAUSE_S,
    cluster: scale.redis && new RedisGameCluster(scale.redis, scale.nodeId, log.child({ component: 'games' })),
  });
  const namespaces = [setupChat, setupNotifications, arena.setup];
  const realtime = createRealtime(app.server, config, ctx, monitoring ? [...namespaces, setupMonitor] : namespaces, scale.adapter);
  limitBodyTime(app.server, config, log);
  const collab = setupCollab({
    upgrades: realtime.upgrades,
    auth: services.auth,
    documents,
    bus,
    log,
    origins: { allowlist: config.CORS_ORIGINS, publicOrigin: config.PUBLIC_URL },
    maxFrameBytes: config.COLLAB_MAX_FRAME_BYTES,
    sendLimitBytes: config.MAX_SOCKET_BUFFER_BYTES,
    metrics,
    peers: scale.adapter ? realtime.io : undefined,
    countConnection: clusterWorker ? countPlainConnection : undefined,
    roomArchived: (roomId) => services.rooms.isArchived(roomId),
    auditMs: config.COLLAB_RESYNC_S * 1000,
  });
  if (scale.adapter) shareMembershipDrops(realtime.io, scale.memberships);
  if (scale.adapter && monitoring) shareMonitorReports(realtime.io, monitoring.service, monitoring.metrics, bus);
  const feed = createFeed(realtime.io, ctx, scale.adapter !== undefined);
  const gateway = setupGateway(realtime, feed, ctx, {
    maxBufferBytes: config.MAX_SOCKET_BUFFER_BYTES,
    pingIntervalMs: config.WS_PING_INTERVAL_MS,
    origins: { allowlist: config.CORS_ORIGINS, publicOrigin: config.PUBLIC_URL },
  });
  const eventStreams = eventRoutes(app, feed, ctx, { maxBufferBytes: config.MAX_SOCKET_BUFFER_BYTES, keepAliveMs: config.SSE_KEEPALIVE_S * 1000 });
  monitoring?.service.start();
  webhooks.start();

  const drain = async () => {
    accepting = false;
    collab.drain();
    eventStreams.drain();
    await Promise.all([realtime.drain(config.SHUTDOWN_TIMEOUT * 500), gateway.drain(config.SHUTDOWN_TIMEOUT * 500)]);
  };
  const stopOrphanSweep = files.startOrphanSweep(config.FILE_ORPHAN_SWEEP_MINUTES * 60_000, (err) =>
    log.warn({ err }, 'orphan file sweep failed'),
  );
  let closing: Promise<void> | undefined;
  return {
    config,
    app,
    realtime,
    database,
    services,
    files,
    documents,
    log,
    async serve() {
      await app.ready();
      accepting = true;
    },
    async listen() {
      await app.listen({ port: config.PORT, host: config.HOST });
      accepting = true;
      const address = app.server.address();
      if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return `http://${host}:${address.port}`;
    },
    drain,
    close() {
      closing ??= (async () => {
        await stopOrphanSweep();
        await webhooks.close();
        // Games in progress end `aborted` while their clients are still connected to hear it.
        arena.close();
        await drain();
        // Before the adapter goes: the other nodes hear that this one left rather than died.
        await monitoring?.service.close();
        await gateway.close();
        await realtime.close();
        await collab.close();
        // Background work of the documents (compaction, versions) needs the database still.
        await documents.live.close();
        // The sockets just closed went offline: record it (and announce it to other nodes) while
        // the database and Redis are still there; bounded, as either may be what is failing.
        await within(Promise.all([services.presence.settled(), bus.settled()]), READY_TIMEOUT_MS).catch((err: unknown) =>
          log.warn({ err }, 'presence changes not all recorded before shutdown'),
        );
        await scale.close();
        await app.close();
        metrics?.close();
        await database.close();
      })();
      return closing;
    },
  };
}
