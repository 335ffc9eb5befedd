/**
 * Compact ticks on a real `/game` (SQLite): a player on compact ticks, a spectator on `game:tick`
 * and a spectator on compact ticks follow one game to its end; after decoding, every tick each of
 * them has is the same, across the player's reconnect (its `game:state`, then full ticks until it
 * asks for compact ones again) and the round changes. Bad `game:ticks` payloads are refused. Across
 * two nodes (Redis, PostgreSQL): the spectators of a game held by the other node decode the same
 * ticks, and games created on either node never share a key. Each game's step is timed on its own.
 */
import { GameTickDecoder } from '@switchboard/client';
import type { CompactTick, GameOverEvent, GameState, GameTick } from '@switchboard/protocol';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSockets, connect, eventually, next, ok, register, request, startServer, type TestServer } from './helpers.js';
import { startCluster, type TestCluster } from './multinode.js';

/** A `/game` client that decodes what it gets into full ticks, whichever stream it is on. */
interface Follower {
  socket: Socket;
  /** The decoder of the current socket: a new socket starts from the state it gets. */
  decoder: GameTickDecoder;
  ticks: Map<number, GameTick>;
  /** Compact ticks received, and full ticks received. */
  counts: { compact: number; full: number };
}

const opened: Socket[] = [];

