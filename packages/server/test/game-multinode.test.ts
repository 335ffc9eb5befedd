/**
 * Light Cycles across several nodes sharing Redis and PostgreSQL: two players on different nodes
 * are matched through the one shared queue and play a game to its end, ratings stored; a spectator
 * on a third node sees the very ticks the players see, in order, and cannot steer; players queued
 * at once on every node are each matched exactly once; private games by code are joined from
 * another node; a player who reconnects to another node keeps the seat; a Redis restarted empty
 * gets the running games written back by their nodes; and (real processes, SIGKILL) the games of a
 * node that dies end `aborted` for the clients of the node that survives, stored without touching
 * a rating.
 */
import { randomBytes } from 'node:crypto';
import type { GameOverEvent, GameRecord, GameState, GameTick, LeaderboardEntry, LiveGame, MatchFoundEvent } from '@switchboard/protocol';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSockets, collect, connect, createPgDatabase, eventually, http, next, ok, register, request } from './helpers.js';
import { REDIS_URL, deleteKeys, startCluster, startRedis, uniquePrefix, type TestCluster } from './multinode.js';
import { PROCESS_TEST_TIMEOUT_MS, killServers, spawnServer } from './processes.js';

const code = async (socket: Socket, event: string, payload: unknown) => {
  const res = await request(socket, event, payload);
  return res.ok ? 'ok' : res.error.code;
};

/** Ticks of one game as one client saw them: consecutive, with nothing missing or repeated. */
const consecutive = (ticks: GameTick[]) => ticks.every((tk, i) => i === 0 || tk.tick === (ticks[i - 1] as GameTick).tick + 1);

