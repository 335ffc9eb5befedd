/**
 * Monitoring across processes (PROTOCOL §7): two real `switchboard start` nodes of one deployment
 * (PostgreSQL + Redis) see each other in `monitor:snapshot`; a SIGKILLed node leaves the list of
 * up nodes, counts in `nodesDown` and fires the default "node down" alert. In cluster mode
 * (WORKERS=2) one `/metrics` scrape counts the sockets of every worker.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Alert, MonitorSnapshot } from '@switchboard/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { closeSockets, connect, createPgDatabase, next, register } from './helpers.js';
import { REDIS_URL, deleteKeys, uniquePrefix } from './multinode.js';
import { killServers, PROCESS_TEST_TIMEOUT_MS, spawnServer } from './processes.js';

const dataDirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  closeSockets();
  killServers();
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

const dataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-monitoring-'));
  dataDirs.push(dir);
  return dir;
};

describe('monitoring across processes', () => {
  it(
    'shows every node of a deployment, and a SIGKILLed one goes down and raises "node down"',
    async () => {
      const database = await createPgDatabase();
      const prefix = uniquePrefix();
      cleanups.push(database.drop, () => deleteKeys(REDIS_URL, prefix));
      const env = { DATABASE_URL: database.url, REDIS_URL, REDIS_KEY_PREFIX: prefix, JWT_SECRET: randomBytes(32).toString('hex') };
      const first = await spawnServer({ ...env, DATA_DIR: dataDir() });
      const second = await spawnServer({ ...env, DATA_DIR: dataDir() });
      const admin = await register(first.url);
      const monitor = await connect(first.url, '/monitor', admin.accessToken);
      // A user's socket on the second node shows in its figures, as seen from the first.
      await connect(second.url, '/chat', (await register(first.url)).accessToken);

      const both = await next<MonitorSnapshot>(monitor, 'monitor:snapshot', (s) => s.nodes.length === 2, 15_000);
      expect(both.cluster.nodesUp).toBe(2);
      expect(both.cluster.nodesDown).toBe(0);
      expect(both.cluster.connections).toBe(both.nodes[0]!.connections + both.nodes[1]!.connections);
      expect(both.cluster.connections).toBeGreaterThanOrEqual(2);
      const victim = both.nodes.find((n) => n.nodeId.includes(`:${second.pid}:`));
      expect(victim).toBeDefined();

      const nodeDown = next<Alert>(monitor, 'alert:firing', (a) => a.metric === 'nodesDown', 30_000);
      second.kill('SIGKILL');
      const after = await next<MonitorSnapshot>(monitor, 'monitor:snapshot', (s) => s.cluster.nodesDown === 1, 20_000);
      expect(after.nodes.map((n) => n.nodeId)).not.toContain(victim!.nodeId);
      expect(after.downNodes.map((n) => n.nodeId)).toEqual([victim!.nodeId]);
      expect(after.cluster.nodesUp).toBe(1);
      expect(await nodeDown).toMatchObject({ metric: 'nodesDown', severity: 'critical', value: 1, resolvedAt: null });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'answers one /metrics scrape for every worker in cluster mode',
    async () => {
      const server = await spawnServer({ WORKERS: '2', DATA_DIR: dataDir() });
      const session = await register(server.url);
      const sockets = await Promise.all(Array.from({ length: 4 }, () => connect(server.url, '/chat', session.accessToken)));
      expect(sockets.every((s) => s.connected)).toBe(true);
      const res = await fetch(`${server.url}/metrics`);
      expect(res.status).toBe(200);
      const text = await res.text();
      const line = text.split('\n').find((l) => l.startsWith('switchboard_connections{namespace="/chat"} '));
      expect(Number(line?.split(' ').at(-1))).toBe(4);
      // Both workers took connections (least-connection balancing), so the sum is across processes.
      expect(server.workerPids()).toHaveLength(2);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
