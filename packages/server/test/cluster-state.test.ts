/**
 * Presence, typing and rate limits shared by the workers of one host without Redis. First the
 * primary's rules, with the primary in this process (test/cluster-loopback.ts): each transition
 * reported once, a dead worker's users handed to a serving worker to announce, typing expired
 * only by the worker that renewed it last, and a protocol that ignores the other users of the IPC
 * channel. Then a real cluster (WORKERS=2, real processes): a user with sockets on both workers
 * stays online until both are gone, typing crosses workers and expires once, a flood spread over
 * both workers meets one budget, failed logins are throttled across workers, and the users of a
 * worker that dies go offline for the others.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import { ErrorCode, type Message, type PresenceEvent, type Room, type RoomMember, type Session, type TypingEvent } from '@switchboard/protocol';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../src/domain/errors.js';
import { CLUSTER_STATE_CHANNEL } from '../src/scale/cluster-ipc.js';
import { ClusterPresenceStore } from '../src/scale/cluster-presence.js';
import { ClusterTypingStore, TypingLedger } from '../src/scale/cluster-typing.js';
import type { PresenceStatus } from '../src/scale/presence-store.js';
import { loopbackCluster, type LoopbackCluster, type LoopbackWorker } from './cluster-loopback.js';
import { closeSockets, collect, connect, eventually, http, next, ok, register, request, uniqueName } from './helpers.js';
import { alive, killServers, PROCESS_TEST_TIMEOUT_MS, spawnServer, type ServerProcess } from './processes.js';

const log = pino({ level: 'silent' });

describe('cluster state in the primary', () => {
  let cluster: LoopbackCluster;
  beforeAll(() => {
    cluster = loopbackCluster({ typingExpiryMs: 200 });
  });
  afterAll(() => cluster.close());

  /** A worker's presence store, recording the transitions the primary asked it to announce. */
  function presenceOf(worker: LoopbackWorker) {
    const store = new ClusterPresenceStore(worker.link, log);
    const announced: [string, PresenceStatus][] = [];
    store.onTransition((userId, status) => {
      announced.push([userId, status]);
      return Promise.resolve();
    });
    return { store, announced };
  }

  it('counts a user online while any worker holds a socket, and reports each transition once', async () => {
    const [wa, wb] = [cluster.worker(), cluster.worker()];
    const [a, b] = [presenceOf(wa), presenceOf(wb)];
    const user = uniqueName('u');
    expect(await a.store.connect(user, 'a1')).toBe(true);
    expect(await b.store.connect(user, 'b1')).toBe(false);
    expect(await a.store.connect(user, 'a2')).toBe(false);
    expect(await b.store.online([user])).toEqual(new Set([user]));
    expect(await a.store.disconnect(user, 'a1')).toBe(false);
    expect(await a.store.disconnect(user, 'a2')).toBe(false);
    expect(await a.store.online([user])).toEqual(new Set([user]));
    expect(await b.store.disconnect(user, 'b1')).toBe(true);
    expect(await a.store.online([user])).toEqual(new Set());
  });

  it('announces a simultaneous first connect on two workers exactly once', async () => {
    const [a, b] = [presenceOf(cluster.worker()), presenceOf(cluster.worker())];
    const user = uniqueName('u');
    const results = await Promise.all([a.store.connect(user, 'a1'), b.store.connect(user, 'b1')]);
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('hands the users of a dead worker to one serving worker, which announces them offline once', async () => {
    const [wDead, wServing, wOther] = [cluster.worker(), cluster.worker(), cluster.worker()];
    const [dead, serving, other] = [presenceOf(wDead), presenceOf(wServing), presenceOf(wOther)];
    wServing.ready();
    wOther.ready();
    const [lonely, shared] = [uniqueName('u'), uniqueName('u')];
    await dead.store.connect(lonely, 'd1');
    await dead.store.connect(lonely, 'd2');
    await dead.store.connect(shared, 'd3');
    await other.store.connect(shared, 'o1');

    wDead.exit();
    await eventually(() => serving.announced.length > 0, 5000, 'the announcement');
    expect(serving.announced).toEqual([[lonely, 'offline']]);
    expect(other.announced).toEqual([]);
    expect(await other.store.online([lonely, shared])).toEqual(new Set([shared]));

    // What a dead worker's channel still delivers is ignored: it cannot put anyone back online.
    await wDead.sendRaw({ channel: CLUSTER_STATE_CHANNEL, id: 999, op: 'presence.set', args: { userId: lonely, count: 1 } });
    expect(await other.store.online([lonely])).toEqual(new Set());
    expect(await other.store.connect(lonely, 'o2')).toBe(true);
  });

  it('keeps a dead worker’s offline users until a worker serves, leaving out those who came back', async () => {
    const local = loopbackCluster();
    try {
      const wDead = local.worker();
      const dead = presenceOf(wDead);
      const [gone, back] = [uniqueName('u'), uniqueName('u')];
      await dead.store.connect(gone, 'd1');
      await dead.store.connect(back, 'd2');
      wDead.exit(); // no worker serves yet: nobody to announce it

      const wNext = local.worker();
      const replacement = presenceOf(wNext);
      expect(await replacement.store.connect(back, 'n1')).toBe(true);
      wNext.ready();
      await eventually(() => replacement.announced.length > 0, 5000, 'the announcement');
      expect(replacement.announced).toEqual([[gone, 'offline']]);
    } finally {
      local.close();
    }
  });

  it('withdraws a closing worker: its users go offline, announced by itself, the others stay', async () => {
    const [a, b] = [presenceOf(cluster.worker()), presenceOf(cluster.worker())];
    const [onlyA, both] = [uniqueName('u'), uniqueName('u')];
    await a.store.connect(onlyA, 'a1');
    await a.store.connect(both, 'a2');
    await b.store.connect(both, 'b1');
    await a.store.close();
    expect(a.announced).toEqual([[onlyA, 'offline']]);
    expect(await b.store.online([onlyA, both])).toEqual(new Set([both]));
  });

  it('lets only the worker that renewed last expire an indicator; an end ends it anywhere; a dead worker’s are forgotten', async () => {
    const [wa, wb] = [cluster.worker(), cluster.worker()];
    const [a, b] = [new ClusterTypingStore(wa.link), new ClusterTypingStore(wb.link)];
    const [room, user] = [uniqueName('r'), uniqueName('u')];
    expect(await a.renew(room, user)).toBe(true);
    expect(await b.renew(room, user)).toBe(false); // another tab of the same user, on worker b
    expect(await a.expire(room, user)).toBe(false); // b renewed since: a's timer ends nothing
    expect(await b.expire(room, user)).toBe(true);
    expect(await a.renew(room, user)).toBe(true);
    expect(await b.end(room, user)).toBe(true);
    expect(await a.expire(room, user)).toBe(false); // already ended: no second `typing: false`

    expect(await b.renew(room, user)).toBe(true);
    wb.exit();
    expect(await a.renew(room, user)).toBe(true);
  });

  it('keeps a typing state a little longer than the expiry, and then forgets it', async () => {
    const ledger = new TypingLedger(100, 100);
    const [room, user] = [uniqueName('r'), uniqueName('u')];
    expect(ledger.renew(1, room, user)).toBe(true);
    expect(ledger.renew(1, room, user)).toBe(false);
    // Past expiry and grace, a state whose timer was lost (its worker's expire never came) is gone.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ledger.expire(1, room, user)).toBe(false);
    expect(ledger.renew(2, room, user)).toBe(true);
  });

  it('answers only its own messages, and fails a request the primary never answers', async () => {
    const worker = cluster.worker();
    // Messages of the other users of the IPC channel: sticky sessions, the adapter, the limiters.
    await worker.sendRaw({ type: 'sticky:connection', data: 'abc' });
    await worker.sendRaw({ source: '_sio_adapter', type: 1, nsp: '/chat' });
    await worker.sendRaw({ channel: 'rate_limiter_flexible', type: 'init', opts: { keyPrefix: 'x' } });
    await worker.sendRaw(null);
    await worker.sendRaw({ channel: CLUSTER_STATE_CHANNEL, id: 7, op: 'no-such-op', args: {} });
    await eventually(() => worker.received.length > 0, 5000, 'the answer');
    expect(worker.received).toEqual([{ channel: CLUSTER_STATE_CHANNEL, id: 7, ok: false, error: 'unknown operation "no-such-op"' }]);
    expect(await worker.link.request('ping', {})).toBe(true);

    const unheard = cluster.worker({ deaf: true, timeoutMs: 100 });
    const failure = await unheard.link.request('ping', {}).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(AppError);
    expect((failure as AppError).code).toBe(ErrorCode.UNAVAILABLE);
  });
});

const dirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-cluster-state-'));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  killServers();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The workers (pids) that served `userId`'s `/chat` sockets, in the order they connected. */
function landings(server: ServerProcess, userId: string): number[] {
  return server.logs.filter((e) => e.msg === 'socket connected' && e.namespace === '/chat' && e.userId === userId).map((e) => e.pid as number);
}

interface Placed {
  socket: Socket;
  pid: number;
}

/**
 * Connects `/chat` sockets of `session`, one after another, until one lands on a worker that
 * `wanted` accepts, and returns them all, the last one on that worker. A new connection goes to
 * the worker with the fewest, so every socket that lands elsewhere tips the balance toward the
 * other worker; they are kept, as more tabs of the same user.
 */
async function connectUntil(server: ServerProcess, session: Session, wanted: (pid: number) => boolean): Promise<Placed[]> {
  const placed: Placed[] = [];
  for (let attempt = 0; attempt < 8; attempt++) {
    const before = landings(server, session.user.id).length;
    const socket = await connect(server.url, '/chat', session.accessToken);
    await eventually(() => landings(server, session.user.id).length > before, 10_000, 'the socket connected line');
    const pid = landings(server, session.user.id)[before] as number;
    placed.push({ socket, pid });
    if (wanted(pid)) return placed;
  }
  throw new Error('no socket landed on the wanted worker');
}

