/**
 * Cluster mode on one host (`WORKERS` > 1): a primary process owns the port and forks that many
 * worker processes, each a full Switchboard server without a port of its own.
 *
 * - Sticky sessions (`@socket.io/sticky`): the primary reads the first bytes of every connection
 *   and hands it to the worker that holds its Engine.IO session (long-polling requests carry
 *   `sid=`), new ones to the worker with the fewest connections.
 * - Broadcasts between workers go through the primary (`@socket.io/cluster-adapter`, chosen by
 *   scale/adapter.ts when the server is created with `clusterWorker: true`).
 * - Without REDIS_URL, the primary also holds what the workers must share: presence and typing
 *   (scale/cluster-state.ts) and rate-limit counters (rate-limiter-flexible's
 *   `RateLimiterClusterMaster`), which the workers reach over the cluster IPC (scale/mode.ts).
 *   Each user of the IPC channel ignores the others' messages (see scale/cluster-ipc.ts).
 * - What must happen once per data directory happens in the primary before any worker starts:
 *   schema migrations and the generated JWT secret, so workers starting together never race.
 * - A worker that dies unexpectedly is replaced, after a delay that grows while replacements
 *   keep dying young; new connections go to the other workers until the replacement is ready.
 * - On SIGTERM/SIGINT every worker drains (see main.ts) and the primary exits once they all
 *   have, within SHUTDOWN_TIMEOUT (+1 s) whatever happens.
 */
import cluster, { type Worker } from 'node:cluster';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { setupPrimary as setupAdapterPrimary } from '@socket.io/cluster-adapter';
import { setupMaster as setupStickyPrimary, setupWorker } from '@socket.io/sticky';
import { Limits } from '@switchboard/protocol';
import type { Logger } from 'pino';
import { RateLimiterClusterMaster } from 'rate-limiter-flexible';
import type { Server as SocketIoServer } from 'socket.io';
import type { Config } from '../config.js';
import { loadJwtSecret } from '../secrets.js';
import type { SwitchboardServer } from '../server.js';
import { openDatabase } from '../store/db.js';
import { serveClusterMetrics } from './cluster-metrics.js';
import { ClusterStatePrimary } from './cluster-state.js';

/** What a worker tells the primary once it serves: from then on it counts as started. */
const READY = 'switchboard:worker-ready';

/** Replacement delays: doubling from the first to the last while workers keep dying young. */
export const RestartBackoff = {
  firstMs: 500,
  maxMs: 30_000,
  /** A worker that served at least this long before dying resets the delay to `firstMs`. */
  healthyAfterMs: 60_000,
} as const;

/** The number of worker processes `WORKERS` asks for (`auto`: one per core). */
export function workerCount(setting: Config['WORKERS']): number {
  return setting === 'auto' ? availableParallelism() : setting;
}

/** True in a process forked by `runPrimary`. */
export const isClusterWorker = (): boolean => cluster.isWorker;

/**
 * Worker side: creates the server (which must use `clusterWorker: true`), takes the connections
 * the primary hands over, and reports ready.
 */
export async function startWorker(create: () => Promise<SwitchboardServer>): Promise<SwitchboardServer> {
  const server = await create();
  await server.serve();
  setupWorker(server.realtime.io as unknown as SocketIoServer);
  server.log.info('worker ready');
  process.send?.({ type: READY });
  return server;
}

/**
 * Keeps the primary from handing new connections to a worker that is still starting: IPC messages
 * that reach a worker before it listens for them are dropped, and with them the connection. The
 * least-connection balancing of `@socket.io/sticky` (2.x) picks the worker with the lowest
 * `clientsCount`, which it keeps on the cluster's Worker object; a starting worker counts as full
 * until it reports ready. (When every worker is starting, the first one still gets the connection.)
 */
function setStarting(worker: Worker, starting: boolean): void {
  (worker as Worker & { clientsCount?: number }).clientsCount = starting ? Number.POSITIVE_INFINITY : 0;
}

/**
 * Makes the primary stop reading a connection the moment it hands it to a worker. Node keeps the
 * passed socket's handle open and reading until the worker acknowledges it, and drops whatever it
 * reads meanwhile: bytes the client sends right after the worker answered (Socket.IO's CONNECT
 * packet once the WebSocket is open) could be swallowed by a primary slow to see the
 * acknowledgement, leaving that client's handshake unanswered for good.
 */
function stopReadingWhenHandedOver(worker: Worker): void {
  const send = worker.send.bind(worker) as (...args: unknown[]) => boolean;
  worker.send = ((message: unknown, handle?: unknown, ...rest: unknown[]) => {
    if (handle instanceof Socket) {
      const tcp = (handle as Socket & { _handle?: { reading?: boolean; readStop?: () => number } | null })._handle;
      if (tcp?.readStop) {
        tcp.reading = false;
        tcp.readStop();
      }
    }
    return send(message, handle, ...rest);
  }) as Worker['send'];
}

function listen(httpServer: HttpServer, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, host, () => {
      httpServer.off('error', reject);
      const address = httpServer.address();
      if (address === null || typeof address === 'string') return reject(new Error('server has no TCP address'));
      const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve(`http://${shown}:${address.port}`);
    });
  });
}

/**
 * Primary side: prepares the data directory, forks `workers` workers, listens once they are all
 * ready, replaces workers that die, and shuts the cluster down on SIGTERM/SIGINT. Exits the
 * process itself when shut down (0 when every worker exited cleanly).
 */
