/**
 * The `/game` namespace (PROTOCOL §6): matchmaking, private games by code, spectators, and the
 * live games of this node, stepped by one drift-corrected 20 Hz loop. Every tick of a game goes to
 * one Socket.IO room, which holds its players' and its spectators' sockets alike, so both see the
 * same ticks. A player whose last socket drops keeps the seat for GAME_SEAT_HOLD_S (its cycle rides
 * straight on), gets `game:state` on reconnecting, and forfeits after.
 *
 * With REDIS_URL (scale/game-cluster.ts) a game still lives on the node that created it, and only
 * that node steps it; the queue, the codes and the seats are shared, requests about another node's
 * game are handed to it, and the room carries its ticks to the sockets of every node. A surviving
 * node ends the games of a node whose heartbeat lapsed `aborted`.
 */
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  GameLimits,
  type GameMode,
  type GameOverReason,
  type GamePlayer,
  type GameState,
  type GameTick,
  type LiveGame,
  type Turn,
} from '@switchboard/protocol';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Namespace } from 'socket.io';
import { conflict, forbidden, invalid, notFound } from '../domain/errors.js';
import { botTurn } from '../domain/game/bots.js';
import { compactTick } from '../domain/game/compact-ticks.js';
import { Matchmaker, type Match } from '../domain/game/matchmaking.js';
import type { GameRecords } from '../domain/game/records.js';
import { Simulation } from '../domain/game/simulation.js';
import { Ticker } from '../domain/game/ticker.js';
import { newId } from '../domain/ids.js';
import type { GameCall, GameEntry, RedisGameCluster } from '../scale/game-cluster.js';
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
  /** Games shared across the nodes of a deployment (REDIS_URL); undefined: this process only. */
  cluster?: RedisGameCluster | undefined;
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
  /** Its number in compact ticks (GameState.key). */
  key: number;
  mode: GameMode;
  code: string | null;
  sim: Simulation;
  seats: (Seat | undefined)[];
  /** Ids of the spectators' sockets. */
  spectators: Set<string>;
  startedAt: number | null;
  ending: boolean;
  /** The last tick sent: what compact ticks are built on. */
  last: GameTick;
}

/** How often queues are looked at for matches. */
const MATCH_POLL_MS = 250;
/** How often the entries of games held by other nodes are checked for a dead owner. */
const SWEEP_MS = 5000;
/** Other nodes' games whose node is remembered; past this the memory starts again. */
const MAX_KNOWN_OWNERS = 10_000;
const TICK_MS = 1000 / GameLimits.tickHz;
/**
 * Longest stretch of stepping games before the loop yields to I/O: a pass over many games runs in
 * slices, so sockets are read and written between them instead of after the whole pass.
 */