const last = (placed: Placed[]): Placed => placed.at(-1) as Placed;

/** The workers (pids) that served the login requests so far, in order, from Fastify's request lines. */
function loginLandings(server: ServerProcess): number[] {
  return server.logs
    .filter((e) => e.msg === 'incoming request' && (e.req as { url?: string } | undefined)?.url === '/api/auth/login')
    .map((e) => e.pid as number);
}

async function members(socket: Socket, roomId: string): Promise<Map<string, boolean>> {
  const { members: list } = await ok<{ members: RoomMember[] }>(socket, 'room:members', { roomId });
  return new Map(list.map((m) => [m.id, m.online]));
}

const createRoom = async (socket: Socket, memberIds: string[]) =>
  (await ok<{ room: Room }>(socket, 'room:create', { name: uniqueName('Room'), kind: 'private', memberIds })).room;

describe('cluster mode without Redis: one state for every worker', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await spawnServer({ WORKERS: '2', DATA_DIR: dataDir(), LOG_LEVEL: 'debug' });
  }, PROCESS_TEST_TIMEOUT_MS);
  afterEach(closeSockets);
  afterAll(async () => {
    server.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
  });

  it('keeps a user with sockets on both workers online until both are gone; the others hear one online and one offline', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
    const [observer, d] = [await register(server.url), await register(server.url)];
    const watching = last(await connectUntil(server, observer, () => true)).socket;
    const room = await createRoom(watching, [d.user.id]);
    const heard = collect<PresenceEvent>(watching, 'presence');
    const typing = collect<TypingEvent>(watching, 'typing');
    const heardOfD = () => heard.filter((e) => e.userId === d.user.id).map((e) => e.status);

    const [first] = (await connectUntil(server, d, () => true)) as [Placed];
    await eventually(() => heardOfD().length > 0, 10_000, 'the online event');
    const everywhere = await connectUntil(server, d, (pid) => pid !== first.pid);
    const onFirstWorker = [first, ...everywhere.slice(0, -1)];
    expect(onFirstWorker.every((p) => p.pid === first.pid)).toBe(true);
    expect(await members(watching, room.id)).toContainEqual([d.user.id, true]);

    // Typing renewed on the first worker ends when d's last chat socket there goes: the observer
    // hearing that end proves the first worker has handled those disconnects (and told the
    // primary of them before, in order).
    await ok(first.socket, 'typing', { roomId: room.id, typing: true });
    await eventually(() => typing.length === 1, 10_000, 'typing: true');
    for (const { socket } of onFirstWorker) socket.disconnect();
    await eventually(() => typing.length === 2, 10_000, 'typing: false');
    expect(await members(watching, room.id)).toContainEqual([d.user.id, true]);
    expect(heardOfD()).toEqual(['online']);

    const offline = next<PresenceEvent>(watching, 'presence', (e) => e.userId === d.user.id && e.status === 'offline', 10_000);
    last(everywhere).socket.disconnect();
    expect((await offline).lastSeenAt).toBeGreaterThan(0);
    expect(await members(watching, room.id)).toContainEqual([d.user.id, false]);
    // Long enough for a second worker's duplicate to have arrived.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(heardOfD()).toEqual(['online', 'offline']);
  });

  it('shows typing across workers: started once, ended by a tab on the other worker, expired once by the worker that renewed last', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
    const [observer, t] = [await register(server.url), await register(server.url)];
    const watching = last(await connectUntil(server, observer, () => true));
    const room = await createRoom(watching.socket, [t.user.id]);
    const onOther = last(await connectUntil(server, t, (pid) => pid !== watching.pid)).socket;
    const onSame = last(await connectUntil(server, t, (pid) => pid === watching.pid)).socket;
    const seen = collect<TypingEvent>(watching.socket, 'typing');
    const echo = collect<TypingEvent>(onSame, 'typing');

    const started = next<TypingEvent>(watching.socket, 'typing', () => true, 10_000);
    await ok(onOther, 'typing', { roomId: room.id, typing: true });
    expect(await started).toEqual({ roomId: room.id, userId: t.user.id, displayName: t.user.displayName, typing: true });
    await ok(onSame, 'typing', { roomId: room.id, typing: true }); // a renewal, from the other worker
    const stopped = next<TypingEvent>(watching.socket, 'typing', (e) => !e.typing, 10_000);
    await ok(onSame, 'typing', { roomId: room.id, typing: false });
    await stopped;

    // Started on one worker, renewed on the other: the first one's timer ends nothing, the second's ends it once.
    const again = next<TypingEvent>(watching.socket, 'typing', (e) => e.typing, 10_000);
    await ok(onOther, 'typing', { roomId: room.id, typing: true });
    await again;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await ok(onSame, 'typing', { roomId: room.id, typing: true });
    const expired = await next<TypingEvent>(watching.socket, 'typing', (e) => !e.typing, 20_000);
    expect(expired).toMatchObject({ userId: t.user.id, typing: false });
    // A probe from the worker that expired it: everything that worker emitted before has arrived.
    const probe = next<Message>(watching.socket, 'message:new', () => true, 10_000);
    await ok(onSame, 'message:send', { roomId: room.id, clientMsgId: uniqueName('c'), text: 'probe' });
    await probe;
    expect(seen.map((e) => e.typing)).toEqual([true, false, true, false]);
    expect(echo).toEqual([]);
  });

  it('shares the message budget: a flood spread over both workers meets one burst', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
    const u = await register(server.url);
    const first = last(await connectUntil(server, u, () => true));
    const second = last(await connectUntil(server, u, (pid) => pid !== first.pid));
    const room = await createRoom(first.socket, []);
    // 30 through each worker is exactly one worker's burst: per-worker counters would refuse none.
    const answers = await Promise.all(
      [first.socket, second.socket].flatMap((socket) =>
        Array.from({ length: 30 }, () => request(socket, 'message:send', { roomId: room.id, clientMsgId: uniqueName('c'), text: 'flood' }, 20_000)),
      ),
    );
    const limited = answers.filter((a) => !a.ok && a.error.code === ErrorCode.RATE_LIMITED);
    expect(limited.length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.ok).length).toBeGreaterThanOrEqual(30);
    expect(answers.filter((a) => a.ok).length + limited.length).toBe(60);
    for (const answer of limited) expect(answer.ok ? undefined : answer.error.retryAfterMs).toBeGreaterThan(0);
  });

  it('shares the failed-login throttle: 429 after 10 failures spread over both workers', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
    const [victim, ballast] = [await register(server.url), await register(server.url)];
    const login = (password: string) => http(server.url, 'POST', '/api/auth/login', { username: victim.user.username, password });
    /** Sends a login and returns its status and the worker that served it. */
    const attempt = async (password: string) => {
      const before = loginLandings(server).length;
      const res = await login(password);
      await eventually(() => loginLandings(server).length > before, 10_000, 'the request line');
      return { status: res.status, pid: loginLandings(server)[before] as number };
    };
    // A request goes to the worker with the fewest connections: one more socket (on that worker)
    // sends the next one to the other worker.
    const tip = () => connect(server.url, '/chat', ballast.accessToken);

    const served: number[] = [];
    for (let i = 0; i < 10; i++) {
      if (served.length > 0 && served.every((pid) => pid === served[0])) await tip();
      const { status, pid } = await attempt(`wrong-${i}-pass`);
      expect(status).toBe(401);
      served.push(pid);
    }
    expect(new Set(served).size).toBe(2);

    const refusedBy = new Set<number>();
    for (let i = 0; i < 8 && refusedBy.size < 2; i++) {
      const { status, pid } = await attempt('correct horse battery');
      expect(status).toBe(429);
      if (refusedBy.has(pid)) await tip();
      refusedBy.add(pid);
    }
    expect(refusedBy.size).toBe(2);
  });
});

