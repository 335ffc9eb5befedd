/**
 * The `/game` namespace (PROTOCOL §6): matchmaking, private games by code, spectators, and the
 * live games of this node, stepped by one drift-corrected 20 Hz loop. Every tick of a game goes to
 * one Socket.IO room, which holds its players' and its spectators' sockets alike, so both see the
 * same ticks. A player whose last socket drops keeps the seat for GAME_SEAT_HOLD_S (its cycle rides
 * straight on), gets `game:state` on reconnecting, and forfeits after.
 */
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  GameLimits,
  type GameMode,
  type GameOverReason,
  type GamePlayer,
  type GameState,
  type LiveGame,
} from '@switchboard/protocol';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Namespace } from 'socket.io';
import { conflict, forbidden, invalid, notFound } from '../domain/errors.js';
import { botTurn } from '../domain/game/bots.js';
import { Matchmaker } from '../domain/game/matchmaking.js';
import type { GameRecords } from '../domain/game/records.js';
import { Simulation } from '../domain/game/simulation.js';
import { Ticker } from '../domain/game/ticker.js';
import { newId } from '../domain/ids.js';
import { bindSession, renewSession } from './connection.js';
import type { NamespaceSetup } from './io.js';
import { serveRequests } from './requests.js';
import { channel, type GameNamespace, type GameSocket } from './types.js';

export interface GameOptions {
  records: GameRecords;
  /** Seconds before bots fill a queued game (MATCH_BOT_FILL_S). */
  botFillS: number;
  /** Seconds a dropped player keeps the seat (GAME_SEAT_HOLD_S). */
  seatHoldS: number;
  /** Seconds of countdown before each round (GAME_COUNTDOWN_S). */
  countdownS: number;
  /** Seconds between a round's end and the next countdown (GAME_ROUND_PAUSE_S). */
  roundPauseS: number;
}

export interface GameArena {
  setup: NamespaceSetup;
  /** Stops the loop and matchmaking; games still running end `aborted` for their clients. */
  close(): void;
}

interface Seat extends GamePlayer {
  /** Set while the seat's player has no socket connected: when it forfeits. */
  hold?: NodeJS.Timeout | undefined;
  /** Left the game (forfeited, or its seat in a waiting game was freed). */
  gone: boolean;
}

interface Game {
  id: string;
  mode: GameMode;
  code: string | null;
  sim: Simulation;
  seats: (Seat | undefined)[];
  /** Ids of the spectators' sockets. */
  spectators: Set<string>;
  startedAt: number | null;
  ending: boolean;
}

/** How often queues are looked at for matches. */
const MATCH_POLL_MS = 250;
const TICK_MS = 1000 / GameLimits.tickHz;

const roomOf = (gameId: string) => `game:${gameId}`;

function newCode(): string {
  const { codeAlphabet, codeLength } = GameLimits;
  return Array.from({ length: codeLength }, () => codeAlphabet[randomInt(codeAlphabet.length)]).join('');
}

const playerOf = ({ seat, userId, name, bot, rating }: Seat): GamePlayer => ({ seat, userId, name, bot, rating });