describe('games across nodes (in-process nodes)', () => {
  let cluster: TestCluster;
  const url = (i: number) => (cluster.nodes[i] as { url: string }).url;

  beforeAll(async () => {
    // Bots would fill a queued seat only after 30 s: the players below are matched with each other.
    // A game lasts at least 2 rounds with a 3 s pause between: longer than the reconnection below takes.
    cluster = await startCluster(3, { MATCH_BOT_FILL_S: 30, GAME_SEAT_HOLD_S: 1.5, GAME_COUNTDOWN_S: 0.5, GAME_ROUND_PAUSE_S: 3 });
  });
  afterAll(async () => {
    closeSockets();
    await cluster.close();
  });

  it('players on two nodes are matched and play to the end; a spectator on a third sees the same ticks and cannot steer', async () => {
    const [alice, bob, carol] = await Promise.all([register(url(0)), register(url(0)), register(url(0))]);
    const a = await connect(url(0), '/game', alice.accessToken);
    const b = await connect(url(1), '/game', bob.accessToken);
    const c = await connect(url(2), '/game', carol.accessToken);
    const foundA = next<MatchFoundEvent>(a, 'match:found', () => true, 10_000);
    const foundB = next<MatchFoundEvent>(b, 'match:found', () => true, 10_000);
    const ticksA = collect<GameTick>(a, 'game:tick');
    const overA = next<GameOverEvent>(a, 'game:over', () => true, 60_000);
    const overB = next<GameOverEvent>(b, 'game:over', () => true, 60_000);
    await ok(a, 'match:queue', { mode: 'duel' });
    await ok(b, 'match:queue', { mode: 'duel' });
    const [ma, mb] = await Promise.all([foundA, foundB]);
    expect(ma.gameId).toBe(mb.gameId);
    expect(ma.players.every((p) => !p.bot)).toBe(true);
    expect(new Set(ma.players.map((p) => p.userId))).toEqual(new Set([alice.user.id, bob.user.id]));
    const gameId = ma.gameId;

    // Seated in a game held by some node: no second game from any node.
    expect(await code(a, 'match:queue', { mode: 'quad' })).toBe('CONFLICT');
    expect(await code(b, 'game:create', { mode: 'duel' })).toBe('CONFLICT');

    const watched = await ok<{ state: GameState }>(c, 'game:watch', { gameId });
    expect(watched.state).toMatchObject({ gameId, mode: 'duel', players: ma.players });
    const ticksC = collect<GameTick>(c, 'game:tick');
    const overC = next<GameOverEvent>(c, 'game:over', () => true, 60_000);
    const listed = (await ok<{ games: LiveGame[] }>(c, 'game:list', {})).games.find((g) => g.gameId === gameId);
    expect(listed).toMatchObject({ mode: 'duel', round: expect.any(Number), startedAt: expect.any(Number) });
    await eventually(async () => (await ok<{ games: LiveGame[] }>(b, 'game:list', {})).games.some((g) => g.gameId === gameId && g.spectators === 1), 5000, 'the spectator to be counted');

    // The spectator cannot steer, nor can a stranger reach a game that does not exist.
    expect(await code(c, 'game:input', { gameId, seq: 1, turn: 'left' })).toBe('FORBIDDEN');
    expect(await code(c, 'game:input', { gameId: 'no-such-game', seq: 2, turn: 'left' })).toBe('NOT_FOUND');
    // Both players steer from their own node, wherever the game runs.
    await eventually(() => ticksA.at(-1)?.phase === 'running', 10_000, 'the round to run');
    expect(await ok<{ applied: boolean }>(a, 'game:input', { gameId, seq: 1, turn: 'left' })).toMatchObject({ applied: expect.any(Boolean) });
    expect(await ok<{ applied: boolean }>(b, 'game:input', { gameId, seq: 1, turn: 'right' })).toMatchObject({ applied: expect.any(Boolean) });
    expect(await code(b, 'game:input', { gameId, seq: 1, turn: 'right' })).toBe('INVALID_ARGUMENT');

    const [endA, endB, endC] = await Promise.all([overA, overB, overC]);
    expect(endA).toMatchObject({ gameId, reason: 'finished' });
    expect(endB).toEqual(endA);
    expect(endC).toEqual(endA);
    expect(new Set(endA.ratings.map((r) => r.userId))).toEqual(new Set([alice.user.id, bob.user.id]));

    // The spectator saw every tick it was sent in order, and each one as the player saw it.
    expect(ticksC.length).toBeGreaterThan(10);
    expect(consecutive(ticksC)).toBe(true);
    expect(consecutive(ticksA)).toBe(true);
    const seenByA = new Map(ticksA.map((tk) => [tk.tick, tk]));
    for (const tk of ticksC) expect(tk).toEqual(seenByA.get(tk.tick));

    const board = await http<{ entries: LeaderboardEntry[] }>(url(2), 'GET', '/api/leaderboard?mode=duel', undefined, carol.accessToken);
    for (const r of endA.ratings) {
      expect(board.body.entries).toContainEqual(expect.objectContaining({ userId: r.userId, rating: r.after, games: 1 }));
    }
    if (endA.winnerSeat !== null) {
      const winner = ma.players.find((p) => p.seat === endA.winnerSeat)?.userId;
      expect(endA.ratings.find((r) => r.userId === winner)?.after).toBeGreaterThan(1200);
    }
    // Over: gone from every node, and both players are free to play again.
    expect(await code(c, 'game:watch', { gameId })).toBe('NOT_FOUND');
    await eventually(async () => (await code(b, 'match:queue', { mode: 'quad' })) === 'ok', 5000, 'the seat to be freed');
    await ok(b, 'match:cancel', {});
  }, 90_000);

  it('players queued at once on every node are each matched exactly once', async () => {
    const sessions = await Promise.all(Array.from({ length: 6 }, () => register(url(0))));
    const sockets = await Promise.all(sessions.map((s, i) => connect(url(i % 3), '/game', s.accessToken)));
    const found = sockets.map((socket) => collect<MatchFoundEvent>(socket, 'match:found'));
    await Promise.all(sockets.map((socket) => ok(socket, 'match:queue', { mode: 'duel' })));
    await eventually(() => found.every((f) => f.length >= 1), 10_000, 'everyone to be matched');
    // Every node formed matches over the one queue: still, no player was seated twice.
    const games = new Map<string, string[]>();
    for (const [i, seen] of found.entries()) {
      expect(seen).toHaveLength(1);
      const match = seen[0] as MatchFoundEvent;
      expect(match.players.every((p) => !p.bot)).toBe(true);
      games.set(match.gameId, [...(games.get(match.gameId) ?? []), sessions[i]?.user.id as string]);
    }
    expect(games.size).toBe(3);
    for (const [gameId, people] of games) {
      const players = (found.flat().find((m) => m.gameId === gameId) as MatchFoundEvent).players;
      expect(new Set(players.map((p) => p.userId))).toEqual(new Set(people));
    }
    // Each game ends when its players leave, wherever it runs.
    await Promise.all(
      found.map(async (seen, i) => {
        const gameId = (seen[0] as MatchFoundEvent).gameId;
        const res = await request(sockets[i] as Socket, 'game:leave', { gameId });
        // The second player of a game may find it over already.
        expect(res.ok || res.error.code === 'NOT_FOUND').toBe(true);
      }),
    );
    expect(found.flat()).toHaveLength(6);
  }, 60_000);

  it('a private game is joined by code from another node; a player who reconnects to a third node keeps the seat', async () => {
    const [alice, bob, dave] = await Promise.all([register(url(0)), register(url(0)), register(url(0))]);
    const a = await connect(url(0), '/game', alice.accessToken);
    let b = await connect(url(1), '/game', bob.accessToken);
    const d = await connect(url(2), '/game', dave.accessToken);
    const created = await ok<{ gameId: string; code: string }>(a, 'game:create', { mode: 'duel' });
    const gameId = created.gameId;
    expect(await code(d, 'game:join', { code: 'ZZZZZZ' })).toBe('NOT_FOUND');

    const startedA = next<GameState>(a, 'game:state', (s) => s.phase === 'countdown');
    const startedB = next<GameState>(b, 'game:state', (s) => s.phase === 'countdown');
    expect(await ok(b, 'game:join', { code: created.code.toLowerCase() })).toEqual({ ok: true, gameId, seat: 1 });
    await Promise.all([startedA, startedB]);
    expect(await code(d, 'game:join', { code: created.code })).toBe('CONFLICT');
    expect(await code(b, 'game:leave', { gameId: 'no-such-game' })).toBe('NOT_FOUND');
    expect(await code(d, 'game:leave', { gameId })).toBe('FORBIDDEN');

    // Bob drops from node 1 and comes back on node 2, well within the hold: game:state by itself.
    const overA = next<GameOverEvent>(a, 'game:over', () => true, 30_000);
    b.disconnect();
    b = io(`${url(2)}/game`, { auth: { token: bob.accessToken }, transports: ['websocket'], reconnection: false, forceNew: true });
    const back = await next<GameState>(b, 'game:state', () => true, 10_000);
    expect(back).toMatchObject({ gameId, players: expect.arrayContaining([expect.objectContaining({ seat: 1, userId: bob.user.id })]) });
    const ticksB = collect<GameTick>(b, 'game:tick');
    expect(await ok(b, 'game:input', { gameId, seq: 1, turn: 'left' })).toMatchObject({ applied: expect.any(Boolean) });

    // One and a half holds later (in ticks of the game) the seat is still his: the game goes on for both.
    const holdTicks = 1.5 * 1.5 * 20;
    await eventually(() => ticksB.length > holdTicks, 30_000, 'ticks past the hold');
    expect(ticksB.some((tk) => tk.gameId === gameId)).toBe(true);
    const list = await ok<{ games: LiveGame[] }>(d, 'game:list', {});
    expect(list.games.find((g) => g.gameId === gameId)?.players.map((p) => p.userId)).toEqual([alice.user.id, bob.user.id]);

    // Then he drops for good: after the hold his seat forfeits, and Alice (on the owning node) wins.
    b.disconnect();
    expect(await overA).toMatchObject({ gameId, reason: 'forfeit', winnerSeat: 0 });
  }, 60_000);
});

