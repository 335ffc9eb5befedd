/**
 * Cluster mode on one host (WORKERS=2), as real processes: a primary that owns the port and two
 * workers on one SQLite database. WebSocket and long-polling clients land on both workers (sticky
 * sessions keep each polling session on its worker), every message reaches every member exactly
 * once whichever worker its sender is on, seqs stay gap-free under concurrent sends through both
 * workers, a worker that dies is replaced (and no connection is lost while the replacement
 * starts), and SIGTERM to the primary alone stops them all.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import type { Message, Room, Session } from '@switchboard/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { workerCount } from '../src/scale/cluster.js';
import { closeSockets, collect, connect, eventually, http, next, ok, register } from './helpers.js';
import { alive, killServers, PROCESS_TEST_TIMEOUT_MS, spawnServer, type ServerProcess } from './processes.js';

const dirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-cluster-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const socket of patient.splice(0)) socket.disconnect();
  closeSockets();
  killServers();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** SIGTERM (to the primary alone, or the group) and the checks every shutdown must pass. */
async function stopCluster(server: ServerProcess, options: { group?: boolean } = {}): Promise<void> {
  const pids = [server.pid, ...server.workerPids()];
  server.kill('SIGTERM', options);
  expect(await server.exited).toEqual({ code: 0, signal: null });
  await eventually(() => pids.every((pid) => !alive(pid)), 10_000, 'every process of the cluster to exit');
}

const patient: Socket[] = [];

/** A WebSocket `/chat` socket that waits as long as a worker may take to start before it gives up. */
function connectPatiently(url: string, token: string): Promise<Socket> {
  const socket = io(`${url}/chat`, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true, timeout: 90_000 });
  patient.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

/** The worker (pid) that served the user's `/chat` socket, from the `socket connected` debug line. */
function servedBy(server: ServerProcess, userId: string): number | undefined {
  return server.logs.find((e) => e.msg === 'socket connected' && e.namespace === '/chat' && e.userId === userId)?.pid;
}

/** Which worker (pid) served each `/chat` socket, by transport, from the `socket connected` debug lines. */
function chatSocketsByWorker(server: ServerProcess): Map<number, Set<string>> {
  const byWorker = new Map<number, Set<string>>();
  for (const entry of server.logs) {
    if (entry.msg !== 'socket connected' || entry.namespace !== '/chat') continue;
    const transports = byWorker.get(entry.pid as number) ?? new Set<string>();
    transports.add(String(entry.transport));
    byWorker.set(entry.pid as number, transports);
  }
  return byWorker;
}

