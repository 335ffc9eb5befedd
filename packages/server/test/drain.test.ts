/**
 * Graceful drain under load (PROTOCOL §1), as real processes, for one process and for a cluster
 * (WORKERS=2): SDK clients keep sending through their outbox (WebSocket and long-polling alike)
 * while the whole process group gets SIGTERM. Every process exits 0 within 10 s, connected
 * sockets are told `server:draining`, and nothing is lost: every message acknowledged before the
 * signal is in the room's history after a restart on the same DATA_DIR, and once the clients have
 * reconnected to it every message they were asked to send is stored exactly once, gap-free.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type SwitchboardClient } from '@switchboard/client';
import type { Message, Room } from '@switchboard/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { closeSockets, connect, eventually, next, ok, register } from './helpers.js';
import { alive, freePort, killServers, PROCESS_TEST_TIMEOUT_MS, spawnServer } from './processes.js';

const SENDERS = 4;
/** Messages each sender keeps queued (sent or waiting in its outbox) while the load runs. */
const PENDING_PER_SENDER = 5;
/** Acknowledged messages to wait for before the signal, so it lands in the middle of the load. */
const ACKED_BEFORE_SIGNAL = 40;

const dirs: string[] = [];
const clients: SwitchboardClient[] = [];

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  closeSockets();
  killServers();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe.each([1, 2])('drain under load, WORKERS=%i', (workers) => {
  it('loses nothing acknowledged, and every process exits 0 within 10 s', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-drain-'));
    dirs.push(dir);
    // A fixed port, so the SDK clients find the restarted server by themselves.
    const env = { WORKERS: String(workers), DATA_DIR: dir, PORT: String(await freePort()), RATE_LIMITS: 'off' };
    const first = await spawnServer(env);

    const owner = await register(first.url);
    const observer = await connect(first.url, '/chat', owner.accessToken);
    const room = (await ok<{ room: Room }>(observer, 'room:create', { name: `drain-${Date.now()}`, kind: 'public' })).room;

    const senders: SwitchboardClient[] = [];
    for (let i = 0; i < SENDERS; i++) {
      const session = await register(first.url);
      const client = createClient({
        url: first.url,
        session,
        transports: [i % 2 === 0 ? 'websocket' : 'polling'],
        reconnectionDelay: 50,
        reconnectionDelayMax: 500,
        requestTimeout: 3000,
      });
      clients.push(client);
      await client.ready();
      await client.chat.joinRoom(room.id);
      senders.push(client);
    }

    // Continuous load: every sender keeps up to PENDING_PER_SENDER messages in its outbox, topping
    // it up every 10 ms (bounded, so a slow machine does not pile up thousands of messages).
    const sends: Promise<Message>[] = [];
    const acked: Message[] = [];
    let generating = true;
    const loops = senders.map(async (client, s) => {
      for (let n = 0; generating; ) {
        if (client.chat.outbox.length < PENDING_PER_SENDER) {
          const sent = client.chat.send(room.id, `sender ${s} message ${n++}`);
          sends.push(sent);
          sent.then((m) => acked.push(m), () => undefined);
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    });

    await eventually(() => acked.length >= ACKED_BEFORE_SIGNAL, 20_000, 'acknowledged messages before the signal');
    const draining = next(observer, 'server:draining', () => true, 10_000);
    const pids = [first.pid, ...first.workerPids()];
    expect(pids).toHaveLength(workers === 1 ? 1 : 1 + workers);
    const signalledAt = Date.now();
    first.kill('SIGTERM', { group: true });
    const ackedBeforeSignal = [...acked];

    expect(await draining).toEqual({});
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(10_000); // the protocol's hard limit, not a performance claim
    expect(pids.filter(alive)).toEqual([]);
    generating = false;
    await Promise.all(loops);

    // Back on the same data and port: the outboxes deliver whatever was not acknowledged.
    const second = await spawnServer(env);
    await eventually(() => acked.length === sends.length, 30_000, 'every queued message to be acknowledged');
    const results = await Promise.allSettled(sends);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);

    const reader = await connect(second.url, '/chat', owner.accessToken);
    const history: Message[] = [];
    for (let afterSeq = 0, more = true; more; ) {
      const page = await ok<{ messages: Message[]; hasMore: boolean }>(reader, 'message:history', { roomId: room.id, afterSeq, limit: 200 });
      history.push(...page.messages);
      more = page.hasMore;
      afterSeq = page.messages.at(-1)?.seq ?? afterSeq;
    }
    expect(history.map((m) => m.seq)).toEqual(Array.from({ length: sends.length }, (_, i) => i + 1));
    expect(new Set(history.map((m) => `${m.senderId} ${m.clientMsgId}`)).size).toBe(sends.length);
    const stored = new Map(history.map((m) => [m.id, m]));
    for (const message of ackedBeforeSignal) expect(stored.get(message.id)).toMatchObject({ seq: message.seq, text: message.text });

    const secondPids = [second.pid, ...second.workerPids()];
    second.kill('SIGTERM', { group: true });
    expect(await second.exited).toEqual({ code: 0, signal: null });
    await eventually(() => secondPids.every((pid) => !alive(pid)), 10_000, 'every process to exit');
  });
});
