/**
 * `client.game` against a real server: `/game` stays closed until used; a private duel created and
 * joined by its code (in any case), watched from the live games, steered with turns the spectator
 * sees applied; a spectator's turn refused; after the server drops every `/game` socket the players
 * get the state again by themselves and the spectator hears `connected` and watches again; a player
 * who leaves forfeits, and the game's end, the leaderboard and the history follow.
 */
import type { GameOverEvent, GameState, GameTick } from '@switchboard/protocol';
import { ErrorCode, SwitchboardError } from '@switchboard/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startServer, type TestServer } from '../../server/test/helpers.js';
import { closeClients, signedIn } from './support.js';

describe('client.game', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ GAME_COUNTDOWN_S: 0.5, GAME_ROUND_PAUSE_S: 0.2, GAME_SEAT_HOLD_S: 5 });
  });
  afterEach(() => closeClients());
  afterAll(() => t.close());

  it('creates, joins by code, watches, steers, re-syncs after a reconnect and forfeits', async () => {
    const gameNsp = t.server.realtime.io.of('/game');
    const alice = await signedIn(t);
    const bob = await signedIn(t);
    const cid = await signedIn(t);
    expect(alice.game.connected).toBe(false);
    expect(gameNsp.sockets.size).toBe(0);

    const aliceStates: GameState[] = [];
    const aliceTicks: GameTick[] = [];
    const cidTicks: GameTick[] = [];
    const overs: GameOverEvent[] = [];
    let cidConnects = 0;
    alice.game.on('state', (s) => aliceStates.push(s));
    alice.game.on('tick', (tk) => aliceTicks.push(tk));
    alice.game.on('over', (o) => overs.push(o));
    cid.game.on('tick', (tk) => cidTicks.push(tk));
    cid.game.on('over', (o) => overs.push(o));
    cid.game.on('connected', () => cidConnects++);

    const { gameId, code } = await alice.game.create({ mode: 'duel' });
    expect(code).toMatch(/^[A-HJ-NP-Z2-9]{6}$/);
    await eventually(() => aliceStates.some((s) => s.gameId === gameId && s.phase === 'waiting'), 5000, 'the waiting state');
    expect(await bob.game.join(code.toLowerCase())).toEqual({ gameId, seat: 1 });

    // The game starts once every seat is taken; then it is listed, and Cid watches it.
    await eventually(async () => (await cid.game.list()).some((g) => g.gameId === gameId), 5000, 'the game listed');
    const watched = await cid.game.watch(gameId);
    expect(watched).toMatchObject({ gameId, mode: 'duel', width: 40, height: 30 });
    expect(watched.players.map((p) => p.userId)).toEqual([alice.user?.id, bob.user?.id]);
    await eventually(() => cidConnects === 1 && cidTicks.length > 0, 5000, 'ticks reaching the spectator');
    await expect(cid.game.turn(gameId, 'left')).rejects.toMatchObject({ code: ErrorCode.FORBIDDEN });

    // Spawned heading left or right, a cycle heads up or down only once a turn is applied.
    await eventually(() => aliceTicks.at(-1)?.phase === 'running', 5000, 'the round running');
    expect(await alice.game.turn(gameId, 'left')).toBe(true);
    await eventually(() => cidTicks.some((tk) => ['up', 'down'].includes(tk.cycles.find((c) => c.seat === 0)?.dir ?? '')), 5000, 'the turn seen by the spectator');

    // Every /game socket dropped by the server: the SDK reconnects; the seated get the state again.
    const statesBefore = aliceStates.length;
    gameNsp.disconnectSockets();
    await eventually(() => aliceStates.length > statesBefore && alice.game.connected, 5000, 'the state after reconnecting');
    expect(aliceStates.at(-1)?.gameId).toBe(gameId);
    await eventually(() => cidConnects === 2, 5000, 'the spectator reconnected');
    expect((await cid.game.watch(gameId)).gameId).toBe(gameId);

    // Bob forfeits: Alice wins, seen by her and by the spectator.
    await bob.game.leave(gameId);
    await eventually(() => overs.length === 2, 5000, 'game:over for the player and the spectator');
    for (const over of overs) expect(over).toMatchObject({ gameId, winnerSeat: 0, reason: 'forfeit' });
    expect(overs[0]?.ratings.map((r) => r.userId).sort()).toEqual([alice.user?.id, bob.user?.id].sort());
    await expect(cid.game.watch(gameId)).rejects.toBeInstanceOf(SwitchboardError);

    const board = await cid.game.leaderboard('duel');
    expect(board.find((e) => e.userId === alice.user?.id)).toMatchObject({ games: 1, wins: 1 });
    const history = await alice.game.history(alice.user?.id as string);
    expect(history[0]).toMatchObject({ gameId, mode: 'duel', winnerSeat: 0, reason: 'forfeit' });

    alice.game.close();
    expect(alice.game.connected).toBe(false);
  }, 30_000);
});