describe('cluster mode', () => {
  it('WORKERS=auto means one worker per core', () => {
    expect(workerCount('auto')).toBe(availableParallelism());
    expect(workerCount(3)).toBe(3);
  });

  it('WORKERS=2: mixed transports on both workers, every message to everyone exactly once, seqs gap-free', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
    const server = await spawnServer({ WORKERS: '2', DATA_DIR: dataDir(), LOG_LEVEL: 'debug', RATE_LIMITS: 'off' });
    expect(server.workerPids()).toHaveLength(2);
    expect((await http(server.url, 'GET', '/readyz')).status).toBe(200);

    const USERS = 8;
    const ROOMS = 3;
    const PER_USER_AND_ROOM = 5;
    const sessions = [];
    for (let i = 0; i < USERS; i++) sessions.push(await register(server.url));
    // Connected one after another, so least-connection alternates between the workers and each
    // gets both kinds: WebSocket, WebSocket, polling, polling, …
    const sockets: Socket[] = [];
    for (const [i, session] of sessions.entries()) {
      const transport = Math.floor(i / 2) % 2 === 0 ? 'websocket' : 'polling';
      sockets.push(await connect(server.url, '/chat', session.accessToken, { transports: [transport] }));
    }
    await eventually(() => chatSocketsByWorker(server).size === 2, 10_000, 'sockets on both workers');
    const byWorker = chatSocketsByWorker(server);
    expect([...byWorker.keys()].sort()).toEqual(server.workerPids().sort());
    for (const transports of byWorker.values()) expect([...transports].sort()).toEqual(['polling', 'websocket']);

    const [owner, ...others] = sockets as [Socket, ...Socket[]];
    const rooms: Room[] = [];
    for (let r = 0; r < ROOMS; r++) {
      rooms.push((await ok<{ room: Room }>(owner, 'room:create', { name: `cluster-${Date.now()}-${r}`, kind: 'public' })).room);
    }
    for (const socket of others) for (const room of rooms) await ok(socket, 'room:join', { roomId: room.id });
    const inboxes = sockets.map((socket) => collect<Message>(socket, 'message:new'));

    // Everyone sends to every room at once: writers on both workers race for the same rooms' seqs.
    const sends = sockets.flatMap((socket, u) =>
      rooms.flatMap((room, r) =>
        Array.from({ length: PER_USER_AND_ROOM }, (_, k) =>
          ok<{ message: Message }>(socket, 'message:send', { roomId: room.id, clientMsgId: `c-${u}-${r}-${k}`, text: `${u}/${r}/${k}` }),
        ),
      ),
    );
    const sent = (await Promise.all(sends)).map((answer) => answer.message);
    const perRoom = USERS * PER_USER_AND_ROOM;
    const range = Array.from({ length: perRoom }, (_, i) => i + 1);
    for (const room of rooms) {
      expect(sent.filter((m) => m.roomId === room.id).map((m) => m.seq).sort((a, b) => a - b)).toEqual(range);
    }

    // A last message per room, after everything else was acknowledged: once it has arrived
    // everywhere, anything still travelling would be a duplicate.
    for (const room of rooms) sent.push((await ok<{ message: Message }>(owner, 'message:send', { roomId: room.id, clientMsgId: `last-${room.id}`, text: 'last' })).message);
    const expected = sent.map((m) => m.id).sort();
    await eventually(() => inboxes.every((inbox) => inbox.length >= expected.length), 20_000, 'every message on every socket');
    for (const inbox of inboxes) expect(inbox.map((m) => m.id).sort()).toEqual(expected);

    for (const room of rooms) {
      const { messages } = await ok<{ messages: Message[] }>(owner, 'message:history', { roomId: room.id, limit: 200 });
      expect(messages.map((m) => m.seq)).toEqual([...range, perRoom + 1]);
    }

    await stopCluster(server);
  });

  it('replaces a worker that dies, and loses no connection while the replacement starts', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
    const server = await spawnServer({ WORKERS: '2', DATA_DIR: dataDir(), LOG_LEVEL: 'debug' });
    const [victim, survivor] = server.workerPids() as [number, number];
    const people: Session[] = [];
    for (let i = 0; i < 40; i++) people.push(await register(server.url));
    const waiting = [...people];
    const nextPerson = () => {
      const person = waiting.shift();
      if (!person) throw new Error('ran out of test users');
      return person;
    };

    process.kill(victim, 'SIGKILL');
    const report = await server.waitForLog((e) => e.msg === 'worker exited unexpectedly; replacing it', 20_000, 'the crash report');
    expect(report).toMatchObject({ workerPid: victim, signal: 'SIGKILL' });
    let replaced = false;
    const replacementReady = server
      .waitForLog((e) => e.msg === 'worker ready' && e.pid !== victim && e.pid !== survivor, 90_000, 'a replacement worker')
      .then((entry) => {
        replaced = true;
        return entry;
      });
    // Clients keep arriving while the replacement starts: none of them may be handed to it before
    // it can take them (they would hang until their connect timeout).
    const arrivals: { person: Session; socket: Promise<Socket> }[] = [];
    while (!replaced && waiting.length > 10) {
      const person = nextPerson();
      arrivals.push({ person, socket: connectPatiently(server.url, person.accessToken) });
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const replacement = (await replacementReady).pid as number;
    const arrived = await Promise.all(arrivals.map((a) => a.socket));
    expect(arrived.every((socket) => socket.connected)).toBe(true);
    expect(alive(survivor)).toBe(true);

    // The replacement serves new clients (it has the fewest), and messages cross between it and the survivor.
    await eventually(() => arrivals.every((a) => servedBy(server, a.person.user.id) !== undefined), 10_000, 'the socket connected lines');
    const onSurvivor = arrivals.findIndex((a) => servedBy(server, a.person.user.id) === survivor);
    expect(onSurvivor).toBeGreaterThanOrEqual(0);
    let sender: Socket | undefined;
    while (!sender) {
      const person = nextPerson();
      const socket = await connect(server.url, '/chat', person.accessToken, { transports: ['polling'] });
      await eventually(() => servedBy(server, person.user.id) !== undefined, 10_000, 'the socket connected line');
      if (servedBy(server, person.user.id) === replacement) sender = socket;
    }
    const receiver = arrived[onSurvivor] as Socket;
    const room = (await ok<{ room: Room }>(sender, 'room:create', { name: `after-crash-${Date.now()}`, kind: 'public' })).room;
    await ok(receiver, 'room:join', { roomId: room.id });
    const delivered = next<Message>(receiver, 'message:new');
    await ok(sender, 'message:send', { roomId: room.id, clientMsgId: 'after-crash', text: 'still here' });
    expect(await delivered).toMatchObject({ text: 'still here', seq: 1 });
    expect((await http(server.url, 'GET', '/readyz')).status).toBe(200);

    await stopCluster(server, { group: true });
    expect(alive(victim)).toBe(false);
  });
});