describe('cluster mode without Redis: a worker dies', () => {
  it('takes its users offline for the others; a user also on the surviving worker stays online', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
    const server = await spawnServer({ WORKERS: '2', DATA_DIR: dataDir(), LOG_LEVEL: 'debug' });
    try {
      const [k, observer, m] = [await register(server.url), await register(server.url), await register(server.url)];
      const victim = last(await connectUntil(server, k, () => true)).pid;
      const watching = last(await connectUntil(server, observer, (pid) => pid !== victim)).socket;
      await connectUntil(server, m, (pid) => pid === victim);
      await connectUntil(server, m, (pid) => pid !== victim);
      const room = await createRoom(watching, [k.user.id, m.user.id]);
      expect(await members(watching, room.id)).toEqual(
        new Map([
          [observer.user.id, true],
          [k.user.id, true],
          [m.user.id, true],
        ]),
      );
      const heard = collect<PresenceEvent>(watching, 'presence');

      const offline = next<PresenceEvent>(watching, 'presence', (e) => e.userId === k.user.id && e.status === 'offline', 20_000);
      process.kill(victim, 'SIGKILL');
      expect((await offline).lastSeenAt).toBeGreaterThan(0);
      const now = await members(watching, room.id);
      expect(now.get(k.user.id)).toBe(false);
      expect(now.get(m.user.id)).toBe(true);
      // Long enough for a duplicate to have arrived.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(heard.map((e) => [e.userId, e.status])).toEqual([[k.user.id, 'offline']]);
      expect(alive(server.pid)).toBe(true);
    } finally {
      closeSockets();
    }
  });
});
