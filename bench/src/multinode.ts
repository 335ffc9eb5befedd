/**
 * Multi-node: the fan-out load against three Switchboard nodes that share one PostgreSQL database
 * and one Redis (multi-node mode: `DATABASE_URL` + `REDIS_URL`). The senders are all on the first
 * node and the receivers are spread over the three, so two thirds of the deliveries cross from one
 * node to another through Redis. The same load runs first against one node on PostgreSQL without
 * Redis, so the ratios show what going multi-node costs, not what PostgreSQL costs. What
 * PostgreSQL costs is counted on the wire (pg-wire.ts): transactions and round trips during the
 * load, per message sent.
 *
 * Each run gets a fresh database (cloned from one holding the bench accounts) and its own Redis
 * key prefix; both are removed afterwards. PostgreSQL and Redis come from BENCH_PG_URL (an admin
 * connection that may create databases) and BENCH_REDIS_URL, by default the local ones.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createAccounts, createRoom, type Accounts } from './accounts.js';
import { runFanout, type FanoutSize, type LoadProbe, type LoadResult } from './fanout.js';
import { PgWireCounter } from './pg-wire.js';
import { removeDir, startSwitchboard, tempDir, type ServerProcess, type SwitchboardEnv } from './procs.js';
import { ratio } from './results.js';

export interface MultinodeSize extends FanoutSize {
  /** Switchboard processes of the multi-node deployment. */
  nodes: number;
}

/** What PostgreSQL did for the servers during one load. */
export interface PgCost {
  messages: number;
  transactions: number;
  roundTrips: number;
  perMessage: { transactions: number; roundTrips: number };
}

export interface MultinodeResult {
  nodes: number;
  /** One node on PostgreSQL, no Redis: the reference. */
  single: LoadResult;
  /** `nodes` nodes on the same PostgreSQL and a Redis; server memory and CPU summed over them. */
  multi: LoadResult;
  /** Multi-node ÷ single node. */
  ratios: { deliveriesPerSecond: number; p50: number; p99: number };
  postgres: { single: PgCost; multi: PgCost };
}

export const MultinodeDefaults = {
  /** An admin connection to the PostgreSQL server (it creates and drops the bench databases). */
  pgUrl: process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
} as const;

/** Creates, clones and finally drops the run's databases. */
class Databases {
  private readonly created: string[] = [];

  constructor(
    private readonly adminUrl: string,
    private readonly prefix: string,
  ) {}

