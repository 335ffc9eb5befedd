/**
 * The `/game` namespace with real sockets on SQLite and PostgreSQL: matchmaking with bots filling
 * seats, a whole game to `game:over` and the ratings and history it leaves, two players with a
 * spectator who sees the same ticks and cannot steer, private games by code, a dropped player's
 * seat held and then forfeited, and bad input that changes nothing.
 */
import { io, type Socket } from 'socket.io-client';
import type {
  GameOverEvent,
  GameRecord,
  GameState,
  GameTick,
  LeaderboardEntry,
  LiveGame,
  MatchFoundEvent,
  Notification,
} from '@switchboard/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSockets, collect, connect, dialects, eventually, http, next, ok, register, request, startServer, type TestServer } from './helpers.js';

/** A `/game` socket whose listener for `event` is in place before the handshake completes. */
async function connectExpecting<T>(url: string, token: string, event: string): Promise<{ socket: Socket; first: Promise<T> }> {
  const socket = io(`${url}/game`, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
  const first = next<T>(socket, event);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return { socket, first };
}

describe.each(dialects)('/game (%s)', (dialect) => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startServer({ dialect, MATCH_BOT_FILL_S: 1.5, GAME_SEAT_HOLD_S: 1, GAME_COUNTDOWN_S: 0.1, GAME_ROUND_PAUSE_S: 0.1 });
  });
  afterAll(async () => {
    closeSockets();
    await t.close();
  });

  it('queue → bots fill the seat → play → over → rating and history stored', async () => {
    const alice = await register(t.url);
    const socket = await connect(t.url, '/game', alice.accessToken);
    const found = next<MatchFoundEvent>(socket, 'match:found');
    const state = next<GameState>(socket, 'game:state');
    const ticks = collect<GameTick>(socket, 'game:tick');
    const over = next<GameOverEvent>(socket, 'game:over', () => true, 30_000);
    expect(await ok(socket, 'match:queue', { mode: 'duel' })).toEqual({ ok: true });

    const match = await found;
    expect(match.players).toHaveLength(2);
    const me = match.players.find((p) => p.userId === alice.user.id);
    const bot = match.players.find((p) => p.bot);
    expect(me).toMatchObject({ seat: match.seat, bot: false, rating: 1200 });
    expect(bot).toMatchObject({ userId: null, rating: 1200 });
    expect(await state).toMatchObject({ gameId: match.gameId, mode: 'duel', width: 40, height: 30, phase: 'countdown' });

    // Alice rides straight on; the bot avoids the walls.
    const end = await over;
    expect(end).toMatchObject({ gameId: match.gameId, reason: 'finished', winnerSeat: bot?.seat });
    expect(end.scores[bot?.seat as number]).toBe(2);
    expect(end.ratings).toEqual([{ userId: alice.user.id, before: 1200, after: expect.any(Number) }]);
    const after = end.ratings[0]?.after as number;
    expect(after).toBeLessThan(1200);

    expect(ticks.length).toBeGreaterThan(10);
    expect(ticks.every((tk, i) => i === 0 || tk.tick === (ticks[i - 1] as GameTick).tick + 1)).toBe(true);
    expect(Object.keys(ticks[0] as GameTick).sort()).toEqual(['cycles', 'gameId', 'phase', 'tick']);
    // Small: a duel's tick is the game id, the tick, the phase and two cycles.
    expect(Math.max(...ticks.map((tk) => JSON.stringify(tk).length))).toBeLessThan(250);

    const board = await http<{ entries: LeaderboardEntry[] }>(t.url, 'GET', '/api/leaderboard?mode=duel', undefined, alice.accessToken);
    expect(board.status).toBe(200);
    expect(board.body.entries).toContainEqual({ userId: alice.user.id, username: alice.user.username, rating: after, games: 1, wins: 0 });
    const history = await http<{ games: GameRecord[] }>(t.url, 'GET', `/api/users/${alice.user.id}/games`, undefined, alice.accessToken);
    expect(history.status).toBe(200);
    expect(history.body.games).toEqual([
      {
        gameId: match.gameId,
        mode: 'duel',
        finishedAt: expect.any(Number),
        winnerSeat: bot?.seat,
        reason: 'finished',
        players: expect.arrayContaining([
          { seat: me?.seat, userId: alice.user.id, name: alice.user.displayName, bot: false },
          { seat: bot?.seat, userId: null, name: bot?.name, bot: true },
        ]),
      },
    ]);
    // Bots are never stored: the leaderboard holds people only.
    expect(board.body.entries.every((e) => typeof e.userId === 'string')).toBe(true);

    expect((await http(t.url, 'GET', '/api/leaderboard?mode=solo', undefined, alice.accessToken)).status).toBe(400);
    expect((await http(t.url, 'GET', '/api/leaderboard?mode=duel')).status).toBe(401);

    const openapi = await http<{ paths: Record<string, Record<string, { tags: string[] }>> }>(t.url, 'GET', '/api/docs/json');
    expect(openapi.body.paths['/api/leaderboard']?.get?.tags).toEqual(['games']);
    expect(openapi.body.paths['/api/users/{id}/games']?.get?.tags).toEqual(['games']);
  }, 40_000);

  it('two players are matched; a spectator gets the same ticks and cannot steer; bad input changes nothing', async () => {
    const [alice, bob, carol, dave] = await Promise.all([register(t.url), register(t.url), register(t.url), register(t.url)]);
    const a = await connect(t.url, '/game', alice.accessToken);
    const b = await connect(t.url, '/game', bob.accessToken);
    const foundA = next<MatchFoundEvent>(a, 'match:found');
    const foundB = next<MatchFoundEvent>(b, 'match:found');
    // Together, well within MATCH_BOT_FILL_S, so they are matched with each other rather than with bots.
    await Promise.all([ok(a, 'match:queue', { mode: 'duel' }), ok(b, 'match:queue', { mode: 'duel' })]);
    const [ma, mb] = await Promise.all([foundA, foundB]);
    expect(ma.gameId).toBe(mb.gameId);
    expect(ma.players.every((p) => !p.bot)).toBe(true);
    expect(new Set([ma.seat, mb.seat])).toEqual(new Set([0, 1]));
    const gameId = ma.gameId;

    const c = await connect(t.url, '/game', carol.accessToken);
    const watched = await ok<{ state: GameState }>(c, 'game:watch', { gameId });
    expect(watched.state).toMatchObject({ gameId, players: ma.players });
    const seenByBob = collect<GameTick>(b, 'game:tick');
    const seenByCarol = collect<GameTick>(c, 'game:tick');
    await eventually(() => seenByCarol.length >= 5 && seenByBob.length >= 5, 5000, 'ticks');
    const bobs = new Map(seenByBob.map((tk) => [tk.tick, tk]));
    const shared = seenByCarol.filter((tk) => bobs.has(tk.tick));
    expect(shared.length).toBeGreaterThan(2);
    for (const tk of shared) expect(tk).toEqual(bobs.get(tk.tick));

    const listed = (await ok<{ games: LiveGame[] }>(c, 'game:list', {})).games.find((g) => g.gameId === gameId);
    expect(listed).toMatchObject({ mode: 'duel', spectators: 1, startedAt: expect.any(Number) });

    // A spectator and a stranger cannot steer; nor can anyone with a wrong id or junk.
    const d = await connect(t.url, '/game', dave.accessToken);
    const code = async (socket: Socket, event: string, payload: unknown) => {
      const res = await request(socket, event, payload);
      return res.ok ? 'ok' : res.error.code;
    };
    expect(await code(c, 'game:input', { gameId, seq: 1, turn: 'left' })).toBe('FORBIDDEN');
    expect(await code(d, 'game:input', { gameId, seq: 1, turn: 'left' })).toBe('FORBIDDEN');
    expect(await code(d, 'game:leave', { gameId })).toBe('FORBIDDEN');
    expect(await code(a, 'game:input', { gameId: 'no-such-game', seq: 1, turn: 'left' })).toBe('NOT_FOUND');
    expect(await code(a, 'game:watch', { gameId: 'no-such-game' })).toBe('NOT_FOUND');
    expect(await code(a, 'game:input', { gameId, seq: 1, turn: 'back' })).toBe('INVALID_ARGUMENT');
    expect(await code(a, 'game:input', { gameId, seq: -1, turn: 'left' })).toBe('INVALID_ARGUMENT');
    expect(await code(a, 'game:input', 'junk')).toBe('INVALID_ARGUMENT');
    expect(await code(a, 'match:queue', { mode: 'duel' })).toBe('CONFLICT');
    expect(await code(a, 'game:create', { mode: 'duel' })).toBe('CONFLICT');
    expect(await code(d, 'game:create', { mode: 'duel', bots: 2 })).toBe('INVALID_ARGUMENT');

    // Inputs once running: a flood gets past 10 a second only as `applied: false`.
    await eventually(() => seenByBob.at(-1)?.phase === 'running', 5000, 'the round to run');
    const answers = await Promise.all(
      Array.from({ length: 14 }, (_, i) => ok<{ applied: boolean }>(a, 'game:input', { gameId, seq: 10 + i, turn: i % 2 ? 'left' : 'right' })),
    );
    // (How many of the first 10 apply depends on whether the round is still running when they arrive.)
    expect(answers.filter((x) => x.applied).length).toBeLessThanOrEqual(10);
    expect(answers.at(-1)?.applied).toBe(false);
    expect(await code(a, 'game:input', { gameId, seq: 10, turn: 'left' })).toBe('INVALID_ARGUMENT');

    // Alice forfeits: Bob wins, and the spectator hears it too.
    const overB = next<GameOverEvent>(b, 'game:over');
    const overC = next<GameOverEvent>(c, 'game:over');
    await ok(a, 'game:leave', { gameId });
    const [endB, endC] = await Promise.all([overB, overC]);
    expect(endB).toMatchObject({ gameId, reason: 'forfeit', winnerSeat: mb.seat });
    expect(endC).toEqual(endB);
    const byUser = new Map(endB.ratings.map((r) => [r.userId, r]));
    expect(byUser.get(bob.user.id)?.after).toBeGreaterThan(1200);
    expect(byUser.get(alice.user.id)?.after).toBeLessThan(1200);
    expect(await code(c, 'game:watch', { gameId })).toBe('NOT_FOUND');
  }, 30_000);

  it('private games by code: join, full → CONFLICT; a dropped player keeps the seat, gets game:state back, and forfeits after the hold', async () => {
    const [alice, bob, carol] = await Promise.all([register(t.url), register(t.url), register(t.url)]);
    let a = await connect(t.url, '/game', alice.accessToken);
    const b = await connect(t.url, '/game', bob.accessToken);
    const c = await connect(t.url, '/game', carol.accessToken);

    const waiting = next<GameState>(a, 'game:state');
    const created = await ok<{ gameId: string; code: string }>(a, 'game:create', { mode: 'duel' });
    expect(created.code).toMatch(/^[A-Z2-9]{6}$/);
    expect(await waiting).toMatchObject({ gameId: created.gameId, phase: 'waiting' });
    expect((await request(b, 'game:join', { code: 'ZZZZZZ' })).ok).toBe(false);

    const startedA = next<GameState>(a, 'game:state', (s) => s.phase === 'countdown');
    const joined = await ok<{ gameId: string; seat: number }>(b, 'game:join', { code: created.code.toLowerCase() });
    expect(joined).toEqual({ ok: true, gameId: created.gameId, seat: 1 });
    await startedA;
    const full = await request(c, 'game:join', { code: created.code });
    expect(full.ok ? 'ok' : full.error.code).toBe('CONFLICT');

    // Alice drops and comes back within the hold: game:state by itself, and she steers again.
    a.disconnect();
    const back = await connectExpecting<GameState>(t.url, alice.accessToken, 'game:state');
    a = back.socket;
    const state = await back.first;
    expect(state).toMatchObject({ gameId: created.gameId, players: expect.arrayContaining([expect.objectContaining({ seat: 0, userId: alice.user.id })]) });
    expect(await ok(a, 'game:input', { gameId: created.gameId, seq: 1, turn: 'left' })).toMatchObject({ applied: expect.any(Boolean) });
    await next<GameTick>(a, 'game:tick');

    // Then she drops for good: after the hold her seat forfeits and Bob wins.
    const over = next<GameOverEvent>(b, 'game:over', () => true, 10_000);
    a.disconnect();
    const end = await over;
    expect(end).toMatchObject({ gameId: created.gameId, reason: 'forfeit', winnerSeat: 1 });
  }, 30_000);

  it('quad: the players queued together share one game, and bots take the seats left', async () => {
    const [alice, bob] = await Promise.all([register(t.url), register(t.url)]);
    const a = await connect(t.url, '/game', alice.accessToken);
    const b = await connect(t.url, '/game', bob.accessToken);
    const foundA = next<MatchFoundEvent>(a, 'match:found');
    const foundB = next<MatchFoundEvent>(b, 'match:found');
    await Promise.all([ok(a, 'match:queue', { mode: 'quad' }), ok(b, 'match:queue', { mode: 'quad' })]);
    const [ma, mb] = await Promise.all([foundA, foundB]);
    expect(ma.gameId).toBe(mb.gameId);
    expect(ma.players).toHaveLength(4);
    expect(ma.players.filter((p) => p.bot)).toHaveLength(2);
    expect(ma.players.filter((p) => !p.bot).map((p) => p.userId).sort()).toEqual([alice.user.id, bob.user.id].sort());
    expect(new Set(ma.players.map((p) => p.seat))).toEqual(new Set([0, 1, 2, 3]));
    const over = next<GameOverEvent>(b, 'game:over');
    await ok(a, 'game:leave', { gameId: ma.gameId });
    await ok(b, 'game:leave', { gameId: ma.gameId });
    expect(await over).toMatchObject({ gameId: ma.gameId, reason: 'forfeit' });
  });

  it('game:create with invite: each invited user gets a game notification with the code', async () => {
    const [alice, bob] = await Promise.all([register(t.url), register(t.url)]);
    const inbox = await connect(t.url, '/notifications', bob.accessToken);
    const notified = next<Notification>(inbox, 'notification:new');
    const a = await connect(t.url, '/game', alice.accessToken);
    const created = await ok<{ gameId: string; code: string }>(a, 'game:create', { mode: 'duel', invite: [bob.user.id, 'nobody-here'] });
    expect(await notified).toMatchObject({
      kind: 'game',
      title: `${alice.user.displayName} invited you to a duel game`,
      data: { gameId: created.gameId, code: created.code, mode: 'duel' },
    });
    const b = await connect(t.url, '/game', bob.accessToken);
    expect(await ok(b, 'game:join', { code: created.code })).toMatchObject({ gameId: created.gameId, seat: 1 });
    await ok(a, 'game:leave', { gameId: created.gameId });
  });

  it('a node that shuts down ends its running games aborted, rating-neutral', async () => {
    const own = await startServer({ dialect, GAME_COUNTDOWN_S: 0.1 });
    try {
      const alice = await register(own.url);
      const a = await connect(own.url, '/game', alice.accessToken);
      const over = next<GameOverEvent>(a, 'game:over');
      const created = await ok<{ gameId: string }>(a, 'game:create', { mode: 'duel', bots: 1 });
      await next<GameTick>(a, 'game:tick');
      await own.stop();
      expect(await over).toEqual({ gameId: created.gameId, winnerSeat: null, scores: { 0: 0, 1: 0 }, ratings: [], reason: 'aborted' });
    } finally {
      await own.close();
    }
  });

  it('a private game with bots starts at once', async () => {
    const alice = await register(t.url);
    const a = await connect(t.url, '/game', alice.accessToken);
    const started = next<GameState>(a, 'game:state');
    const created = await ok<{ gameId: string }>(a, 'game:create', { mode: 'quad', bots: 3 });
    const state = await started;
    expect(state).toMatchObject({ gameId: created.gameId, mode: 'quad', phase: 'countdown', width: 48, height: 48 });
    expect(state.players.filter((p) => p.bot)).toHaveLength(3);
    const over = next<GameOverEvent>(a, 'game:over');
    await ok(a, 'game:leave', { gameId: created.gameId });
    // Without a person left the bots do not play on.
    expect(await over).toMatchObject({ gameId: created.gameId, reason: 'forfeit' });
  });
});
