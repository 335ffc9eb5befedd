/**
 * The game scenario: many concurrent Light Cycles quad games on one process at 20 Hz, on
 * Switchboard's `/game` and on Colyseus (bench/src/colyseus-game-server.ts) running the same
 * simulation and bots, one after the other under the same load. Each game has one connected
 * client, which rides seat 0 and never steers (three bots ride the others) and starts a new game
 * when one ends, so the number of games stays put. Switchboard's clients ask for compact ticks
 * (`game:ticks`, docs/protocol.md §8) and decode them with the SDK's `GameTickDecoder`, as Colyseus's
 * clients decode their patches.
 *
 * Measured over a window after a warm-up:
 * - the server's time to step one game one tick (its bots, its simulation, its state for sending):
 *   Switchboard's per-game histogram (`switchboard_game_step_duration_seconds`, read as bucket
 *   bounds from `/metrics`), Colyseus's rooms timed one by one; and Switchboard's time for a
 *   whole pass over every game (`switchboard_game_tick_duration_seconds`);
 * - late or skipped ticks, by the server (Switchboard's counter; a Colyseus room whose interval
 *   fired over two periods late) and by the clients (an update that came over two periods later
 *   than the ticks it brought were due after the one before; tick numbers never known — which for
 *   Colyseus also counts ticks merged into one patch);
 * - bytes per client per second, counted on the wire by a TCP proxy that a sample of the clients
 *   connect through (WebSocket frames and everything inside them);
 * - the server process's CPU time.
 */
import { createConnection, createServer, type Server, type Socket as NetSocket } from 'node:net';
import { GameLimits, type CompactTick, type GameOverEvent, type GameState } from '@switchboard/protocol';
import { Client as ColyseusClient, type Room as ColyseusRoom } from 'colyseus.js';
import { io, type Socket } from 'socket.io-client';
import { GameTickDecoder } from '../../packages/client/src/game-ticks.js';
import type { Accounts } from './accounts.js';
import { Histogram } from './histogram.js';
import { sleep, startColyseusGame, type ServerProcess } from './procs.js';
import { withSwitchboard } from './servers.js';

export interface GameSize {
  /** Concurrent games (one client each). */
  games: number;
  /** Seconds before the window, for every game to be running. */
  warmupSeconds: number;
  /** Length of the measured window. */
  seconds: number;
  /** Clients that connect through the byte-counting proxy. */
  sampled: number;
}

export interface GameSide {
  games: number;
  /**
   * Server time to step one game one tick, ms (Switchboard: the upper bound of a histogram bucket,
   * null when above the largest, `overMs`; Colyseus: one room's step).
   */
  tickMs: { p50: number | null; p99: number | null; overMs?: number; basis: string };
  /** Switchboard: one pass over every game, its slices added up (bucket bounds, as `tickMs`). */
  passMs?: { p50: number | null; p99: number | null; overMs: number };
  /** Ticks the server ran late (over two periods) or skipped, during the window. */
  serverLateTicks: number;
  clients: {
    /** Ticks the clients learned, each client counted. */
    updatesPerSecond: number;
    /** Messages the clients got. */
    messagesPerSecond: number;
    /** Updates that came over two periods later than the ticks they brought were due. */
    lateUpdates: number;
    /** Tick numbers a client never saw on its own. */
    skippedTicks: number;
    gapP99Ms: number;
  };
  bytesPerClientPerSecond: number;
  server: { cpuSeconds: number; cpuPercent: number };
}

export interface GameBenchResult {
  switchboard: GameSide;
  colyseus: GameSide;
}

const TICK_MS = 1000 / GameLimits.tickHz;