const SLICE_MS = 4;
/** Every `/game` socket is in one of these: which tick stream it gets (`game:ticks`). */
const TICKS_FULL = 'ticks:full';
const TICKS_COMPACT = 'ticks:compact';

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
  const { cluster } = options;
  /** The node holding each game of another node that this one has asked about (games never move). */
  const owners = new Map<string, string>();
  /** Per socket, the games of other nodes it watches, to stop watching when it goes. */
  const watching = new Map<string, Set<string>>();
  let ticker: Ticker | undefined;
  let matchTimer: NodeJS.Timeout | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;

  const setup: NamespaceSetup = (io, ctx) => {
    const nsp = io.of('/game') as unknown as GameNamespace;
    const { services, log } = ctx;
    const registry = ctx.monitoring?.metrics.registry;
    const registers = registry ? [registry] : [];
    const tickDuration = new Histogram({
      name: 'switchboard_game_tick_duration_seconds',
      help: 'Time one tick of every live game of this node takes (its slices added up)',
      // Fine below one period (50 ms), where a healthy loop stays; the bench reads its percentiles from these.
      buckets: [0.00025, 0.0005, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1],
      registers,
    });
    const stepDuration = new Histogram({
      name: 'switchboard_game_step_duration_seconds',
      help: 'Time one game takes to step one tick: its bots, its simulation and its tick built, not sending',
      // A step takes tens of microseconds; the bench compares these with another server's per-room step.
      buckets: [0.000005, 0.00001, 0.000015, 0.00002, 0.00003, 0.00004, 0.00005, 0.000075, 0.0001, 0.00015, 0.0002, 0.0003, 0.0005, 0.001, 0.002, 0.005],
      registers,
    });
    const lateTicks = new Counter({ name: 'switchboard_game_ticks_late_total', help: 'Game ticks run late or skipped', registers });
    const liveGames = new Gauge({ name: 'switchboard_games_live', help: 'Games held by this node, waiting or running', registers });

    const stateOf = (game: Game): GameState => ({
      gameId: game.id,
      key: game.key,
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

    const ensureFree = async (userId: string) => {
      if (seated.has(userId)) throw conflict('already seated in a game: leave it first');
      matchmaker.cancel(userId);
      await cluster?.cancel(userId);
    };

    const entryOf = (game: Game, node: string): GameEntry => ({
      gameId: game.id,
      node,
      mode: game.mode,
      code: game.code,
      startedAt: game.startedAt,
      round: game.sim.round,
      players: game.seats.filter((s): s is Seat => s !== undefined).map(playerOf),
      scores: { ...game.sim.scores },
      spectators: game.spectators.size,
    });

    /** Tells the other nodes what changed in a game of this node (its players, round or spectators). */
    const publish = (game: Game) => {
      if (!cluster || game.ending) return;
      cluster.publish(entryOf(game, cluster.nodeId)).catch((err: unknown) => log.warn({ err, gameId: game.id }, 'could not publish a game'));
    };

    /** The node that holds `gameId`, or undefined when no node does. */
    const ownerOf = async (gameId: string): Promise<string | undefined> => {
      if (games.has(gameId)) return cluster?.nodeId;
      const known = owners.get(gameId);
      if (known !== undefined || !cluster) return known;
      const node = (await cluster.entry(gameId))?.node;
      if (node === undefined) return undefined;
      // Bounded: a game that ended quietly (no failed request) would otherwise stay forever.
      if (owners.size >= MAX_KNOWN_OWNERS) owners.clear();
      owners.set(gameId, node);
      return node;
    };

    /** Hands `call` to the node holding `gameId`. */
    const remote = async <T>(gameId: string, call: GameCall): Promise<T> => {
      const node = await ownerOf(gameId);
      if (!cluster || node === undefined) throw notFound('game');
      try {
        return await cluster.call<T>(node, call);
      } catch (err) {
        // Over, or its node gone: the next request reads the entry again (and finds none).
        owners.delete(gameId);
        throw err;
      }
    };

    let lastKey = 0;
    /** A number for a new game's compact ticks: from the shared counter when several nodes hold games. */
    const newKey = async (): Promise<number> => (cluster ? cluster.nextKey() : ++lastKey);

    const tickOf = (game: Game): GameTick => ({ gameId: game.id, tick: game.sim.tick, phase: game.sim.phase, cycles: game.sim.cycleStates() });

    const addGame = (mode: GameMode, code: string | null, key: number, id: string = newId()): Game => {
      const sim = new Simulation({
        mode,
        seed: randomInt(2 ** 31),
        countdownTicks: Math.round(options.countdownS * GameLimits.tickHz),
        betweenRoundsTicks: Math.round(options.roundPauseS * GameLimits.tickHz),
      });
      const game: Game = { id, key, mode, code, sim, seats: Array(sim.seats).fill(undefined), spectators: new Set(), startedAt: null, ending: false, last: { gameId: id, tick: 0, phase: 'waiting', cycles: [] } };
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
      game.last = tickOf(game);
      publish(game);
      nsp.to(roomOf(game.id)).emit('game:state', stateOf(game));
      if (!ticker) {
        ticker = new Ticker(TICK_MS, tickAll, (n) => lateTicks.inc(n));
      }
      ticker.start();
    };

    const removeGame = (game: Game) => {
      games.delete(game.id);
      if (game.code) byCode.delete(game.code);
      cluster?.remove(entryOf(game, cluster.nodeId)).catch((err: unknown) => log.warn({ err, gameId: game.id }, 'could not withdraw a game'));
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
      cluster?.releaseSeat(userId, game.id).catch((err: unknown) => log.warn({ err, gameId: game.id }, 'could not free a seat'));
      if (game.startedAt === null) {
        nsp.in(channel.user(userId)).socketsLeave(roomOf(game.id));
        game.seats[seat.seat] = undefined;
        if (!game.seats.some((s) => s && !s.bot)) {
          removeGame(game);
        } else {
          publish(game);
          nsp.to(roomOf(game.id)).emit('game:state', stateOf(game));
        }
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
      seat.hold = setTimeout(() => void expire(game, userId), options.seatHoldS * 1000);
    }

    /** The hold ran out: the seat forfeits, unless (several nodes) the player has a socket on another node. */
    async function expire(game: Game, userId: string) {
      if (cluster) {
        const elsewhere = await nsp
          .in(channel.user(userId))
          .fetchSockets()
          .then(
            (sockets) => sockets.length,
            (err: unknown) => {
              log.warn({ err, gameId: game.id }, 'could not count a held player\'s sockets across nodes; the seat forfeits');
              return 0;
            },
          );
        if (elsewhere > 0) return;
      }
      vacate(game, userId);
    }

    /** The games the current pass has still to step, from `passAt` on. */
    let pass: Game[] = [];
    let passAt = 0;
    let passBusyMs = 0;
    let passTimer: NodeJS.Immediate | undefined;

    function tickAll() {
      // A pass still going when the next tick is due ends first: every game's ticks stay in order.
      if (passAt < pass.length) runSlice(Infinity);
      pass = [...games.values()].filter((game) => game.startedAt !== null && !game.ending);
      passAt = 0;
      passBusyMs = 0;
      runSlice(SLICE_MS);
    }

    function runSlice(budgetMs: number) {
      clearImmediate(passTimer);
      passTimer = undefined;
      const began = performance.now();
      while (passAt < pass.length && performance.now() - began < budgetMs) stepGame(pass[passAt++] as Game);
      passBusyMs += performance.now() - began;
      if (passAt < pass.length) passTimer = setImmediate(() => runSlice(SLICE_MS));
      else tickDuration.observe(passBusyMs / 1000);
    }

    /**
     * Whether a socket in `room` gets the tick stream `stream`. Only this node's sockets are known,
     * so with several nodes both streams go out; alone, a stream nobody gets is not even encoded.
     */
    const anyGets = (room: string, stream: string): boolean => {
      if (cluster) return true;
      const members = nsp.adapter.rooms.get(room);
      const streamers = nsp.adapter.rooms.get(stream);
      if (!members || !streamers) return false;
      for (const id of members) if (streamers.has(id)) return true;
      return false;
    };

    function stepGame(game: Game) {
      // Ended (or forfeited to its end) since the pass began.
      if (game.ending) return;
      const { sim } = game;
      const began = performance.now();
      for (const seat of game.seats) {
        if (!seat?.bot) continue;
        const turn = botTurn(sim, seat.seat);
        if (turn) sim.input(seat.seat, turn);
      }
      const result = sim.step();
      const tick = tickOf(game);
      const compact = compactTick(game.key, game.last, tick);
      game.last = tick;
      stepDuration.observe((performance.now() - began) / 1000);
      const room = roomOf(game.id);
      if (anyGets(room, TICKS_FULL)) nsp.to(room).except(TICKS_COMPACT).emit('game:tick', tick);
      if (compact && anyGets(room, TICKS_COMPACT)) nsp.to(room).except(TICKS_FULL).emit('t', compact);
      if (result.roundEnded) {
        nsp.to(room).emit('game:round', { gameId: game.id, ...result.roundEnded, scores: { ...sim.scores } });
        if (!result.over) publish(game);
      }
      if (result.over) finish(game, result.over.winnerSeat, result.over.reason);
    }

    const launch = (match: Match, key: number, id?: string) => {
      const game = addGame(match.mode, null, key, id);
      match.humans.forEach((h, seat) => seatPerson(game, seat, h.userId, h.name, h.rating));
      fillWithBots(game, match.seats - match.humans.length);
      const players = game.seats.filter((s): s is Seat => s !== undefined).map(playerOf);
      for (const h of match.humans) {
        const seat = seated.get(h.userId)?.seat as number;
        nsp.to(channel.user(h.userId)).emit('match:found', { gameId: game.id, seat, players });
      }
      start(game);
    };

    let matching = false;
    /**
     * Several nodes: every node matches over the one shared queue with the same rules; a match
     * stands only if its players are all still queued and seated nowhere, checked and taken in one
     * script, so two nodes that formed overlapping matches cannot both seat a player.
     */
    const matchShared = async (shared: RedisGameCluster) => {
      if (matching) return;
      matching = true;
      try {
        const queue = await shared.queue();
        const byUser = new Map(queue.map((q) => [q.player.userId, q]));
        const pairing = new Matchmaker(options.botFillS * 1000);
        for (const { player } of queue) pairing.enqueue(player);
        for (const match of pairing.poll(Date.now())) {
          const id = newId();
          const players = match.humans.map((h) => byUser.get(h.userId) as (typeof queue)[number]);
          // Numbered before the players are taken: a failure here leaves nobody seated in a game that never starts.
          const key = await shared.nextKey();
          if (await shared.take(id, players)) launch(match, key, id);
        }
      } catch (err) {
        log.warn({ err }, 'matchmaking across nodes failed; trying again');
      } finally {
        matching = false;
      }
    };

    const startMatches = () => {
      if (cluster) void matchShared(cluster);
      else for (const match of matchmaker.poll(Date.now())) launch(match, ++lastKey);
    };
    matchTimer = setInterval(startMatches, MATCH_POLL_MS);

    /** Ends a game of a dead node: stored `aborted` (no rating changes) and told to its clients. */
    const abortOrphan = async (entry: GameEntry) => {
      const { gameId, mode, startedAt, players, scores } = entry;
      if (startedAt === null) return; // a private game still waiting: nobody played
      // Its clients hear the end whether or not it could be stored.
      await options.records
        .finish({ gameId, mode, startedAt, finishedAt: Date.now(), winnerSeat: null, reason: 'aborted', players })
        .catch((err: unknown) => log.error({ err, gameId }, 'could not store a game aborted with its node'));
      nsp.to(roomOf(gameId)).emit('game:over', { gameId, winnerSeat: null, scores, ratings: [], reason: 'aborted' });
      nsp.in(roomOf(gameId)).socketsLeave(roomOf(gameId));
      log.info({ gameId, node: entry.node }, 'ended a game of a node that died');
    };

    /** Looks for nodes whose heartbeat lapsed; their games end and their queued players leave the queue. */
    const sweep = async (shared: RedisGameCluster) => {
      const [entries, queue] = await Promise.all([shared.entries(), shared.queue()]);
      const nodes = new Set([...entries.map((e) => e.node), ...queue.map((q) => q.player.node)]);
      nodes.delete(shared.nodeId);
      for (const node of nodes) {
        if (await shared.alive(node)) continue;
        await shared.forgetQueued(node);
        for (const entry of entries) {
          // One node wins the removal of each entry, and it alone ends the game.
          if (entry.node === node && (await shared.remove(entry))) await abortOrphan(entry);
        }
      }
    };
    if (cluster) {
      cluster.onReady(() => {
        for (const game of games.values()) {
          if (game.ending) continue;
          const people = game.seats.flatMap((s) => (s && !s.bot && !s.gone && s.userId !== null ? [s.userId] : []));
          cluster.restore(entryOf(game, cluster.nodeId), people).catch((err: unknown) => log.warn({ err, gameId: game.id }, 'could not publish a game again'));
        }
      });
      sweepTimer = setInterval(() => void sweep(cluster).catch((err: unknown) => log.warn({ err }, 'could not look for dead nodes\' games')), SWEEP_MS);
    }

    /** A seat in a game of this node for `userId`, which the caller has reserved across nodes already (if several). */
    const claimLocal = async (userId: string, game: Game) => {
      if (cluster && !(await cluster.claimSeat(userId, game.id))) throw conflict('already seated in a game: leave it first');
    };

    const joinLocal = async (code: string, userId: string, name: string) => {
      const waiting = byCode.get(code);
      if (!waiting) throw notFound('game');
      await ensureFree(userId);
      const rating = (await options.records.ratings(waiting.mode, [userId])).get(userId) ?? GameLimits.initialRating;
      await ensureFree(userId);
      const full = () => waiting.startedAt !== null || waiting.ending || waiting.seats.every(Boolean);
      if (full()) throw conflict('the game is full or has started');
      await claimLocal(userId, waiting);
      // Taken meanwhile by a player of another node.
      if (full() || seated.has(userId)) {
        await cluster?.releaseSeat(userId, waiting.id);
        throw conflict('the game is full or has started');
      }
      const seat = waiting.seats.findIndex((s) => s === undefined);
      seatPerson(waiting, seat, userId, name, rating);
      if (waiting.seats.every(Boolean)) {
        start(waiting);
      } else {
        publish(waiting);
        nsp.to(roomOf(waiting.id)).emit('game:state', stateOf(waiting));
      }
      return { gameId: waiting.id, seat };
    };

    /** A turn for `userId`'s cycle; `accept` runs once the caller is known to be seated (the seq check). */
    const inputLocal = (gameId: string, userId: string, turn: Turn, accept: () => void = () => undefined) => {
      const game = findGame(gameId);
      const seat = seatOf(game, userId);
      if (!seat) throw forbidden('only a seated player steers, and only its own cycle');
      accept();
      return { applied: game.startedAt !== null && game.sim.input(seat.seat, turn) };
    };

    const watchLocal = (gameId: string, userId: string, watcher: string) => {
      const game = findGame(gameId);
      if (!seatOf(game, userId) && !game.spectators.has(watcher)) {
        game.spectators.add(watcher);
        publish(game);
      }
      return { state: stateOf(game) };
    };

    /** `userId` (through `watcher`) leaves `gameId`: what it was in the game. */
    const leaveLocal = (gameId: string, userId: string, watcher: string): 'player' | 'spectator' => {
      const game = findGame(gameId);
      if (seatOf(game, userId)) {
        vacate(game, userId);
        return 'player';
      }
      if (!game.spectators.delete(watcher)) throw forbidden('not a player or a spectator of this game');
      publish(game);
      return 'spectator';
    };

    /** Answers another node's request about a game of this one. */
    const serveCall = async (call: GameCall): Promise<unknown> => {
      switch (call.op) {
        case 'join':
          return joinLocal(call.code, call.userId, call.name);
        case 'input':
          return inputLocal(call.gameId, call.userId, call.turn);
        case 'watch':
          return watchLocal(call.gameId, call.userId, call.watcher);
        case 'unwatch': {
          const game = games.get(call.gameId);
          if (game?.spectators.delete(call.watcher)) publish(game);
          return null;
        }
        case 'leave':
          return leaveLocal(call.gameId, call.userId, call.watcher);
        case 'returned': {
          const game = games.get(call.gameId);
          const seat = game && seatOf(game, call.userId);
          if (!game || !seat || game.ending) return null;
          clearTimeout(seat.hold);
          return stateOf(game);
        }
        case 'dropped': {
          const game = games.get(call.gameId);
          if (game && !game.ending) holdSeat(game, call.userId);
          return null;
        }
      }
    };
    void cluster?.serve(serveCall).catch((err: unknown) => log.error({ err }, 'could not listen for game requests from other nodes'));

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
          const entry = { userId, name: displayName, rating, mode, since: Date.now() };
          if (cluster) {
            if (!(await cluster.enqueue({ ...entry, node: cluster.nodeId }))) throw conflict('already seated in a game: leave it first');
          } else {
            matchmaker.enqueue(entry);
          }
          startMatches();
          return {};
        },
        'match:cancel': async (_input, socket) => {
          matchmaker.cancel(socket.data.userId);
          await cluster?.cancel(socket.data.userId);
          return {};
        },
        'game:create': async ({ mode, bots = 0, invite = [] }, socket) => {
          const { userId, displayName } = socket.data;
          if (bots > GameLimits.seats[mode] - 1) throw invalid(`a ${mode} game has room for ${GameLimits.seats[mode] - 1} bots at most`);
          await ensureFree(userId);
          const gameId = newId();
          if (cluster && !(await cluster.claimSeat(userId, gameId))) throw conflict('already seated in a game: leave it first');
          let code = newCode();
          try {
            const rating = (await options.records.ratings(mode, [userId])).get(userId) ?? GameLimits.initialRating;
            const key = await newKey();
            await ensureFree(userId);
            while (byCode.has(code) || (cluster && !(await cluster.claimCode(code, gameId)))) code = newCode();
            const game = addGame(mode, code, key, gameId);
            seatPerson(game, 0, userId, displayName, rating);
            fillWithBots(game, bots);
            if (game.seats.every(Boolean)) {
              start(game);
            } else {
              publish(game);
              nsp.to(channel.user(userId)).emit('game:state', stateOf(game));
            }
          } catch (err) {
            if (!games.has(gameId)) await cluster?.releaseSeat(userId, gameId);
            throw err;
          }
          const invited = invite.filter((id) => id !== userId);
          if (invited.length > 0) {
            // The game exists whatever happens to the notifications: a failure is logged, not answered.
            services.notifications
              .notifyUsers(invited, {
                kind: 'game',
                title: `${displayName} invited you to a ${mode} game`,
                body: `Join with the code ${code}`,
                data: { gameId, code, mode },
              })
              .catch((err: unknown) => log.error({ err, gameId }, 'could not notify the players invited to a game'));
          }
          return { gameId, code };
        },
        'game:join': async ({ code }, socket) => {
          const { userId, displayName } = socket.data;
          if (!cluster || byCode.has(code)) return joinLocal(code, userId, displayName);
          const gameId = await cluster.gameOfCode(code);
          if (gameId === null) throw notFound('game');
          return remote<{ gameId: string; seat: number }>(gameId, { op: 'join', code, userId, name: displayName });
        },
        'game:input': async ({ gameId, seq, turn }, socket) => {
          const { userId } = socket.data;
          const accept = () => {
            if (seq <= (lastSeq.get(socket) ?? -1)) throw invalid('seq must increase with every input');
            lastSeq.set(socket, seq);
          };
          if (games.has(gameId) || !cluster) return inputLocal(gameId, userId, turn, accept);
          // Another node's game: whether the caller is seated is for that node to say.
          if ((await ownerOf(gameId)) === undefined) throw notFound('game');
          accept();
          return remote<{ applied: boolean }>(gameId, { op: 'input', gameId, userId, turn });
        },
        'game:watch': async ({ gameId }, socket) => {
          const { userId } = socket.data;
          if (games.has(gameId) || !cluster) {
            const answer = watchLocal(gameId, userId, socket.id);
            await socket.join(roomOf(gameId));
            return answer;
          }
          const answer = await remote<{ state: GameState }>(gameId, { op: 'watch', gameId, userId, watcher: socket.id });
          await socket.join(roomOf(gameId));
          if (!answer.state.players.some((p) => p.userId === userId)) {
            const watched = watching.get(socket.id) ?? new Set<string>();
            watching.set(socket.id, watched.add(gameId));
          }
          return answer;
        },
        'game:leave': async ({ gameId }, socket) => {
          const { userId } = socket.data;
          const local = games.has(gameId) || !cluster;
          const role = local ? leaveLocal(gameId, userId, socket.id) : await remote<'player' | 'spectator'>(gameId, { op: 'leave', gameId, userId, watcher: socket.id });
          if (role === 'spectator') {
            watching.get(socket.id)?.delete(gameId);
            await socket.leave(roomOf(gameId));
          }
          return {};
        },
        'game:ticks': async ({ mode }, socket) => {
          await socket.leave(mode === 'compact' ? TICKS_FULL : TICKS_COMPACT);
          await socket.join(mode === 'compact' ? TICKS_COMPACT : TICKS_FULL);
          return {};
        },
        'game:list': async () => {
          if (cluster) {
            const entries = await cluster.entries();
            return {
              games: entries.flatMap(({ gameId, mode, players, spectators, round, startedAt }): LiveGame[] =>
                startedAt === null ? [] : [{ gameId, mode, players: players.map(({ seat, userId, name, bot }) => ({ seat, userId, name, bot })), spectators, round, startedAt }],
              ),
            };
          }
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

    /** A player seated in another node's game connected here: the seat's hold ends and it gets `game:state`. */
    const returnTo = async (shared: RedisGameCluster, socket: GameSocket) => {
      const { userId } = socket.data;
      const gameId = await shared.seatOf(userId);
      if (gameId === null || games.has(gameId)) return;
      const state = await remote<GameState | null>(gameId, { op: 'returned', gameId, userId });
      if (!state || socket.disconnected) return;
      await socket.join(roomOf(gameId));
      socket.emit('game:state', state);
    };

    /** A player's last socket on this node went: its queue entry goes, and its game's node holds the seat. */
    const leftFrom = async (shared: RedisGameCluster, userId: string) => {
      await shared.cancel(userId, shared.nodeId);
      const gameId = await shared.seatOf(userId);
      if (gameId !== null && !games.has(gameId)) await remote(gameId, { op: 'dropped', gameId, userId });
    };

    nsp.on('connection', (socket: GameSocket) => {
      const { userId } = socket.data;
      bindSession(socket);
      socketsOf.set(userId, (socketsOf.get(userId) ?? 0) + 1);
      void socket.join(TICKS_FULL);
      const place = seated.get(userId);
      if (place) {
        clearTimeout(place.game.seats[place.seat]?.hold);
        void socket.join(roomOf(place.game.id));
        socket.emit('game:state', stateOf(place.game));
      } else if (cluster) {
        void returnTo(cluster, socket).catch((err: unknown) => log.warn({ err }, 'could not bring a player back to its game on another node'));
      }
      socket.on('disconnect', () => {
        const left = (socketsOf.get(userId) ?? 1) - 1;
        if (left > 0) socketsOf.set(userId, left);
        else socketsOf.delete(userId);
        for (const game of games.values()) if (game.spectators.delete(socket.id)) publish(game);
        for (const gameId of watching.get(socket.id) ?? []) {
          remote(gameId, { op: 'unwatch', gameId, watcher: socket.id }).catch((err: unknown) => log.debug({ err, gameId }, 'could not stop watching a game'));
        }
        watching.delete(socket.id);
        if (left > 0) return;
        matchmaker.cancel(userId);
        const now = seated.get(userId);
        if (now) holdSeat(now.game, userId);
        else if (cluster) void leftFrom(cluster, userId).catch((err: unknown) => log.warn({ err }, 'could not tell a game\'s node that its player dropped'));
      });
      attach(socket);
    });

    closeGames = () => {
      clearImmediate(passTimer);
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
      clearInterval(sweepTimer);
      closeGames();
      ticker?.stop();
      void cluster?.close();
    },
  };
}
