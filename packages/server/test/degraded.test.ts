/**
 * Degraded modes of a multi-node deployment. Redis down: every node keeps serving its own
 * sockets (sends stored and acknowledged, local broadcasts), `/readyz` is 503, and everything
 * comes back by itself when Redis does — cross-node delivery, presence. PostgreSQL down:
 * `message:send` answers UNAVAILABLE and acknowledges nothing it did not store, `/readyz` is 503,
 * and sends work again when it returns, without a restart.
 *
 * Neither the machine's Redis nor its PostgreSQL may be stopped (other tests use them): Redis is a
 * private `redis-server` of this test, and PostgreSQL is reached through a TCP proxy that the test
 * cuts and restores.
 */
import { createServer, connect as tcpConnect, type Server, type Socket as TcpSocket } from 'node:net';
import type { Message, Room, RoomMember, SyncRoomResult } from '@switchboard/protocol';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  chatUser,
  type ChatUser,
  closeSockets,
  collect,
  createPgDatabase,
  eventually,
  http,
  next,
  ok,
  request,
  startServer,
  type TestServer,
  uniqueName,
} from './helpers.js';
import { startCluster, startRedis, type PrivateRedis, type TestCluster } from './multinode.js';
import { freePort } from './processes.js';

afterEach(closeSockets);



const send = async (u: ChatUser, roomId: string, text: string) =>
  (await ok<{ message: Message }>(u.socket, 'message:send', { roomId, clientMsgId: uniqueName('c'), text })).message;

const readyStatus = async (url: string) => (await http(url, 'GET', '/readyz')).status;

describe('Redis outage and restart', () => {
  let redis: PrivateRedis;
  let cluster: TestCluster;
  beforeAll(async () => {
    redis = await startRedis();
    cluster = await startCluster(2, { REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await cluster.close();
    await redis.kill();
  });

  it('keeps serving local sockets, loses nothing acknowledged, and recovers by itself', async () => {
    const [url0, url1] = [cluster.nodes[0]!.url, cluster.nodes[1]!.url];
    const a = await chatUser(url0);
    const c = await chatUser(url0);
    const b = await chatUser(url1);
    const { room } = await ok<{ room: Room }>(a.socket, 'room:create', {
      name: uniqueName('outage'),
      kind: 'public',
      memberIds: [b.id, c.id],
    });
    const acked: Message[] = [];
    const crossNode = next<Message>(b.socket, 'message:new');
    acked.push(await send(a, room.id, 'before the outage'));
    await crossNode;

    await redis.kill();
    await eventually(async () => (await readyStatus(url0)) === 503 && (await readyStatus(url1)) === 503, 10_000, '/readyz 503');
    expect((await http(url0, 'GET', '/healthz')).status).toBe(200);

    // Node 0 serves its own sockets: sends are stored and acknowledged, and reach c on node 0.
    const seenByC = collect<Message>(c.socket, 'message:new');
    for (let i = 1; i <= 5; i++) acked.push(await send(a, room.id, `during the outage ${i}`));
    acked.push(await send(b, room.id, 'from node 1 during the outage'));
    await eventually(() => seenByC.length >= 5, 5000, 'local delivery on node 0');
    expect(seenByC.slice(0, 5).map((m) => m.text)).toEqual([1, 2, 3, 4, 5].map((i) => `during the outage ${i}`));
    // New connections and membership changes still work on each node.
    const late = await chatUser(url0);
    await ok(late.socket, 'room:join', { roomId: room.id });
    acked.push(await send(late, room.id, 'joined during the outage'));
    // Leaving tells the other nodes' membership caches through the adapter, which cannot reach them.
    await ok(late.socket, 'room:leave', { roomId: room.id });
    expect(await request(late.socket, 'message:send', { roomId: room.id, clientMsgId: uniqueName('c'), text: 'gone' })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    // Typing indicators live in Redis: refused clearly, not hung.
    expect(await request(a.socket, 'typing', { roomId: room.id, typing: true })).toMatchObject({
      ok: false,
      error: { code: 'UNAVAILABLE' },
    });

    await redis.start();
    await eventually(async () => (await readyStatus(url0)) === 200 && (await readyStatus(url1)) === 200, 20_000, '/readyz 200');

    // Cross-node delivery resumes (the adapter's readers reconnect on their own schedule).
    await eventually(
      async () => {
        const arrived = next<Message>(b.socket, 'message:new', (m) => m.text.startsWith('after recovery'), 1500);
        acked.push(await send(a, room.id, `after recovery ${acked.length}`));
        return arrived.then(
          () => true,
          () => false,
        );
      },
      20_000,
      'cross-node delivery after recovery',
    );

    // Node 0 rewrote its presence: node 1 sees a online again; Redis holds node 0's count.
    await eventually(
      async () => {
        const { members } = await ok<{ members: RoomMember[] }>(b.socket, 'room:members', { roomId: room.id });
        return members.find((m) => m.id === a.id)?.online === true;
      },
      15_000,
      'presence rewritten after the restart',
    );
    const probe = new Redis(redis.url);
    try {
      expect(Object.values(await probe.hgetall(`${cluster.prefix}presence:${a.id}`))).toEqual(['1']);
    } finally {
      probe.disconnect();
    }

    // b catches up by sync: everything acknowledged is there, once, in order.
    const { rooms } = await ok<{ rooms: SyncRoomResult[] }>(b.socket, 'sync', { rooms: { [room.id]: 0 } });
    const synced = (rooms[0] as { messages: Message[] }).messages;
    expect(synced.map((m) => m.seq)).toEqual(synced.map((_, i) => i + 1));
    expect(new Set(synced.map((m) => m.id))).toEqual(new Set(acked.map((m) => m.id)));
    expect(await request(a.socket, 'typing', { roomId: room.id, typing: true })).toEqual({ ok: true });
  });
});

/** A TCP proxy to the machine's PostgreSQL that the test can cut (refusing and dropping everything) and restore. */
async function pgProxy(target: { host: string; port: number }) {
  const port = await freePort();
  const open = new Set<TcpSocket>();
  let server: Server | undefined;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = tcpConnect(target.port, target.host);
        for (const socket of [client, upstream]) {
          open.add(socket);
          socket.on('close', () => open.delete(socket));
          socket.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
      server = s;
    });
  await listen();
  return {
    port,
    cut: async () => {
      const s = server;
      server = undefined;
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()));
    },
    restore: listen,
  };
}

