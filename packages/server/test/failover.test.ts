/**
 * Failover: three real `switchboard start` processes of one deployment (PostgreSQL + Redis), SDK
 * clients on every node sending continuously, and one node SIGKILLed in the middle. The clients
 * of the dead node reconnect to the survivors (`fallbackUrls`) and sync; afterwards every client
 * holds every acknowledged message exactly once, in seq order, without gaps, and a user whose
 * only socket was on the dead node shows offline to the others within 30 s (its heartbeat lapses
 * and a survivor sweeps it).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message, PresenceEvent, Session } from '@switchboard/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { client, closeClients, messagesOf } from '../../client/test/support.js';
import { closeSockets, connect, createPgDatabase, eventually, ok, register, uniqueName } from './helpers.js';
import { REDIS_URL, deleteKeys, uniquePrefix } from './multinode.js';
import { killServers, spawnServer, type ServerProcess } from './processes.js';

const NODES = 3;
const CLIENTS_PER_NODE = 2;
const EACH = 30;

const dataDirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  closeClients();
  closeSockets();
  killServers();
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('failover', () => {
  it('survives a SIGKILLed node: every acknowledged message exactly once, in order, everywhere; its users go offline', async () => {
    const database = await createPgDatabase();
    const prefix = uniquePrefix();
    cleanups.push(database.drop, () => deleteKeys(REDIS_URL, prefix));
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      JWT_SECRET: randomBytes(32).toString('hex'),
      // Each client sends faster than one user's message budget allows; rate limits have their own tests.
      RATE_LIMITS: 'off',
    };
    const nodes: ServerProcess[] = [];
    for (let i = 0; i < NODES; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'switchboard-failover-'));
      dataDirs.push(dir);
      nodes.push(await spawnServer({ ...env, DATA_DIR: dir }));
    }
    const urls = nodes.map((n) => n.url);
    const victimNode = NODES - 1;

    // SDK clients, CLIENTS_PER_NODE on each node, each knowing the other nodes.
    const sessions: Session[] = [];
    for (let i = 0; i < NODES * CLIENTS_PER_NODE; i++) sessions.push(await register(urls[0]!));
    const clients = sessions.map((session, i) => {
      const home = i % NODES;
      return client({ url: urls[home]!, fallbackUrls: urls.filter((_, n) => n !== home), session });
    });
    await Promise.all(clients.map((c) => c.ready()));
    const room = await clients[0]!.chat.createRoom({ name: uniqueName('failover'), kind: 'public' });
    for (const c of clients.slice(1)) await c.chat.joinRoom(room.id);
    const received = clients.map((c) => messagesOf(c, room.id));

    // A user whose only socket is on the node that will die, and a room-mate watching on node 0.
    const lonely = await register(urls[0]!);
    const watcher = await register(urls[0]!);
    await ok(await connect(urls[victimNode]!, '/chat', lonely.accessToken), 'room:join', { roomId: room.id });
    const watching = await connect(urls[0]!, '/chat', watcher.accessToken);
    await ok(watching, 'room:join', { roomId: room.id });

    // Everyone sends continuously; the victim dies once a third of the messages are acknowledged.
    let acknowledged = 0;
    let killedAt = 0;
    const wentOffline = new Promise<number>((resolve) => {
      watching.on('presence', (e: PresenceEvent) => {
        if (e.userId === lonely.user.id && e.status === 'offline' && killedAt > 0) resolve(Date.now() - killedAt);
      });
    });
    const kill = () => {
      if (killedAt > 0) return;
      killedAt = Date.now();
      nodes[victimNode]!.kill('SIGKILL', { group: true });
    };
    const sends = clients.map(async (c, i) => {
      const stored: Message[] = [];
      const pending: Promise<void>[] = [];
      for (let j = 0; j < EACH; j++) {
        pending.push(
          c.chat.send(room.id, `client ${i} message ${j}`).then((m) => {
            stored.push(m);
            if (++acknowledged === Math.floor((clients.length * EACH) / 3)) kill();
          }),
        );
        await sleep(40);
      }
      await Promise.all(pending);
      return stored;
    });
    const acks = (await Promise.all(sends)).flat();
    expect(killedAt).toBeGreaterThan(0);
    expect((await nodes[victimNode]!.exited).signal).toBe('SIGKILL');

    const total = clients.length * EACH;
    const range = Array.from({ length: total }, (_, i) => i + 1);
    expect(acks).toHaveLength(total);
    expect(acks.map((m) => m.seq).sort((a, b) => a - b)).toEqual(range);

    // Every client: every acknowledged message, exactly once, in seq order, no gaps.
    await eventually(() => received.every((list) => list.length >= total), 30_000, 'every client to hold every message');
    await Promise.all(clients.map((c) => c.chat.resync()));
    const ackedIds = new Set(acks.map((m) => m.id));
    for (const list of received) {
      expect(list.map((m) => m.seq)).toEqual(range);
      expect(new Set(list.map((m) => m.id))).toEqual(ackedIds);
    }
    // The dead node's clients live on elsewhere.
    for (const [i, c] of clients.entries()) if (i % NODES === victimNode) expect(c.state).toBe('connected');

    // The user whose only socket died with the node is offline for the others within 30 s.
    const offlineAfterMs = await Promise.race([wentOffline, sleep(30_000).then(() => Infinity)]);
    expect(offlineAfterMs).toBeLessThanOrEqual(30_000);
    const members = await ok<{ members: { id: string; online: boolean }[] }>(watching, 'room:members', { roomId: room.id });
    expect(members.members.find((m) => m.id === lonely.user.id)?.online).toBe(false);
    expect(members.members.filter((m) => m.online).length).toBeGreaterThanOrEqual(clients.length);
  }, 180_000);
});