  private async admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: this.adminUrl });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  /** Creates `<prefix>_<suffix>` (a copy of `template` when given) and returns its URL. */
  async create(suffix: string, template?: string): Promise<{ name: string; url: string }> {
    const name = `${this.prefix}_${suffix}`;
    await this.admin((c) => c.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`));
    this.created.push(name);
    const url = new URL(this.adminUrl);
    url.pathname = `/${name}`;
    return { name, url: url.toString() };
  }

  async dropAll(): Promise<void> {
    await this.admin(async (c) => {
      for (const name of this.created.splice(0).reverse()) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    });
  }
}

/** Deletes every Redis key under `prefix` (the adapter's stream, presence, rate-limit counters). */
async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined); // a failure surfaces as the command's rejection
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Fails fast, with what to do, when the PostgreSQL or Redis the scenario needs does not answer. */
export async function checkMultinodeServices(): Promise<void> {
  const { pgUrl, redisUrl } = MultinodeDefaults;
  const hint = 'start them, point BENCH_PG_URL / BENCH_REDIS_URL at them, or leave out --scenario multinode';
  const client = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (err) {
    throw new Error(`the multinode scenario needs PostgreSQL at ${pgUrl} (${String(err)}): ${hint}`, { cause: err });
  } finally {
    await client.end().catch(() => undefined);
  }
  const redis = new Redis(redisUrl, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // The connection's own error says why (refused, unknown host); the rejection only says "closed".
  let connectionError: unknown;
  redis.on('error', (err) => {
    connectionError = err;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`the multinode scenario needs Redis at ${redisUrl} (${String(connectionError ?? err)}): ${hint}`, { cause: err });
  } finally {
    redis.disconnect();
  }
}

/** Counts the database's work between the first send and the last delivery. */
function pgProbe(counter: PgWireCounter): { probe: LoadProbe; cost: (messages: number) => PgCost } {
  let start = { transactions: 0, roundTrips: 0 };
  let end = start;
  const read = () => ({ transactions: counter.transactions, roundTrips: counter.roundTrips });
  return {
    probe: {
      before: () => {
        start = read();
        return Promise.resolve();
      },
      after: () => {
        end = read();
        return Promise.resolve();
      },
    },
    cost: (messages) => {
      const transactions = end.transactions - start.transactions;
      const roundTrips = end.roundTrips - start.roundTrips;
      return {
        messages,
        transactions,
        roundTrips,
        perMessage: { transactions: ratio(transactions, messages), roundTrips: ratio(roundTrips, messages) },
      };
    },
  };
}

/** Several nodes measured as one: the first one's URL, and memory and CPU time summed over all. */
function asOne(nodes: ServerProcess[]): ServerProcess {
  const [first] = nodes;
  if (!first) throw new Error('no nodes');
  return {
    name: `switchboard×${nodes.length}`,
    url: first.url,
    pid: first.pid,
    sample: () =>
      nodes
        .map((node) => node.sample())
        .reduce((sum, s) => ({ rss: sum.rss + s.rss, peakRss: sum.peakRss + s.peakRss, cpuSeconds: sum.cpuSeconds + s.cpuSeconds })),
    stop: async () => {
      await Promise.all(nodes.map((node) => node.stop()));
    },
  };
}

async function startNodes(count: number, env: Omit<SwitchboardEnv, 'DATA_DIR'>): Promise<ServerProcess[]> {
  const nodes: ServerProcess[] = [];
  try {
    // One after another: they share two cores with everything else, and each migrates on start.
    for (let i = 0; i < count; i++) {
      nodes.push(await startSwitchboard({ ...env, DATA_DIR: tempDir('switchboard-bench-node-') }, `switchboard:node${i + 1}`));
    }
    return nodes;
  } catch (err) {
    await Promise.all(nodes.map((node) => node.stop()));
    throw err;
  }
}

/** Runs the single-node reference and then the multi-node deployment under the same load. */
export async function runMultinode(size: MultinodeSize, log: (line: string) => void): Promise<MultinodeResult> {
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const databases = new Databases(MultinodeDefaults.pgUrl, `sb_bench_${runId}`);
  const redisPrefix = `switchboard-bench-${runId}:`;
  // Every node must sign and verify with the same key (PROTOCOL §1).
  const jwtSecret = randomBytes(36).toString('base64url');
  let accounts: Accounts | undefined;
  try {
    const template = await databases.create('accounts');
    log(`registering ${size.clients} accounts in PostgreSQL (${template.name})`);
    accounts = await createAccounts(size.clients, 16, log, { DATABASE_URL: template.url, JWT_SECRET: jwtSecret });
    const { owner, tokens } = accounts;

    const singleDb = await databases.create('single', template.name);
    const singleCounter = await PgWireCounter.start(singleDb.url);
    const singlePg = pgProbe(singleCounter);
    let singleResult: LoadResult;
    try {
      const [single] = await startNodes(1, { DATABASE_URL: singleCounter.url, JWT_SECRET: jwtSecret });
      if (!single) throw new Error('no node');
      try {
        const roomId = await createRoom(single.url, owner, 'bench');
        singleResult = await runFanout(single, 'switchboard', roomId, tokens, size, log, { probe: singlePg.probe });
      } finally {
        await single.stop();
      }
    } finally {
      await singleCounter.close();
    }

    const multiDb = await databases.create('multi', template.name);
    const multiCounter = await PgWireCounter.start(multiDb.url);
    const multiPg = pgProbe(multiCounter);
    let multiResult: LoadResult;
    try {
      const nodes = await startNodes(size.nodes, {
        DATABASE_URL: multiCounter.url,
        REDIS_URL: MultinodeDefaults.redisUrl,
        REDIS_KEY_PREFIX: redisPrefix,
        JWT_SECRET: jwtSecret,
      });
      const deployment = asOne(nodes);
      try {
        const roomId = await createRoom(deployment.url, owner, 'bench');
        const urlOf = (client: number) => (client < size.senders ? deployment.url : (nodes[client % nodes.length] ?? deployment).url);
        multiResult = await runFanout(deployment, 'switchboard', roomId, tokens, size, log, { urlOf, probe: multiPg.probe });
      } finally {
        await deployment.stop();
      }
    } finally {
      await multiCounter.close();
    }

    return {
      nodes: size.nodes,
      single: singleResult,
      multi: multiResult,
      ratios: {
        deliveriesPerSecond: ratio(multiResult.deliveriesPerSecond, singleResult.deliveriesPerSecond),
        p50: ratio(multiResult.latencyMs.p50, singleResult.latencyMs.p50),
        p99: ratio(multiResult.latencyMs.p99, singleResult.latencyMs.p99),
      },
      postgres: { single: singlePg.cost(singleResult.messages), multi: multiPg.cost(multiResult.messages) },
    };
  } finally {
    if (accounts) removeDir(accounts.dataDir);
    await databases.dropAll();
    await deleteRedisKeys(MultinodeDefaults.redisUrl, redisPrefix);
  }
}