describe('PostgreSQL outage', () => {
  let t: TestServer;
  let proxy: Awaited<ReturnType<typeof pgProxy>>;
  beforeAll(async () => {
    const database = await createPgDatabase();
    const direct = new URL(database.url);
    proxy = await pgProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
    const viaProxy = new URL(database.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    t = await startServer({ dialect: 'postgres', databaseUrl: viaProxy.toString(), dropDatabase: database.drop, RATE_LIMITS: 'off' });
  });
  afterAll(async () => {
    await proxy.restore().catch(() => undefined);
    await t.close();
    await proxy.cut();
  });

  it('answers UNAVAILABLE, acknowledges only what it stored, and recovers without a restart', async () => {
    const a = await chatUser(t.url);
    const b = await chatUser(t.url);
    const { room } = await ok<{ room: Room }>(a.socket, 'room:create', { name: uniqueName('pg'), kind: 'private', memberIds: [b.id] });
    await send(a, room.id, 'before the outage');

    // A stream of sends (one every few ms, not waiting for answers), cut in the middle: some are
    // acknowledged, the others fail. Spread out, because sends that arrive together share one
    // commit (group commit) and would all be answered before the cut.
    const ids = Array.from({ length: 30 }, () => uniqueName('c'));
    let answered = 0;
    const outcomes: Promise<Awaited<ReturnType<typeof request<{ message: Message }>>>>[] = [];
    for (const [i, clientMsgId] of ids.entries()) {
      outcomes.push(
        request<{ message: Message }>(a.socket, 'message:send', { roomId: room.id, clientMsgId, text: `burst ${i}` }, 20_000).then((res) => {
          if (++answered === 5) void proxy.cut();
          return res;
        }),
      );
      await new Promise((r) => setTimeout(r, 10));
    }
    const results = await Promise.all(outcomes);
    const failed = results.filter((r) => !r.ok);
    expect(failed.length).toBeGreaterThan(0);
    for (const r of failed) expect(r).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });

    // While it is down: UNAVAILABLE, not a hang nor INTERNAL; not ready.
    expect(await request(a.socket, 'message:send', { roomId: room.id, clientMsgId: uniqueName('c'), text: 'down' }, 20_000)).toMatchObject({
      ok: false,
      error: { code: 'UNAVAILABLE' },
    });
    expect(await readyStatus(t.url)).toBe(503);
    expect((await http(t.url, 'POST', '/api/auth/login', { username: a.session.user.username, password: 'x'.repeat(10) })).status).toBe(503);

    await proxy.restore();
    await eventually(async () => (await readyStatus(t.url)) === 200, 15_000, '/readyz 200');
    const after = await send(a, room.id, 'after the outage');
    expect(after.seq).toBeGreaterThan(1);

    // The failed sends, retried with their client ids: each is stored exactly once.
    for (const [i, r] of results.entries()) {
      if (r.ok) continue;
      await ok(a.socket, 'message:send', { roomId: room.id, clientMsgId: ids[i], text: `burst ${i}` });
    }
    const history = await ok<{ messages: Message[] }>(b.socket, 'message:history', { roomId: room.id, afterSeq: 0, limit: 200 });
    expect(history.messages.map((m) => m.seq)).toEqual(history.messages.map((_, i) => i + 1));
    const stored = new Set(history.messages.map((m) => m.id));
    for (const r of results) if (r.ok) expect(stored.has(r.message.id)).toBe(true);
    expect(history.messages.filter((m) => m.text.startsWith('burst ')).map((m) => m.clientMsgId).sort()).toEqual([...ids].sort());
    expect(history.messages).toHaveLength(ids.length + 2);
  });
});