describe('Redis restarted empty while a game runs', () => {
  it('the node holding the game writes it back: another node finds it again, and its seats are still taken', async () => {
    const redis = await startRedis();
    // A countdown longer than the test: the game is still on whenever the outage ends.
    const pair = await startCluster(2, { REDIS_URL: redis.url, GAME_COUNTDOWN_S: 30 });
    try {
      const [url0, url1] = [(pair.nodes[0] as { url: string }).url, (pair.nodes[1] as { url: string }).url];
      const [alice, carol] = await Promise.all([register(url0), register(url0)]);
      const a = await connect(url0, '/game', alice.accessToken);
      const created = await ok<{ gameId: string }>(a, 'game:create', { mode: 'quad', bots: 3 });
      const gameId = created.gameId;
      const c = await connect(url1, '/game', carol.accessToken);
      expect(await ok<{ state: GameState }>(c, 'game:watch', { gameId })).toMatchObject({ state: { gameId } });
      await ok(c, 'game:leave', { gameId });

      await redis.kill();
      await redis.start();
      // Nothing of the game was left in Redis; node 0 wrote it back once its connection returned.
      await eventually(async () => (await request(c, 'game:watch', { gameId })).ok, 20_000, 'the game to be found from node 1 again');
      const a1 = await connect(url1, '/game', alice.accessToken);
      expect(await code(a1, 'match:queue', { mode: 'duel' })).toBe('CONFLICT');
      await ok(a, 'game:leave', { gameId });
    } finally {
      closeSockets();
      await pair.close();
      await redis.kill();
    }
  }, 90_000);
});

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  closeSockets();
  killServers();
  for (const cleanup of cleanups) await cleanup();
});