/** Connects with its listeners in place before the handshake ends (a seated player's `game:state` comes at once). */
async function follow(url: string, token: string, into?: Follower): Promise<Follower> {
  const socket = io(`${url}/game`, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
  opened.push(socket);
  const decoder = new GameTickDecoder();
  const follower: Follower = into ?? { socket, decoder, ticks: new Map(), counts: { compact: 0, full: 0 } };
  follower.socket = socket;
  follower.decoder = decoder;
  const keep = (tick: GameTick) => {
    expect(follower.ticks.has(tick.tick) ? follower.ticks.get(tick.tick) : tick).toEqual(tick);
    follower.ticks.set(tick.tick, tick);
  };
  socket.on('game:state', (state: GameState) => decoder.state(state));
  socket.on('game:tick', (tick: GameTick) => {
    follower.counts.full++;
    decoder.state(tick);
    keep(tick);
  });
  socket.on('t', (compact: CompactTick) => {
    follower.counts.compact++;
    for (const tick of decoder.push(compact)) keep(tick);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return follower;
}

/** A spectator's state is the `game:watch` answer: its decoder starts from it like from a `game:state`. */
async function watch(follower: Follower, gameId: string): Promise<void> {
  const { state } = await ok<{ state: GameState }>(follower.socket, 'game:watch', { gameId });
  follower.decoder.state(state);
}

const gameOver = (follower: Follower) => next<GameOverEvent>(follower.socket, 'game:over', () => true, 60_000);

describe('/game compact ticks', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startServer({ GAME_SEAT_HOLD_S: 10, GAME_COUNTDOWN_S: 0.3, GAME_ROUND_PAUSE_S: 0.3 });
  });
  afterAll(async () => {
    for (const socket of opened) socket.disconnect();
    closeSockets();
    await t.close();
  });

  it('decode to the same ticks as game:tick, for a player and spectators, across a reconnect and new rounds', async () => {
    const [alice, bob, carol] = await Promise.all([register(t.url), register(t.url), register(t.url)]);
    const player = await follow(t.url, alice.accessToken);
    expect(await ok(player.socket, 'game:ticks', { mode: 'compact' })).toEqual({ ok: true });
    const started = next<GameState>(player.socket, 'game:state');
    const { gameId } = await ok<{ gameId: string }>(player.socket, 'game:create', { mode: 'duel', bots: 1 });
    expect((await started).key).toEqual(expect.any(Number));

    const plain = await follow(t.url, bob.accessToken);
    const compact = await follow(t.url, carol.accessToken);
    expect(await ok(compact.socket, 'game:ticks', { mode: 'compact' })).toEqual({ ok: true });
    await Promise.all([watch(plain, gameId), watch(compact, gameId)]);
    const spectatorsOver = Promise.all([gameOver(plain), gameOver(compact)]);

    // The player turns once it rides, then drops and comes back: its seat was held.
    await eventually(() => [...player.ticks.values()].some((tick) => tick.phase === 'running'), 10_000, 'the first round to run');
    expect(await ok(player.socket, 'game:input', { gameId, seq: 1, turn: 'left' })).toEqual({ ok: true, applied: true });
    const beforeDrop = { ...player.counts };
    player.socket.disconnect();
    const returned = await follow(t.url, alice.accessToken, player);
    const playerOver = gameOver(returned);
    await eventually(() => player.counts.full > beforeDrop.full, 5000, 'full ticks before asking for compact ones again');
    expect(await ok(returned.socket, 'game:ticks', { mode: 'compact' })).toEqual({ ok: true });

    const [[overPlain, overCompact], overPlayer] = await Promise.all([spectatorsOver, playerOver]);
    expect(overPlayer).toEqual(overPlain);
    expect(overCompact).toEqual(overPlain);
    // Before the drop the player got compact ticks only; after it, full ones until it asked again.
    expect(beforeDrop.full).toBe(0);
    expect(beforeDrop.compact).toBeGreaterThan(0);
    expect(compact.counts.full).toBe(0);
    expect(compact.counts.compact).toBeLessThan(compact.ticks.size);

    // Every tick since each one's start, in all three, the same (`keep` checked each against its own too).
    const numbers = (f: Follower) => [...f.ticks.keys()].sort((a, b) => a - b);
    const spectatorTicks = numbers(plain);
    expect(numbers(compact)).toEqual(spectatorTicks.filter((n) => n >= (numbers(compact)[0] as number)));
    for (const n of numbers(compact)) expect(compact.ticks.get(n)).toEqual(plain.ticks.get(n));
    const playerTicks = numbers(player).filter((n) => plain.ticks.has(n));
    expect(playerTicks.length).toBeGreaterThan(0);
    for (const n of playerTicks) expect(player.ticks.get(n)).toEqual(plain.ticks.get(n));
    // Each spectator has every tick from its first to the last; the game went through rounds to its end.
    expect(spectatorTicks).toEqual(Array.from({ length: spectatorTicks.length }, (_, i) => (spectatorTicks[0] as number) + i));
    const phases = new Set([...compact.ticks.values()].map((tick) => tick.phase));
    expect(phases).toEqual(new Set(['countdown', 'running', 'between-rounds', 'over']));
    expect(player.ticks.get(spectatorTicks.at(-1) as number)?.phase).toBe('over');

    // Each game's step is timed on its own, beside each pass over every game.
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    const count = (name: string) => Number(new RegExp(`^${name}_count (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);
    expect(count('switchboard_game_step_duration_seconds')).toBeGreaterThanOrEqual(spectatorTicks.length);
    expect(count('switchboard_game_tick_duration_seconds')).toBeGreaterThan(0);
  });

  it('refuses a bad game:ticks payload with INVALID_ARGUMENT', async () => {
    const dave = await register(t.url);
    const socket = await connect(t.url, '/game', dave.accessToken);
    for (const payload of [{ mode: 'binary' }, {}, { mode: 1 }, 'compact', null]) {
      const res = await request(socket, 'game:ticks', payload);
      expect(res).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    }
    expect(await ok(socket, 'game:ticks', { mode: 'full' })).toEqual({ ok: true });
  });
});

describe('/game compact ticks across nodes', () => {
  let cluster: TestCluster;
  const url = (i: number) => (cluster.nodes[i] as { url: string }).url;

  beforeAll(async () => {
    cluster = await startCluster(2, { GAME_SEAT_HOLD_S: 10, GAME_COUNTDOWN_S: 0.3, GAME_ROUND_PAUSE_S: 0.3 });
  });
  afterAll(async () => {
    for (const socket of opened) socket.disconnect();
    closeSockets();
    await cluster.close();
  });

  it('spectators on another node decode the same ticks; keys are unique across nodes', async () => {
    const [alice, bob, carol, dave] = await Promise.all([register(url(0)), register(url(0)), register(url(0)), register(url(0))]);
    const player = await follow(url(0), alice.accessToken);
    const other = await follow(url(1), dave.accessToken);
    const plain = await follow(url(1), bob.accessToken);
    const compact = await follow(url(1), carol.accessToken);
    await Promise.all([player, compact].map((f) => ok(f.socket, 'game:ticks', { mode: 'compact' })));
    const states = Promise.all([next<GameState>(player.socket, 'game:state'), next<GameState>(other.socket, 'game:state')]);
    const { gameId } = await ok<{ gameId: string }>(player.socket, 'game:create', { mode: 'duel', bots: 1 });
    await ok(other.socket, 'game:create', { mode: 'duel', bots: 1 });
    const [mine, theirs] = await states;
    expect(mine.key).not.toBe(theirs.key);

    const over = Promise.all([player, plain, compact].map(gameOver));
    await Promise.all([watch(plain, gameId), watch(compact, gameId)]);
    const [overPlayer, overPlain, overCompact] = await over;
    expect(overPlain).toEqual(overPlayer);
    expect(overCompact).toEqual(overPlayer);
    expect(compact.counts.full).toBe(0);

    // A spectator of another node's game joins the game's room after its state was read there, so
    // ticks in between may pass it by: a compact spectator is exact from the next keyframe on.
    const numbers = (f: Follower) => [...f.ticks.keys()].sort((a, b) => a - b);
    const resynced = numbers(compact).filter((n) => n >= Math.ceil((numbers(compact)[0] as number) / 20) * 20);
    expect(resynced.length).toBeGreaterThan(0);
    for (const n of resynced) expect(compact.ticks.get(n)).toEqual(plain.ticks.get(n));
    const shared = numbers(player).filter((n) => plain.ticks.has(n));
    expect(shared.length).toBeGreaterThan(0);
    for (const n of shared) expect(player.ticks.get(n)).toEqual(plain.ticks.get(n));
    // The player, on the game's node since its start, has every tick.
    expect(numbers(player)).toEqual(Array.from({ length: numbers(player).length }, (_, i) => i + 1));
    expect(plain.ticks.get(numbers(player).at(-1) as number)?.phase).toBe('over');
  });
});
