/**
 * `client.game`: Light Cycles (PROTOCOL §6) — matchmaking, private games by code, steering,
 * watching, the live games, and over HTTP the leaderboard and a user's finished games.
 *
 * `/game` is opened on `open()` or the first request, never before, so a client that never plays
 * carries nothing for it; `close()` disconnects it (a seated player's seat is then held for a few
 * seconds, then forfeited). Through reconnects it stays open: a seated player's socket gets
 * `state` again by itself, while a spectator watches again on `connected`.
 */
import {
  ErrorCode,
  type GameClientToServer,
  type GameCreateInput,
  type GameMode,
  type GameOverEvent,
  type GameRecord,
  type GameRoundEvent,
  type GameState,
  type GameTick,
  type LeaderboardEntry,
  type LiveGame,
  type MatchFoundEvent,
  type Turn,
} from '@switchboard/protocol';
import type { AnswerOf, Connection, GameChannel, PayloadOf } from './connection.js';
import { Emitter } from './emitter.js';
import { SwitchboardError } from './errors.js';
import { authorizedCall } from './http.js';
import type { TokenSource } from './tokens.js';

export interface GameApiEvents {
  /** A queued player was seated in a game (`state` follows). */
  matchFound: (event: MatchFoundEvent) => void;
  /** The whole state of a game: on being seated, when it starts, and after a reconnect. */
  state: (state: GameState) => void;
  /** One step of a game played or watched, 20 a second. */
  tick: (tick: GameTick) => void;
  round: (event: GameRoundEvent) => void;
  over: (event: GameOverEvent) => void;
  /** `/game` connected (the first time or again): a spectator watches again now. */
  connected: () => void;
  /** `/game` lost its connection; it comes back by itself unless closed. */
  disconnected: () => void;
}

const closedError = () => new SwitchboardError(ErrorCode.UNAVAILABLE, 'client closed', { local: true });
const enc = encodeURIComponent;

export class GameApi extends Emitter<GameApiEvents> {
  private channel: GameChannel | undefined;
  /** `game:input` must carry an increasing `seq` per connection: this one only grows. */
  private seq = 0;

  constructor(
    private readonly conn: Connection,
    private readonly server: () => string,
    private readonly tokens: TokenSource,
  ) {
    super();
  }

  /** Whether `/game` is connected now. */
  get connected(): boolean {
    return this.channel?.socket.connected ?? false;
  }

  /** Connects `/game` (kept connected through reconnects until `close()`). */
  open(): void {
    if (!this.conn.isClosed) this.start();
  }

  /** Disconnects `/game`. */
  close(): void {
    this.conn.closeGame();
  }

  /** Waits for a game of 2 (`duel`) or 4 (`quad`) players; `matchFound` tells when seated. */
  async queue(mode: GameMode): Promise<void> {
    await this.request('match:queue', { mode });
  }

  /** Leaves the queue (also fine when not queued). */
  async cancel(): Promise<void> {
    await this.request('match:cancel', {});
  }

  /** A private game with the caller in seat 0; share `code` so others can `join` it. */
  async create(input: GameCreateInput): Promise<{ gameId: string; code: string }> {
    const { gameId, code } = await this.request('game:create', input);
    return { gameId, code };
  }

  /** Takes the next free seat of a private game (`NOT_FOUND`: no such code; `CONFLICT`: full or started). */
  async join(code: string): Promise<{ gameId: string; seat: number }> {
    const { gameId, seat } = await this.request('game:join', { code });
    return { gameId, seat };
  }

  /** Turns the caller's cycle at the next running tick; `false`: ignored (too many, or not running). */
  async turn(gameId: string, turn: Turn): Promise<boolean> {
    return (await this.request('game:input', { gameId, seq: ++this.seq, turn })).applied;
  }

  /** Watches a running game: its state now, then `tick`, `round` and `over` like its players. */
  async watch(gameId: string): Promise<GameState> {
    return (await this.request('game:watch', { gameId })).state;
  }

  /** A player forfeits (or frees its seat in a waiting game); a spectator stops watching. */
  async leave(gameId: string): Promise<void> {
    await this.request('game:leave', { gameId });
  }

  /** The games being played now, on every node. */
  async list(): Promise<LiveGame[]> {
    return (await this.request('game:list', {})).games;
  }

  /** A mode's best ratings, best first. */
  async leaderboard(mode: GameMode = 'duel'): Promise<LeaderboardEntry[]> {
    return (await authorizedCall<{ entries: LeaderboardEntry[] }>(this.server(), this.tokens, 'GET', `/api/leaderboard?mode=${enc(mode)}`)).entries;
  }

  /** A user's finished games, newest first. */
  async history(userId: string): Promise<GameRecord[]> {
    return (await authorizedCall<{ games: GameRecord[] }>(this.server(), this.tokens, 'GET', `/api/users/${enc(userId)}/games`)).games;
  }

  /** Connects `/game`, wiring its events the first time. */
  private start(): GameChannel {
    const fresh = this.channel === undefined;
    const channel = this.conn.openGame();
    this.channel = channel;
    if (!fresh) return channel;
    const { socket } = channel;
    socket.on('match:found', (event) => this.emit('matchFound', event));
    socket.on('game:state', (state) => this.emit('state', state));
    socket.on('game:tick', (tick) => this.emit('tick', tick));
    socket.on('game:round', (event) => this.emit('round', event));
    socket.on('game:over', (event) => this.emit('over', event));
    socket.on('connect', () => this.emit('connected'));
    socket.on('disconnect', () => this.emit('disconnected'));
    return channel;
  }

  private async request<E extends keyof GameClientToServer & string>(
    event: E,
    payload: PayloadOf<GameClientToServer[E]>,
  ): Promise<AnswerOf<GameClientToServer[E]>> {
    if (this.conn.isClosed) throw closedError();
    return this.start().requests.send(event, payload);
  }
}