export async function runPrimary(options: { config: Config; workers: number; log: Logger }): Promise<void> {
  const { config, workers: count, log } = options;
  // Once, before any worker: workers starting together would race to write the secret file,
  // and SQLite has no lock to make concurrent first migrations safe across processes.
  loadJwtSecret(config.DATA_DIR, config.JWT_SECRET);
  const database = await openDatabase({ dataDir: config.DATA_DIR, databaseUrl: config.DATABASE_URL, poolSize: 1 });
  await database.close();

  // Connections are handed over with their first bytes, a Buffer: the default JSON serialization
  // of IPC would turn it into a plain object that the worker's HTTP parser refuses.
  cluster.setupPrimary({ serialization: 'advanced' });
  const httpServer = createHttpServer();
  setupStickyPrimary(httpServer, { loadBalancingMethod: 'least-connection' });
  setupAdapterPrimary();
  if (config.MONITORING) serveClusterMetrics();
  // Before any worker starts: each limiter of a worker introduces itself (its keyPrefix and
  // budget) to the master once, when created, and until the master has answered that, every
  // request of the limiter waits, then times out.
  let sharedState: ClusterStatePrimary | undefined;
  if (!config.REDIS_URL) {
    new RateLimiterClusterMaster();
    const state = new ClusterStatePrimary({ typingExpiryMs: Limits.typingExpirySeconds * 1000, log });
    cluster.on('message', (worker, message) => state.receive(worker, message));
    sharedState = state;
  }

  // Tracked here rather than read from `cluster.workers`, which may still list a worker whose
  // exit has been reported until its IPC channel has closed too.
  const live = new Set<Worker>();
  const readyAt = new Map<Worker, number>();
  let started = false;
  let stopping = false;
  let clean = true;
  let youngDeaths = 0;
  const pendingRestarts = new Set<NodeJS.Timeout>();
  let failStartup: (err: Error) => void = () => undefined;

  const fork = (): Promise<void> =>
    new Promise((resolve) => {
      const worker = cluster.fork();
      live.add(worker);
      // A message sent without a callback to a worker that just died (an answer of the limiters'
      // master, for one) fails as an 'error' event, which unheard would bring the primary down.
      worker.on('error', (err: Error) => log.debug({ err, workerPid: worker.process.pid }, 'message to a worker not delivered'));
      stopReadingWhenHandedOver(worker);
      setStarting(worker, true);
      worker.on('message', (message: { type?: unknown } | null) => {
        if (message?.type !== READY) return;
        setStarting(worker, false);
        readyAt.set(worker, Date.now());
        sharedState?.workerReady(worker);
        resolve();
      });
    });

  const signalAll = (signal: NodeJS.Signals) => {
    for (const worker of live) worker.process.kill(signal);
  };

  const exitOnceAllGone = () => {
    if (live.size > 0) return;
    log.info({ clean }, 'every worker has exited');
    httpServer.close();
    process.exit(clean ? 0 : 1);
  };

  cluster.on('exit', (worker, code, signal) => {
    live.delete(worker);
    sharedState?.workerExited(worker.id);
    const servedSince = readyAt.get(worker);
    readyAt.delete(worker);
    if (stopping) {
      // A worker still starting when the signal came dies of it: that is a clean stop too.
      if (code !== 0 && signal !== 'SIGTERM' && signal !== 'SIGINT') clean = false;
      exitOnceAllGone();
      return;
    }
    if (!started) {
      failStartup(new Error(`worker ${worker.process.pid} exited during startup (code ${code}, signal ${signal})`));
      return;
    }
    const healthy = servedSince !== undefined && Date.now() - servedSince >= RestartBackoff.healthyAfterMs;
    youngDeaths = healthy ? 0 : youngDeaths + 1;
    const delayMs = Math.min(RestartBackoff.maxMs, RestartBackoff.firstMs * 2 ** Math.max(0, youngDeaths - 1));
    log.error({ workerPid: worker.process.pid, code, signal, restartInMs: delayMs }, 'worker exited unexpectedly; replacing it');
    const timer = setTimeout(() => {
      pendingRestarts.delete(timer);
      if (!stopping) void fork();
    }, delayMs);
    pendingRestarts.add(timer);
  });

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: every worker drains');
    for (const timer of pendingRestarts) clearTimeout(timer);
    pendingRestarts.clear();
    setTimeout(() => {
      log.error('workers took too long to shut down; killing them');
      signalAll('SIGKILL');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT * 1000 + 1000).unref();
    // Signalled directly too when the whole process group got the signal: draining is idempotent.
    signalAll('SIGTERM');
    // The port stays open meanwhile: /readyz answers 503 from draining workers, as it should.
    exitOnceAllGone();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  log.info({ workers: count }, 'starting workers');
  try {
    await Promise.race([
      Promise.all(Array.from({ length: count }, fork)),
      new Promise<never>((_, reject) => {
        failStartup = reject;
      }),
    ]);
    // Signalled while the workers were starting: stop() takes it from here.
    if (stopping) return;
    started = true;
    const url = await listen(httpServer, config.PORT, config.HOST);
    log.info({ url, workers: count, database: database.dialect }, 'Switchboard is listening');
  } catch (err) {
    stopping = true;
    log.fatal({ err }, 'cluster failed to start');
    signalAll('SIGTERM');
    process.exit(1);
  }
}

let plainConnections = 0;

/**
 * Worker side: counts a connection that is not Socket.IO's (a `/collab` WebSocket) in the
 * primary's least-connection balancing, which otherwise sees only Socket.IO sessions and would
 * send every such connection to the same worker. Call the returned function when it closes.
 */
export function countPlainConnection(): () => void {
  const id = `plain:${process.pid}:${plainConnections++}`;
  process.send?.({ type: 'sticky:connection', data: id });
  return () => process.send?.({ type: 'sticky:disconnection', data: id });
}