export function createGameArena(options: GameOptions): GameArena {
  const games = new Map<string, Game>();
  const byCode = new Map<string, Game>();
  /** Where each person is seated, in a live or waiting game. */
  const seated = new Map<string, { game: Game; seat: number }>();
  /** `/game` sockets per user on this node, to tell when a player has dropped. */
  const socketsOf = new Map<string, number>();
  /** The last input `seq` of each socket. */
  const lastSeq = new WeakMap<GameSocket, number>();
  const matchmaker = new Matchmaker(options.botFillS * 1000);
  let ticker: Ticker | undefined;
  let matchTimer: NodeJS.Timeout | undefined;

  const setup: NamespaceSetup = (io, ctx) => {
    const nsp = io.of('/game') as unknown as GameNamespace;
    const { services, log } = ctx;
    const registry = ctx.monitoring?.metrics.registry;
    const registers = registry ? [registry] : [];
    const tickDuration = new Histogram({
      name: 'switchboard_game_tick_duration_seconds',
      help: 'Time one tick of every live game of this node takes',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05],
      registers,
    });
    const lateTicks = new Counter({ name: 'switchboard_game_ticks_late_total', help: 'Game ticks run late or skipped', registers });
    const liveGames = new Gauge({ name: 'switchboard_games_live', help: 'Games held by this node, waiting or running', registers });

    const stateOf = (game: Game): GameState => ({
      gameId: game.id,
      mode: game.mode,
      tick: game.sim.tick,
      round: game.sim.round,
      width: game.sim.width,
      height: game.sim.height,
      players: game.seats.filter((s): s is Seat => s !== undefined).map(playerOf),
      cycles: game.sim.cycleStates(),
      trails: game.sim.trailStates(),
      scores: { ...game.sim.scores },
      phase: game.startedAt === null ? 'waiting' : game.sim.phase,
    });

    const seatOf = (game: Game, userId: string): Seat | undefined =>
      game.seats.find((s) => s !== undefined && !s.gone && s.userId === userId);

    const findGame = (gameId: string): Game => {
      const game = games.get(gameId);
      if (!game || game.ending) throw notFound('game');
      return game;
    };

    const ensureFree = (userId: string) => {
      if (seated.has(userId)) throw conflict('already seated in a game: leave it first');
      matchmaker.cancel(userId);
    };

    const addGame = (mode: GameMode, code: string | null): Game => {
      const sim = new Simulation({
        mode,
        seed: randomInt(2 ** 31),
        countdownTicks: Math.round(options.countdownS * GameLimits.tickHz),
        betweenRoundsTicks: Math.round(options.roundPauseS * GameLimits.tickHz),
      });
      const game: Game = { id: newId(), mode, code, sim, seats: Array(sim.seats).fill(undefined), spectators: new Set(), startedAt: null, ending: false };
      games.set(game.id, game);
      if (code) byCode.set(code, game);
      liveGames.set(games.size);
      return game;
    };

    const seatPerson = (game: Game, seat: number, userId: string, name: string, rating: number) => {
      game.seats[seat] = { seat, userId, name, bot: false, rating, gone: false };
      seated.set(userId, { game, seat });
      nsp.in(channel.user(userId)).socketsJoin(roomOf(game.id));
      // Seated with no socket here (queued, then dropped): the hold runs from now.
      if (!socketsOf.get(userId)) holdSeat(game, userId);
    };

    const fillWithBots = (game: Game, count: number) => {
      for (let seat = 0, added = 0; seat < game.seats.length && added < count; seat++) {
        if (game.seats[seat]) continue;
        added++;
        game.seats[seat] = { seat, userId: null, name: `Bot ${seat + 1}`, bot: true, rating: GameLimits.initialRating, gone: false };
      }
    };

    const start = (game: Game) => {
      game.startedAt = Date.now();
      nsp.to(roomOf(game.id)).emit('game:state', stateOf(game));
      if (!ticker) {
        ticker = new Ticker(TICK_MS, tickAll, (n) => lateTicks.inc(n));
      }
      ticker.start();
    };

    const removeGame = (game: Game) => {
      games.delete(game.id);
      if (game.code) byCode.delete(game.code);
      for (const seat of game.seats) {
        clearTimeout(seat?.hold);
        if (seat?.userId && seated.get(seat.userId)?.game === game) seated.delete(seat.userId);
      }
      liveGames.set(games.size);
      if (![...games.values()].some((g) => g.startedAt !== null)) ticker?.stop();
    };

    const finish = (game: Game, winnerSeat: number | null, reason: GameOverReason) => {
      if (game.ending) return;
      game.ending = true;
      const startedAt = game.startedAt ?? Date.now();
      const players = game.seats.filter((s): s is Seat => s !== undefined).map(playerOf);
      const scores = { ...game.sim.scores };
      const room = roomOf(game.id);
      removeGame(game);
      options.records
        .finish({ gameId: game.id, mode: game.mode, startedAt, finishedAt: Date.now(), winnerSeat, reason, players })
        .catch((err: unknown) => {
          log.error({ err, gameId: game.id }, 'could not store a finished game');
          return [];
        })
        .then((ratings) => {
          nsp.to(room).emit('game:over', { gameId: game.id, winnerSeat, scores, ratings, reason });
          nsp.in(room).socketsLeave(room);
        })
        .catch((err: unknown) => log.error({ err, gameId: game.id }, 'could not announce a finished game'));
    };

    /** `userId` leaves `game`: a forfeit once it started, a freed seat before. */
    const vacate = (game: Game, userId: string) => {
      const seat = seatOf(game, userId);
      if (!seat) return;
      clearTimeout(seat.hold);
      seated.delete(userId);
      if (game.startedAt === null) {
        nsp.in(channel.user(userId)).socketsLeave(roomOf(game.id));
        game.seats[seat.seat] = undefined;
        if (!game.seats.some((s) => s && !s.bot)) removeGame(game);
        else nsp.to(roomOf(game.id)).emit('game:state', stateOf(game));
        return;
      }
      seat.gone = true;
      const result = game.sim.forfeit(seat.seat);
      // The last forfeit ends the game: its player hears `game:over` like everyone else.
      if (result.over) return finish(game, result.over.winnerSeat, 'forfeit');
      // Nobody left to play for: the bots do not finish it among themselves.
      if (!game.seats.some((s) => s && !s.bot && !s.gone)) {
        const left = game.sim.remaining();
        return finish(game, left.length === 1 ? (left[0] as number) : null, 'forfeit');
      }
      nsp.in(channel.user(userId)).socketsLeave(roomOf(game.id));
    };

    function holdSeat(game: Game, userId: string) {
      const seat = seatOf(game, userId);
      if (!seat) return;
      clearTimeout(seat.hold);
      seat.hold = setTimeout(() => vacate(game, userId), options.seatHoldS * 1000);
    }

    function tickAll() {
      const began = performance.now();
      for (const game of games.values()) {
        if (game.startedAt === null || game.ending) continue;
        const { sim } = game;
        for (const seat of game.seats) {
          if (!seat?.bot) continue;
          const turn = botTurn(sim, seat.seat);
          if (turn) sim.input(seat.seat, turn);
        }
        const result = sim.step();
        const room = nsp.to(roomOf(game.id));
        room.emit('game:tick', { gameId: game.id, tick: sim.tick, phase: sim.phase, cycles: sim.cycleStates() });
        if (result.roundEnded) room.emit('game:round', { gameId: game.id, ...result.roundEnded, scores: { ...sim.scores } });
        if (result.over) finish(game, result.over.winnerSeat, result.over.reason);
      }
      tickDuration.observe((performance.now() - began) / 1000);
    }

    const startMatches = () => {
      for (const match of matchmaker.poll(Date.now())) {
        const game = addGame(match.mode, null);
        match.humans.forEach((h, seat) => seatPerson(game, seat, h.userId, h.name, h.rating));
        fillWithBots(game, match.seats - match.humans.length);
        const players = game.seats.filter((s): s is Seat => s !== undefined).map(playerOf);
        for (const h of match.humans) {
          const seat = seated.get(h.userId)?.seat as number;
          nsp.to(channel.user(h.userId)).emit('match:found', { gameId: game.id, seat, players });
        }
        start(game);
      }
    };
    matchTimer = setInterval(startMatches, MATCH_POLL_MS);

    const attach = serveRequests<'/game', GameSocket>(
      '/game',
      {
        'auth:renew': ({ token }, socket) => renewSession(services.auth, socket, token),
        'match:queue': async ({ mode }, socket) => {
          const { userId, displayName } = socket.data;
          if (seated.has(userId)) throw conflict('already seated in a game: leave it first');
          const rating = (await options.records.ratings(mode, [userId])).get(userId) ?? GameLimits.initialRating;
          // Seated meanwhile (a private game joined while the rating was read).
          if (seated.has(userId)) throw conflict('already seated in a game: leave it first');
          matchmaker.enqueue({ userId, name: displayName, rating, mode, since: Date.now() });
          startMatches();
          return {};
        },
        'match:cancel': (_input, socket) => {
          matchmaker.cancel(socket.data.userId);
          return {};
        },
        'game:create': async ({ mode, bots = 0, invite = [] }, socket) => {
          const { userId, displayName } = socket.data;
          if (bots > GameLimits.seats[mode] - 1) throw invalid(`a ${mode} game has room for ${GameLimits.seats[mode] - 1} bots at most`);
          ensureFree(userId);
          const rating = (await options.records.ratings(mode, [userId])).get(userId) ?? GameLimits.initialRating;
          ensureFree(userId);
          let code = newCode();
          while (byCode.has(code)) code = newCode();
          const game = addGame(mode, code);
          seatPerson(game, 0, userId, displayName, rating);
          fillWithBots(game, bots);
          if (game.seats.every(Boolean)) start(game);
          else nsp.to(channel.user(userId)).emit('game:state', stateOf(game));
          const invited = invite.filter((id) => id !== userId);
          if (invited.length > 0) {
            // The game exists whatever happens to the notifications: a failure is logged, not answered.
            services.notifications
              .notifyUsers(invited, {
                kind: 'game',
                title: `${displayName} invited you to a ${mode} game`,
                body: `Join with the code ${code}`,
                data: { gameId: game.id, code, mode },
              })
              .catch((err: unknown) => log.error({ err, gameId: game.id }, 'could not notify the players invited to a game'));
          }
          return { gameId: game.id, code };
        },
        'game:join': async ({ code }, socket) => {
          const { userId, displayName } = socket.data;
          const waiting = byCode.get(code);
          if (!waiting) throw notFound('game');
          ensureFree(userId);
          const rating = (await options.records.ratings(waiting.mode, [userId])).get(userId) ?? GameLimits.initialRating;
          ensureFree(userId);
          const seat = waiting.seats.findIndex((s) => s === undefined);
          if (waiting.startedAt !== null || waiting.ending || seat < 0) throw conflict('the game is full or has started');
          seatPerson(waiting, seat, userId, displayName, rating);
          if (waiting.seats.every(Boolean)) start(waiting);
          else nsp.to(roomOf(waiting.id)).emit('game:state', stateOf(waiting));
          return { gameId: waiting.id, seat };
        },
        'game:input': ({ gameId, seq, turn }, socket) => {
          const game = findGame(gameId);
          const seat = seatOf(game, socket.data.userId);
          if (!seat) throw forbidden('only a seated player steers, and only its own cycle');
          if (seq <= (lastSeq.get(socket) ?? -1)) throw invalid('seq must increase with every input');
          lastSeq.set(socket, seq);
          return { applied: game.startedAt !== null && game.sim.input(seat.seat, turn) };
        },
        'game:watch': async ({ gameId }, socket) => {
          const game = findGame(gameId);
          if (!seatOf(game, socket.data.userId)) game.spectators.add(socket.id);
          await socket.join(roomOf(game.id));
          return { state: stateOf(game) };
        },
        'game:leave': async ({ gameId }, socket) => {
          const game = findGame(gameId);
          if (seatOf(game, socket.data.userId)) {
            vacate(game, socket.data.userId);
          } else if (game.spectators.delete(socket.id)) {
            await socket.leave(roomOf(game.id));
          } else {
            throw forbidden('not a player or a spectator of this game');
          }
          return {};
        },
        'game:list': () => {
          const live: LiveGame[] = [];
          for (const game of games.values()) {
            if (game.startedAt === null || game.ending) continue;
            live.push({
              gameId: game.id,
              mode: game.mode,
              players: game.seats.filter((s): s is Seat => s !== undefined).map(({ seat, userId, name, bot }) => ({ seat, userId, name, bot })),
              spectators: game.spectators.size,
              round: game.sim.round,
              startedAt: game.startedAt,
            });
          }
          return { games: live };
        },
      },
      ctx,
    );

    nsp.on('connection', (socket: GameSocket) => {
      const { userId } = socket.data;
      bindSession(socket);
      socketsOf.set(userId, (socketsOf.get(userId) ?? 0) + 1);
      const place = seated.get(userId);
      if (place) {
        clearTimeout(place.game.seats[place.seat]?.hold);
        void socket.join(roomOf(place.game.id));
        socket.emit('game:state', stateOf(place.game));
      }
      socket.on('disconnect', () => {
        const left = (socketsOf.get(userId) ?? 1) - 1;
        if (left > 0) socketsOf.set(userId, left);
        else socketsOf.delete(userId);
        for (const game of games.values()) game.spectators.delete(socket.id);
        if (left > 0) return;
        matchmaker.cancel(userId);
        const now = seated.get(userId);
        if (now) holdSeat(now.game, userId);
      });
      attach(socket);
    });

    closeGames = () => {
      for (const game of [...games.values()]) {
        if (game.startedAt === null) {
          removeGame(game);
          continue;
        }
        game.ending = true;
        removeGame(game);
        nsp
          .to(roomOf(game.id))
          .emit('game:over', { gameId: game.id, winnerSeat: null, scores: { ...game.sim.scores }, ratings: [], reason: 'aborted' });
      }
    };

    return nsp as unknown as Namespace;
  };

  let closeGames: () => void = () => undefined;

  return {
    setup,
    close() {
      clearInterval(matchTimer);
      closeGames();
      ticker?.stop();
    },
  };
}
