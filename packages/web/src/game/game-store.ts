/**
 * The Games page's state, outside React like the other stores: `client.game` opened while the page
 * is shown, the lobby (queue, live games refreshed every few seconds, leaderboard, the user's recent
 * games) and the game played or watched. The server sends the whole state once and then only the
 * cycles of each tick, so the trails are grown here: each tick appends every riding cycle's new cell,
 * and a countdown (a new round, new spawn points) starts them again; `game:state` after a reconnect
 * replaces everything.
 */
import { ErrorCode, SwitchboardError } from '@switchboard/client';
import type {
  Cycle,
  Direction,
  GameMode,
  GameOverEvent,
  GamePhase,
  GamePlayer,
  GameRecord,
  GameRoundEvent,
  GameState,
  GameTick,
  LeaderboardEntry,
  LiveGame,
  SwitchboardClient,
  Turn,
} from '@switchboard/client';
import { describeError } from '../errors.js';
import { NO_PREDICTION, predictTurn, reconcile, rejectTurn, shownDirection, turnToward, type Prediction } from './motion.js';

/** What the canvas draws: the game's state with the trails grown from its ticks. */
export interface Board {
  mode: GameMode;
  width: number;
  height: number;
  tick: number;
  round: number;
  phase: GamePhase;
  players: GamePlayer[];
  cycles: Cycle[];
  /** Per seat, the cells of its trail this round, oldest first (grown in place: read, never keep). */
  trails: [number, number][][];
  scores: Record<number, number>;
  /** The cycles of the tick before, to draw each head on its way between the two. */
  before: Cycle[];
  /** When this tick arrived (`performance.now()`), ms. */
  receivedAt: number;
}

/** The game on screen. */
export interface Play {
  gameId: string;
  role: 'player' | 'spectator';
  /** The user's seat (players). */
  seat: number | undefined;
  /** The private game's code, to share while seats are free. */
  code: string | undefined;
  /** Undefined until the game's state arrives. */
  board: Board | undefined;
  lastRound: GameRoundEvent | undefined;
  over: GameOverEvent | undefined;
  /** From the live games list, refreshed every few seconds. */
  spectators: number;
}

export interface GamesState {
  connected: boolean;
  /** The quick match mode waited for, if queued. */
  queued: GameMode | undefined;
  /** When the user started waiting (`Date.now()`), kept across reconnects. */
  queuedSince: number | undefined;
  play: Play | undefined;
  live: LiveGame[] | undefined;
  leaderboardMode: GameMode;
  leaderboard: LeaderboardEntry[] | undefined;
  history: GameRecord[] | undefined;
  busy: boolean;
  error: string | undefined;
}

/** How often the live games (and so a game's spectator count) are fetched again, ms. */
const REFRESH_MS = 2500;

function boardOf(state: GameState): Board {
  const trails: [number, number][][] = [];
  for (const t of state.trails) trails[t.seat] = t.cells.map(([x, y]) => [x, y]);
  for (const p of state.players) trails[p.seat] ??= [];
  const { mode, width, height, tick, round, phase, players, cycles, scores } = state;
  return { mode, width, height, tick, round, phase, players, cycles, trails, scores, before: cycles, receivedAt: performance.now() };
}

export class GameStore {
  private current: GamesState = {
    connected: false,
    queued: undefined,
    queuedSince: undefined,
    play: undefined,
    live: undefined,
    leaderboardMode: 'duel',
    leaderboard: undefined,
    history: undefined,
    busy: false,
    error: undefined,
  };
  private readonly listeners = new Set<() => void>();
  private stops: (() => void)[] = [];
  /**
   * Where the user's cycle will head once the turns sent are applied: drawn at once, and so a key
   * names a direction on screen (ArrowUp: up) whatever the cycle's heading.
   */
  private prediction: Prediction = NO_PREDICTION;

