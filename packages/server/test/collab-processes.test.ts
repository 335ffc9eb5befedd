/**
 * Collaborative documents with the server as real processes (PROTOCOL §5). Durability: an update
 * is stored before it is relayed, so an edit that reached another client survives a SIGKILL of the
 * server right after; started again on the same data, the server serves it to a fresh client.
 * Cluster mode: clients of one document on different workers of one host converge and see each
 * other's awareness.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { WebsocketProvider } from 'y-websocket';
import { closeCollab, converged, member, openProvider, roomWithDoc, textOf } from './collab-client.js';
import { createPgDatabase, dialects, eventually } from './helpers.js';
import { PROCESS_TEST_TIMEOUT_MS, killServers, spawnServer } from './processes.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  closeCollab();
  killServers();
  for (const cleanup of cleanups) await cleanup();
});

describe.each(dialects)('SIGKILL after an edit reached a peer, on %s', (dialect) => {
  it(
    'keeps the edit',
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-collab-crash-'));
      cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
      const env: Record<string, string> = { DATA_DIR: dataDir, JWT_SECRET: randomBytes(32).toString('hex') };
      if (dialect === 'postgres') {
        const database = await createPgDatabase();
        cleanups.push(database.drop);
        env.DATABASE_URL = database.url;
      }
      const first = await spawnServer(env);
      const alice = await member(first.url);
      const bob = await member(first.url);
      const { doc } = await roomWithDoc(first.url, alice, [bob]);
      const a = await openProvider(first.url, doc.id, alice.token);
      const b = await openProvider(first.url, doc.id, bob.token);
      a.doc.getText('content').insert(0, 'written before the crash');
      await converged([a, b]);
      // The moment Bob has the last of a burst of edits, the server dies.
      for (let i = 0; i < 20; i++) a.doc.getText('content').insert(0, `${i} `);
      await eventually(() => textOf(b).startsWith('19 '), 10_000, 'the last edit to reach Bob');
      first.kill('SIGKILL', { group: true });
      await first.exited;
      const seen = textOf(b);
      closeCollab();

      const second = await spawnServer(env);
      const fresh = await openProvider(second.url, doc.id, alice.token);
      expect(textOf(fresh)).toBe(seen);
      second.kill('SIGTERM', { group: true });
      await second.exited;
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});

describe('cluster mode (WORKERS=2)', () => {
  it(
    'converges and shares awareness between clients on different workers',
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-collab-cluster-'));
      cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
      const server = await spawnServer({ DATA_DIR: dataDir, WORKERS: '2', LOG_LEVEL: 'debug' });
      const alice = await member(server.url);
      const { doc } = await roomWithDoc(server.url, alice);
      // New connections go to the worker with the fewest: four providers land on both workers.
      const providers: WebsocketProvider[] = [];
      for (let i = 0; i < 4; i++) providers.push(await openProvider(server.url, doc.id, alice.token));
      const workers = new Set(server.logs.filter((e) => e.msg === 'collab connected' && e.docId === doc.id).map((e) => e.pid));
      expect(workers.size).toBe(2);
      providers.forEach((p, i) => p.doc.getText('content').insert(0, `worker test ${i}. `));
      expect(await converged(providers)).toHaveLength(4 * 'worker test 0. '.length);
      providers[0]!.awareness.setLocalStateField('user', { name: 'Alice' });
      const id = providers[0]!.awareness.clientID;
      await eventually(() => providers.every((p) => p.awareness.getStates().has(id)), 10_000, 'awareness on every worker');
      closeCollab();
      server.kill('SIGTERM', { group: true });
      await server.exited;
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