/** Counts the bytes servers send to the clients that connect through it. */
async function byteProxy(targetPort: number): Promise<{ port: number; bytes(): number; close(): Promise<void> }> {
  let received = 0;
  const open = new Set<NetSocket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    upstream.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    client.pipe(upstream);
    upstream.pipe(client);
    open.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    bytes: () => received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** What the clients of one side saw, counted only while `measuring`. */
class Updates {
  measuring = false;
  count = 0;
  messages = 0;
  late = 0;
  skipped = 0;
  /** How much later than due each update came: its gap to the one before, less the ticks between. */
  readonly gaps = new Histogram();
  private readonly last = new Map<number, { game: string; tick: number; at: number }>();

  /**
   * One update of `client`, bringing the ticks from `first` to `tick` (a compact tick completes
   * every tick since the last one it foresaw; a full tick or a patch brings one).
   */
  seen(client: number, game: string, tick: number, first = tick): void {
    const at = performance.now();
    const before = this.last.get(client);
    this.last.set(client, { game, tick, at });
    if (!this.measuring || !before || before.game !== game || tick <= before.tick) return;
    this.count += tick - first + 1;
    this.messages++;
    this.skipped += first - before.tick - 1;
    // Ticks the update brought beyond the next one were due a period apart each.
    const late = at - before.at - (tick - before.tick - 1) * TICK_MS;
    this.gaps.record(Math.max(0, late) * 1000);
    if (late > 2 * TICK_MS) this.late++;
  }
}

const round = (value: number, digits = 2) => Number(value.toFixed(digits));

/** Switchboard's per-game step and per-pass histograms and late-tick counter from a `/metrics` text. */
function readMetrics(text: string): { steps: Map<number, number>; passes: Map<number, number>; late: number } {
  const steps = new Map<number, number>();
  const passes = new Map<number, number>();
  let late = 0;
  for (const line of text.split('\n')) {
    const bucket = /^switchboard_game_(step|tick)_duration_seconds_bucket\{le="([^"]+)"\} (\d+)/.exec(line);
    if (bucket) (bucket[1] === 'step' ? steps : passes).set(bucket[2] === '+Inf' ? Infinity : Number(bucket[2]), Number(bucket[3]));
    const counter = /^switchboard_game_ticks_late_total (\d+)/.exec(line);
    if (counter) late = Number(counter[1]);
  }
  return { steps, passes, late };
}

/** The bucket bound (ms) under which `p` % of the loops between two scrapes fell; null: above the largest. */
function bucketPercentile(before: Map<number, number>, after: Map<number, number>, p: number): number | null {
  const bounds = [...after.keys()].filter(Number.isFinite).sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  for (const bound of bounds) {
    const count = (after.get(bound) ?? 0) - (before.get(bound) ?? 0);
    if (total > 0 && count >= (p / 100) * total) return bound * 1000;
  }
  return null;
}

/** p50, p99 and the largest bound (ms) of a histogram between two scrapes. */
function bucketPercentiles(before: Map<number, number>, after: Map<number, number>) {
  return {
    p50: bucketPercentile(before, after, 50),
    p99: bucketPercentile(before, after, 99),
    overMs: Math.max(...[...after.keys()].filter(Number.isFinite)) * 1000,
  };
}

async function measureWindow(server: ServerProcess, size: GameSize, updates: Updates, bytes: () => number, log: (line: string) => void) {
  await sleep(size.warmupSeconds * 1000);
  log(`game: measuring ${size.seconds} s`);
  const cpuBefore = server.sample().cpuSeconds;
  const bytesBefore = bytes();
  const started = performance.now();
  updates.measuring = true;
  await sleep(size.seconds * 1000);
  updates.measuring = false;
  const elapsed = (performance.now() - started) / 1000;
  const cpuSeconds = round(server.sample().cpuSeconds - cpuBefore);
  return {
    elapsed,
    cpu: { cpuSeconds, cpuPercent: round((100 * cpuSeconds) / elapsed, 1) },
    bytesPerClientPerSecond: Math.round((bytes() - bytesBefore) / Math.max(1, Math.min(size.sampled, size.games)) / elapsed),
    clients: {
      updatesPerSecond: Math.round(updates.count / elapsed),
      messagesPerSecond: Math.round(updates.messages / elapsed),
      lateUpdates: updates.late,
      skippedTicks: updates.skipped,
      gapP99Ms: round(updates.gaps.percentile(99) / 1000),
    },
  };
}

