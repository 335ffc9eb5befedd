/**
 * The game (PROTOCOL §6): Light Cycles on `/game` — objects, limits, request schemas and event
 * maps. The server is authoritative; clients send turns and render ticks.
 */
import { z } from 'zod';
import type { Ack } from './errors.js';
import type { CompactTick } from './game-ticks.js';
import { Id } from './schemas.js';

export const GameMode = z.enum(['duel', 'quad']);
export type GameMode = z.infer<typeof GameMode>;
export type Direction = 'up' | 'down' | 'left' | 'right';
export type Turn = 'left' | 'right';
export type GamePhase = 'waiting' | 'countdown' | 'running' | 'between-rounds' | 'over';
export type GameOverReason = 'finished' | 'forfeit' | 'aborted';

export const GameLimits = {
  /** Ticks a second. */
  tickHz: 20,
  /** Seats per mode. */
  seats: { duel: 2, quad: 4 },
  /** Rounds to win a game (best of 3). */
  roundsToWin: 2,
  /** Inputs a player may have applied per second; more are answered `applied: false`. */
  inputsPerSecond: 10,
  /** Ticks of countdown before a round runs (3 s). */
  countdownTicks: 60,
  /** Ticks between a round's end and the next countdown (2 s). */
  betweenRoundsTicks: 40,
  /** Seconds a dropped player keeps the seat (GAME_SEAT_HOLD_S may lower it). */
  seatHoldSeconds: 10,
  /** Private game codes: this many characters of `codeAlphabet`. */
  codeLength: 6,
  codeAlphabet: 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789',
  /** Elo: everyone starts here. */
  initialRating: 1200,
  /** `GET /api/leaderboard`: entries in one answer. */
  leaderboardMax: 100,
  /** `GET /api/users/:id/games`: games in one answer. */
  historyMax: 50,
} as const;

export interface GamePlayer {
  seat: number;
  /** Null for a bot. */
  userId: string | null;
  name: string;
  bot: boolean;
  rating: number;
}
export interface Cycle {
  seat: number;
  x: number;
  y: number;
  dir: Direction;
  alive: boolean;
}
export interface Trail {
  seat: number;
  cells: [number, number][];
}
export interface GameState {
  gameId: string;
  mode: GameMode;
  tick: number;
  round: number;
  width: number;
  height: number;
  players: GamePlayer[];
  cycles: Cycle[];
  trails: Trail[];
  scores: Record<number, number>;
  phase: GamePhase;
  /**
   * Extension (docs/protocol.md §8, compact ticks): the number that stands for this game in the
   * compact tick stream, unique among the live games of the deployment.
   */
  key: number;
}
export interface GameTick {
  gameId: string;
  tick: number;
  phase: GamePhase;
  cycles: Cycle[];
}
export interface GameRoundEvent {
  gameId: string;
  round: number;
  winnerSeat: number | null;
  scores: Record<number, number>;
}
export interface RatingChange {
  userId: string;
  before: number;
  after: number;
}
export interface GameOverEvent {
  gameId: string;
  winnerSeat: number | null;
  scores: Record<number, number>;
  ratings: RatingChange[];
  reason: GameOverReason;
}
export interface MatchFoundEvent {
  gameId: string;
  seat: number;
  players: GamePlayer[];
}
export interface LiveGame {
  gameId: string;
  mode: GameMode;
  players: { seat: number; userId: string | null; name: string; bot: boolean }[];
  spectators: number;
  round: number;
  startedAt: number;
}
export interface LeaderboardEntry {
  userId: string;
  username: string;
  rating: number;
  games: number;
  wins: number;
}
export interface GameRecord {
  gameId: string;
  mode: GameMode;
  finishedAt: number;
  winnerSeat: number | null;
  reason: GameOverReason;
  players: { seat: number; userId: string | null; name: string; bot: boolean }[];
}

export const MatchQueueInput = z.object({ mode: GameMode });
export const MatchCancelInput = z.object({}).optional();
export const GameCreateInput = z.object({
  mode: GameMode,
  bots: z.number().int().min(0).max(GameLimits.seats.quad - 1).optional(),
  /** Users to notify (a `game` notification with the code); unknown ids are ignored. */
  invite: z.array(Id).max(GameLimits.seats.quad - 1).optional(),
});
export const GameCode = z
  .string()
  .length(GameLimits.codeLength)
  .transform((s) => s.toUpperCase());
export const GameJoinInput = z.object({ code: GameCode });
export const GameInputInput = z.object({
  gameId: Id,
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  turn: z.enum(['left', 'right']),
});
export const GameIdInput = z.object({ gameId: Id });
export const GameListInput = z.object({}).optional();
/** Extension: which tick stream this socket gets, `game:tick` ("full", the default) or `t` ("compact"). */
export const GameTicksInput = z.object({ mode: z.enum(['full', 'compact']) });

export const LeaderboardQuery = z.object({ mode: GameMode.default('duel') });
export const UserGamesParams = z.object({ id: Id });

export type MatchQueueInput = z.input<typeof MatchQueueInput>;
export type GameCreateInput = z.input<typeof GameCreateInput>;
export type GameJoinInput = z.input<typeof GameJoinInput>;
export type GameInputInput = z.input<typeof GameInputInput>;
export type GameIdInput = z.input<typeof GameIdInput>;
export type GameTicksInput = z.input<typeof GameTicksInput>;

/** `/game` requests (events.ts adds the ones every namespace shares). */
export interface GameRequests {
  'match:queue': (payload: MatchQueueInput, ack: Ack) => void;
  'match:cancel': (payload: Record<string, never>, ack: Ack) => void;
  'game:create': (payload: GameCreateInput, ack: Ack<{ gameId: string; code: string }>) => void;
  'game:join': (payload: GameJoinInput, ack: Ack<{ gameId: string; seat: number }>) => void;
  'game:input': (payload: GameInputInput, ack?: Ack<{ applied: boolean }>) => void;
  'game:watch': (payload: GameIdInput, ack: Ack<{ state: GameState }>) => void;
  'game:leave': (payload: GameIdInput, ack: Ack) => void;
  'game:list': (payload: Record<string, never>, ack: Ack<{ games: LiveGame[] }>) => void;
  /** Extension: switches this socket between `game:tick` and the compact `t` stream (game-ticks.ts). */
  'game:ticks': (payload: GameTicksInput, ack: Ack) => void;
}
/** `/game` events from the server. */
export interface GameEvents {
  'match:found': (event: MatchFoundEvent) => void;
  'game:state': (state: GameState) => void;
  'game:tick': (tick: GameTick) => void;
  /** Extension: a compact tick, to sockets that asked for them with `game:ticks` (game-ticks.ts). */
  t: (tick: CompactTick) => void;
  'game:round': (event: GameRoundEvent) => void;
  'game:over': (event: GameOverEvent) => void;
}