describe('a node that dies mid-game (real processes)', () => {
  it(
    'its games end aborted for the clients of the node that survives, stored without changing a rating',
    async () => {
      const database = await createPgDatabase();
      cleanups.push(database.drop);
      const prefix = uniquePrefix();
      cleanups.push(() => deleteKeys(REDIS_URL, prefix));
      const env = {
        DATABASE_URL: database.url,
        REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        JWT_SECRET: randomBytes(32).toString('hex'),
        GAME_COUNTDOWN_S: '0.2',
        RATE_LIMITS: 'off',
      };
      // One after the other: the first one migrates the database.
      const doomed = await spawnServer(env);
      const survivor = await spawnServer(env);
      const [alice, bob] = await Promise.all([register(survivor.url), register(survivor.url)]);
      const b = await connect(doomed.url, '/game', bob.accessToken);
      const a = await connect(survivor.url, '/game', alice.accessToken);
      const created = await ok<{ gameId: string; code: string }>(b, 'game:create', { mode: 'duel' });
      expect(await ok(a, 'game:join', { code: created.code })).toMatchObject({ gameId: created.gameId, seat: 1 });
      await next<GameTick>(a, 'game:tick', () => true, 10_000);

      const over = next<GameOverEvent>(a, 'game:over', () => true, 60_000);
      doomed.kill('SIGKILL', { group: true });
      await doomed.exited;
      const end = await over;
      expect(end).toMatchObject({ gameId: created.gameId, winnerSeat: null, ratings: [], reason: 'aborted' });

      const history = await http<{ games: GameRecord[] }>(survivor.url, 'GET', `/api/users/${alice.user.id}/games`, undefined, alice.accessToken);
      expect(history.body.games).toEqual([expect.objectContaining({ gameId: created.gameId, reason: 'aborted', winnerSeat: null })]);
      const board = await http<{ entries: LeaderboardEntry[] }>(survivor.url, 'GET', '/api/leaderboard?mode=duel', undefined, alice.accessToken);
      expect(board.body.entries.some((e) => e.userId === alice.user.id || e.userId === bob.user.id)).toBe(false);
      // Free again: Alice can start another game at once.
      expect(await code(a, 'game:create', { mode: 'duel' })).toBe('ok');
      survivor.kill('SIGTERM', { group: true });
      await survivor.exited;
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