async function runSwitchboardSide(accounts: Accounts, size: GameSize, log: (line: string) => void): Promise<GameSide> {
  return withSwitchboard(accounts.dataDir, {}, async (server) => {
    const port = Number(new URL(server.url).port);
    const proxy = await byteProxy(port);
    const updates = new Updates();
    const sockets: Socket[] = [];
    try {
      await Promise.all(
        Array.from({ length: size.games }, async (_, i) => {
          const url = i < size.sampled ? `http://127.0.0.1:${proxy.port}` : server.url;
          const socket = io(`${url}/game`, { auth: { token: accounts.tokens[i] }, transports: ['websocket'], reconnection: false, forceNew: true });
          sockets.push(socket);
          const create = () => socket.emit('game:create', { mode: 'quad', bots: 3 }, () => undefined);
          const decoder = new GameTickDecoder();
          socket.on('game:state', (state: GameState) => decoder.state(state));
          socket.on('t', (compact: CompactTick) => {
            const ticks = decoder.push(compact);
            const [first, last] = [ticks[0], ticks.at(-1)];
            if (first && last) updates.seen(i, last.gameId, last.tick, first.tick);
          });
          // A game over: the next one starts at once, so the number of games holds.
          socket.on('game:over', (over: GameOverEvent) => {
            decoder.forget(over.gameId);
            create();
          });
          await new Promise<void>((resolve, reject) => {
            socket.once('connect', resolve);
            socket.once('connect_error', reject);
          });
          // Before the first game, so no `game:tick` ever comes.
          const switched = (await socket.emitWithAck('game:ticks', { mode: 'compact' })) as { ok: boolean };
          if (!switched.ok) throw new Error('the server refused compact ticks');
          create();
        }),
      );
      log(`game: ${size.games} Switchboard games started`);
      const before = readMetrics(await (await fetch(`${server.url}/metrics`)).text());
      const window = await measureWindow(server, size, updates, proxy.bytes, log);
      const after = readMetrics(await (await fetch(`${server.url}/metrics`)).text());
      return {
        games: size.games,
        tickMs: { ...bucketPercentiles(before.steps, after.steps), basis: 'one game (bots, simulation, tick built; not sending); histogram bucket bound' },
        passMs: bucketPercentiles(before.passes, after.passes),
        serverLateTicks: after.late - before.late,
        clients: window.clients,
        bytesPerClientPerSecond: window.bytesPerClientPerSecond,
        server: window.cpu,
      };
    } finally {
      for (const socket of sockets) socket.disconnect();
      await proxy.close();
    }
  });
}

async function runColyseusSide(size: GameSize, log: (line: string) => void): Promise<GameSide> {
  const server = await startColyseusGame();
  const port = Number(new URL(server.url).port);
  const proxy = await byteProxy(port);
  const updates = new Updates();
  const rooms: ColyseusRoom[] = [];
  try {
    await Promise.all(
      Array.from({ length: size.games }, async (_, i) => {
        const client = new ColyseusClient(`ws://127.0.0.1:${i < size.sampled ? proxy.port : port}`);
        const room = await client.create('cycles');
        rooms.push(room);
        // Each new game in the room starts again from tick 0: a new game for the counting.
        let game = 0;
        let lastTick = 0;
        room.onStateChange((state: { tick: number }) => {
          if (state.tick < lastTick) game++;
          lastTick = state.tick;
          updates.seen(i, String(game), state.tick);
        });
      }),
    );
    log(`game: ${size.games} Colyseus rooms started`);
    await fetch(`${server.url}/stats`); // clears what the start-up cost
    const window = await measureWindow(server, size, updates, proxy.bytes, log);
    const stats = (await (await fetch(`${server.url}/stats`)).json()) as { tickMs: number[]; late: number };
    const ticks = new Histogram();
    for (const ms of stats.tickMs) ticks.record(ms * 1000);
    return {
      games: size.games,
      tickMs: { p50: round(ticks.percentile(50) / 1000, 3), p99: round(ticks.percentile(99) / 1000, 3), basis: 'one room (bots, simulation, schema updated; not patching)' },
      serverLateTicks: stats.late,
      clients: window.clients,
      bytesPerClientPerSecond: window.bytesPerClientPerSecond,
      server: window.cpu,
    };
  } finally {
    await Promise.all(rooms.map((room) => room.leave().catch(() => undefined)));
    await proxy.close();
    await server.stop();
  }
}

export async function runGame(accounts: Accounts, size: GameSize, log: (line: string) => void): Promise<GameBenchResult> {
  const switchboard = await runSwitchboardSide(accounts, size, log);
  log(`game Switchboard: ${switchboard.bytesPerClientPerSecond} B/client/s, CPU ${switchboard.server.cpuPercent} %, game step p99 ≤ ${switchboard.tickMs.p99 ?? `> ${switchboard.tickMs.overMs}`} ms, pass p99 ≤ ${switchboard.passMs?.p99 ?? `> ${switchboard.passMs?.overMs}`} ms`);
  const colyseus = await runColyseusSide(size, log);
  log(`game Colyseus: ${colyseus.bytesPerClientPerSecond} B/client/s, CPU ${colyseus.server.cpuPercent} %, room tick p99 ${colyseus.tickMs.p99} ms`);
  return { switchboard, colyseus };
}