  constructor(
    private readonly client: SwitchboardClient,
    private readonly me: string,
  ) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): GamesState => this.current;

  /** Opens `/game` and loads the lobby; `stop()` closes it. */
  start(): void {
    const { game } = this.client;
    const timer = setInterval(() => this.refreshLive(), REFRESH_MS);
    this.stops = [
      game.on('connected', () => this.onConnected()),
      game.on('disconnected', () => this.set({ connected: false })),
      game.on('matchFound', (m) => this.enter(m.gameId, 'player', { seat: m.seat })),
      game.on('state', (s) => this.onState(s)),
      game.on('tick', (t) => this.onTick(t)),
      game.on('round', (r) => this.onRound(r)),
      game.on('over', (o) => this.onOver(o)),
      () => clearInterval(timer),
    ];
    game.open();
    this.set({ connected: game.connected });
    this.refreshLive();
    this.refreshHistory();
    this.showLeaderboard(this.current.leaderboardMode);
  }

  stop(): void {
    for (const stop of this.stops) stop();
    this.stops = [];
    this.client.game.close();
  }

  /** Waits for a quick match; `match:found` then opens the game. */
  queue(mode: GameMode): Promise<void> {
    return this.act(async () => {
      await this.client.game.queue(mode);
      // A match can be found before the answer arrives.
      if (!this.current.play) this.set({ queued: mode, queuedSince: Date.now() });
    });
  }

  cancelQueue(): Promise<void> {
    return this.act(async () => {
      await this.client.game.cancel();
      this.set({ queued: undefined, queuedSince: undefined });
    });
  }

  /**
   * A private game: the user in seat 0, `bots` seats filled at once, its code shown to share; the
   * people in `invite` are notified with its code.
   */
  create(mode: GameMode, bots: number, invite: string[] = []): Promise<void> {
    return this.act(async () => {
      const { gameId, code } = await this.client.game.create({ mode, bots, ...(invite.length > 0 ? { invite } : {}) });
      this.enter(gameId, 'player', { seat: 0, code });
    });
  }

  join(code: string): Promise<void> {
    return this.act(async () => {
      const { gameId, seat } = await this.client.game.join(code);
      this.enter(gameId, 'player', { seat, code: code.toUpperCase() });
    }, 'That game is full or has started, or you are already in a game.');
  }

  watch(gameId: string): Promise<void> {
    return this.act(async () => {
      const state = await this.client.game.watch(gameId);
      this.enter(gameId, 'spectator', {});
      this.onState(state);
    });
  }

  /** Forfeits (or frees a waiting game's seat), or stops watching; then the lobby again. */
  leave(): Promise<void> {
    const play = this.current.play;
    if (!play) return Promise.resolve();
    return this.act(async () => {
      try {
        await this.client.game.leave(play.gameId);
      } catch (err) {
        // Already gone, or the seat already forfeited (the connection was down too long): there is
        // nothing left to leave.
        if (!(err instanceof SwitchboardError) || (err.code !== ErrorCode.NOT_FOUND && err.code !== ErrorCode.FORBIDDEN)) throw err;
      }
      this.backToLobby();
    });
  }

  backToLobby(): void {
    this.set({ play: undefined });
    this.refreshLive();
    this.refreshHistory();
    this.showLeaderboard(this.current.leaderboardMode);
  }

  /** Turns the user's cycle to its left or right, if it is riding. */
  turn(turn: Turn): void {
    const play = this.current.play;
    const mine = play?.board?.cycles.find((c) => c.seat === play.seat);
    if (!play || play.role !== 'player' || play.board?.phase !== 'running' || !mine?.alive) return;
    this.prediction = predictTurn(this.prediction, mine.dir, turn);
    const gameId = play.gameId;
    const refused = () => {
      if (this.current.play?.gameId === gameId) this.prediction = rejectTurn(this.prediction);
    };
    this.client.game.turn(gameId, turn).then((applied) => {
      if (!applied) refused();
    }, refused);
  }

  /** Where the user's cycle is drawn heading: its pending turns applied. */
  shownHeading(serverDir: Direction): Direction {
    return shownDirection(this.prediction, serverDir);
  }

  /** Heads the user's cycle towards a direction on screen (a key), when that is a turn away. */
  steer(toward: Direction): void {
    const play = this.current.play;
    const mine = play?.board?.cycles.find((c) => c.seat === play.seat);
    if (!mine) return;
    const turn = turnToward(shownDirection(this.prediction, mine.dir), toward);
    if (turn) this.turn(turn);
  }

  showLeaderboard(mode: GameMode): void {
    this.set({ leaderboardMode: mode, leaderboard: mode === this.current.leaderboardMode ? this.current.leaderboard : undefined });
    this.client.game.leaderboard(mode).then(
      (entries) => {
        if (this.current.leaderboardMode === mode) this.set({ leaderboard: entries });
      },
      (err: unknown) => this.set({ error: describeError(err) }),
    );
  }

  refreshLive(): void {
    this.client.game.list().then(
      (live) => {
        const play = this.current.play;
        const mine = play && live.find((g) => g.gameId === play.gameId);
        this.set({ live, ...(play && mine ? { play: { ...play, spectators: mine.spectators } } : {}) });
      },
      () => undefined, // kept as it was; the next round asks again
    );
  }

  private refreshHistory(): void {
    this.client.game.history(this.me).then(
      (history) => this.set({ history }),
      () => undefined,
    );
  }

  private onConnected(): void {
    this.set({ connected: true });
    // The server takes a player whose connection dropped out of the queue: back in it.
    const { queued } = this.current;
    if (queued) {
      this.client.game.queue(queued).catch(() => {
        if (this.current.queued === queued) this.set({ queued: undefined, queuedSince: undefined });
      });
    }
    const play = this.current.play;
    // A seated player gets the state by itself; a spectator asks again.
    if (play?.role === 'spectator' && !play.over) {
      this.client.game.watch(play.gameId).then(
        (state) => this.onState(state),
        () => {
          this.backToLobby();
          this.set({ error: 'The game you were watching ended while the connection was down.' });
        },
      );
    }
  }

  private enter(gameId: string, role: Play['role'], extra: { seat?: number; code?: string }): void {
    const play = this.current.play;
    if (play?.gameId === gameId && !play.over) {
      this.set({ queued: undefined, queuedSince: undefined, play: { ...play, role, seat: extra.seat ?? play.seat, code: extra.code ?? play.code } });
      return;
    }
    this.prediction = NO_PREDICTION;
    this.set({
      queued: undefined,
      queuedSince: undefined,
      play: { gameId, role, seat: extra.seat, code: extra.code, board: undefined, lastRound: undefined, over: undefined, spectators: 0 },
    });
  }

  private onState(state: GameState): void {
    const play = this.current.play;
    if (play?.gameId !== state.gameId || play.over) {
      // Only a seated player is sent a state unasked: the game it was created, matched or joined into.
      const seat = state.players.find((p) => p.userId === this.me)?.seat;
      this.enter(state.gameId, 'player', { seat });
    }
    const now = this.current.play as Play;
    this.prediction = NO_PREDICTION;
    const seat = now.role === 'player' ? (state.players.find((p) => p.userId === this.me)?.seat ?? now.seat) : undefined;
    this.set({ play: { ...now, seat, board: boardOf(state) } });
  }

  private onTick(tick: GameTick): void {
    const play = this.current.play;
    const board = play?.board;
    if (!play || !board || play.gameId !== tick.gameId || tick.tick <= board.tick) return;
    const { trails } = board;
    if (tick.phase === 'countdown') {
      // A new round: new spawn points, fresh trails.
      for (const c of tick.cycles) trails[c.seat] = c.alive ? [[c.x, c.y]] : [];
    } else {
      for (const c of tick.cycles) {
        const trail = (trails[c.seat] ??= []);
        const last = trail.at(-1);
        if (c.alive && (!last || last[0] !== c.x || last[1] !== c.y)) trail.push([c.x, c.y]);
      }
    }
    const mine = tick.cycles.find((c) => c.seat === play.seat);
    if (mine) this.prediction = reconcile(this.prediction, board.cycles.find((c) => c.seat === play.seat)?.dir, mine.dir, tick.phase);
    const round = tick.phase === 'countdown' && board.phase === 'between-rounds' ? board.round + 1 : board.round;
    // Ticks skipped (a missed one, a new round) leave nothing to move between.
    const before = tick.tick === board.tick + 1 && tick.phase === 'running' ? board.cycles : tick.cycles;
    this.set({
      play: { ...play, board: { ...board, tick: tick.tick, phase: tick.phase, cycles: tick.cycles, round, before, receivedAt: performance.now() } },
    });
  }

  private onRound(event: GameRoundEvent): void {
    const play = this.current.play;
    if (!play || play.gameId !== event.gameId) return;
    this.set({ play: { ...play, lastRound: event, board: play.board && { ...play.board, scores: event.scores } } });
  }

  private onOver(event: GameOverEvent): void {
    const play = this.current.play;
    if (!play || play.gameId !== event.gameId) {
      this.refreshHistory();
      return;
    }
    this.set({ play: { ...play, over: event, board: play.board && { ...play.board, phase: 'over', scores: event.scores } } });
    this.refreshLive();
    this.refreshHistory();
    this.showLeaderboard(this.current.leaderboardMode);
  }

  /** Runs a lobby action: one at a time, its failure shown. */
  private async act(action: () => Promise<void>, conflict = 'You are already in a game: leave it first.'): Promise<void> {
    this.set({ busy: true, error: undefined });
    try {
      await action();
    } catch (err) {
      this.set({ error: describeError(err, conflict) });
    } finally {
      this.set({ busy: false });
    }
  }

  private set(patch: Partial<GamesState>): void {
    this.current = { ...this.current, ...patch };
    for (const listener of [...this.listeners]) listener();
  }
}
