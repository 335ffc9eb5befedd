/**
 * Test factories for multi-node mode: several in-process nodes sharing one PostgreSQL database and
 * one Redis under a key prefix of their own (so parallel runs never meet), a private
 * `redis-server` that a test may kill and restart, and cleanup of a prefix's keys.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ServerOptions } from '../src/server.js';
import { freePort } from './processes.js';
import { createPgDatabase, eventually, startServer, type TestServer } from './helpers.js';

/** The machine's shared Redis. */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A Redis key prefix no other test run uses. */
export function uniquePrefix(): string {
  return `sbtest:${process.pid.toString(36)}${randomBytes(4).toString('hex')}:`;
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await client.connect();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

export interface TestCluster {
  nodes: TestServer[];
  databaseUrl: string;
  prefix: string;
  /** Options every node was started with (for starting one more). */
  options: ServerOptions;
  /** Starts one more node of the same deployment. */
  addNode(overrides?: ServerOptions): Promise<TestServer>;
  /** Stops every node, drops the database and deletes the Redis keys. */
  close(): Promise<void>;
}

/** `count` nodes of one deployment: one PostgreSQL database, one Redis prefix, one JWT secret. */
export async function startCluster(count: number, overrides: ServerOptions = {}): Promise<TestCluster> {
  const database = await createPgDatabase();
  const prefix = overrides.REDIS_KEY_PREFIX ?? uniquePrefix();
  const redisUrl = overrides.REDIS_URL ?? REDIS_URL;
  const options: ServerOptions = {
    JWT_SECRET: randomBytes(32).toString('hex'),
    ...overrides,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix,
  };
  const nodes: TestServer[] = [];
  const addNode = async (more: ServerOptions = {}) => {
    const node = await startServer({ dialect: 'postgres', databaseUrl: database.url, ...options, ...more });
    nodes.push(node);
    return node;
  };
  try {
    // One after another: the first one migrates the database.
    for (let i = 0; i < count; i++) await addNode();
  } catch (err) {
    await Promise.all(nodes.map((n) => n.close()));
    await database.drop();
    throw err;
  }
  return {
    nodes,
    databaseUrl: database.url,
    prefix,
    options,
    addNode,
    close: async () => {
      await Promise.all(nodes.map((n) => n.close()));
      await database.drop();
      await deleteKeys(redisUrl, prefix).catch(() => undefined);
    },
  };
}

/** A `redis-server` of the test's own, on a fixed port so that it can come back where it was. */
export interface PrivateRedis {
  port: number;
  url: string;
  /** Kills it at once (no save, no goodbye): clients see the connection drop. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
}

export async function startRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async () => {
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    child = proc;
    await eventually(
      async () => {
        const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        probe.on('error', () => undefined); // refused until it listens: expected
        try {
          await probe.connect();
          return (await probe.ping()) === 'PONG';
        } catch {
          return false;
        } finally {
          probe.disconnect();
        }
      },
      10_000,
      'redis-server to answer',
    );
  };
  await start();
  return {
    port,
    url,
    start,
    kill: async () => {
      const proc = child;
      if (!proc || proc.exitCode !== null) return;
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGKILL');
      await exited;
    },
  };
}
