/**
 * Idle memory: the server's resident memory before and after N clients connect to `/chat` and
 * stay idle. `global.gc` is not available in the server process, so the bench waits for the heap
 * to settle and takes the median of a few samples instead.
 */
import { sleep, type ServerProcess } from './procs.js';
import { WorkerPool } from './worker-pool.js';
import type { ClientSpec, Target } from './worker-messages.js';

export interface IdleSize {
  clients: number;
  /** Measurements per server, each on a fresh server process; their mean is reported. */
  rounds: number;
  workers: number;
  /** Wait before each measurement, so connection set-up garbage can be collected. */
  settleSeconds: number;
}

export interface IdleResult {
  clients: number;
  connected: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  /** (after − before) / connected clients. */
  perConnectionKb: number;
}

/** Every round of one server, and the mean memory per connection over them. */
export interface IdleSummary {
  rounds: IdleResult[];
  perConnectionKb: number;
}

export function summarizeIdle(rounds: IdleResult[]): IdleSummary {
  const mean = rounds.reduce((sum, r) => sum + r.perConnectionKb, 0) / Math.max(1, rounds.length);
  return { rounds, perConnectionKb: Number(mean.toFixed(2)) };
}

const MB = 1024 * 1024;

async function medianRss(server: ServerProcess, samples: number): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < samples; i++) {
    if (i > 0) await sleep(500);
    values.push(server.sample().rss);
  }
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)] ?? 0;
}

export async function runIdle(
  server: ServerProcess,
  kind: Target['kind'],
  tokens: readonly string[],
  size: IdleSize,
  log: (line: string) => void,
): Promise<IdleResult> {
  await sleep(size.settleSeconds * 1000);
  const before = await medianRss(server, 3);
  log(`${server.name}: RSS ${(before / MB).toFixed(1)} MB idle; connecting ${size.clients} clients`);
  const clients: ClientSpec[] = Array.from({ length: size.clients }, (_, i) =>
    kind === 'switchboard' ? { token: tokens[i] } : {},
  );
  let reported = 0;
  const opened = await WorkerPool.open(size.workers, { kind, url: server.url, roomIds: [] }, clients, {
    concurrency: 50,
    join: false,
    timeoutMs: 180_000,
    onProgress: (connected) => {
      if (connected - reported < 1000) return;
      reported = connected;
      log(`${server.name}: ${connected} connected`);
    },
  });
  try {
    if (opened.failed > 0) {
      throw new Error(`${opened.failed} of ${size.clients} clients could not connect: ${opened.firstError}`);
    }
    log(`${server.name}: ${opened.connected} clients connected; settling ${size.settleSeconds} s`);
    await sleep(size.settleSeconds * 1000);
    const after = await medianRss(server, 5);
    return {
      clients: size.clients,
      connected: opened.connected,
      rssBeforeMb: Number((before / MB).toFixed(1)),
      rssAfterMb: Number((after / MB).toFixed(1)),
      perConnectionKb: Number(((after - before) / 1024 / opened.connected).toFixed(2)),
    };
  } finally {
    await opened.pool.close();
  }
}
