/**
 * The Light Cycles simulation (PROTOCOL §6): pure and deterministic — no I/O, no clock, one seeded
 * PRNG — and stepped once per tick by whoever owns the game. The same seed and the same inputs at
 * the same ticks give the same game, which is what lets the tests replay it.
 *
 * Rules: each cycle moves one cell per running tick and leaves a trail; entering a trail, a wall
 * or the cell another cycle enters eliminates it; the last one riding wins the round; all
 * eliminated in the same tick is a draw. First to win 2 rounds wins (a draw scores nothing; after
 * `maxRounds` the leader wins, or nobody).
 */
import { GameLimits, type Cycle, type Direction, type GameMode, type GamePhase, type Trail, type Turn } from '@switchboard/protocol';

export interface SimulationOptions {
  mode: GameMode;
  seed: number;
  /** Ticks of countdown before each round. */
  countdownTicks?: number;
  /** Ticks between a round's end and the next countdown. */
  betweenRoundsTicks?: number;
}

/** What one tick brought besides movement. */
export interface StepResult {
  /** A round ended in this tick: its winner, or null for a draw. */
  roundEnded?: { round: number; winnerSeat: number | null };
  /** The game ended in this tick. */
  over?: { winnerSeat: number | null; reason: 'finished' | 'forfeit' };
}

/** Grid sizes per mode. */
export const GRID = { duel: { width: 40, height: 30 }, quad: { width: 48, height: 48 } } as const;
/** A game with only draws ends after this many rounds. */
export const MAX_ROUNDS = 5;

const DELTA: Record<Direction, [number, number]> = { up: [0, -1], down: [0, 1], left: [-1, 0], right: [1, 0] };
const CLOCKWISE: Direction[] = ['up', 'right', 'down', 'left'];

export function turned(dir: Direction, turn: Turn): Direction {
  const i = CLOCKWISE.indexOf(dir);
  return CLOCKWISE[(i + (turn === 'right' ? 1 : 3)) % 4] as Direction;
}

export function ahead(x: number, y: number, dir: Direction): [number, number] {
  const [dx, dy] = DELTA[dir];
  return [x + dx, y + dy];
}

/** mulberry32: small, fast and good enough to shuffle spawn points. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Spawn points as fractions of the grid, facing away from the nearest wall. */
function spawnPoints(mode: GameMode, width: number, height: number): { x: number; y: number; dir: Direction }[] {
  const at = (fx: number, fy: number, dir: Direction) => ({ x: Math.floor(width * fx), y: Math.floor(height * fy), dir });
  return mode === 'duel'
    ? [at(0.25, 1 / 3, 'right'), at(0.75, 2 / 3, 'left')]
    : [at(0.25, 0.25, 'right'), at(0.75, 0.75, 'left'), at(0.75, 0.25, 'down'), at(0.25, 0.75, 'up')];
}

export class Simulation {
  readonly mode: GameMode;
  readonly width: number;
  readonly height: number;
  readonly seats: number;
  tick = 0;
  round = 0;
  phase: GamePhase = 'countdown';
  readonly scores: Record<number, number> = {};
  private cycles: Cycle[] = [];
  private trails: [number, number][][] = [];
  /** Occupied cells (y * width + x) of this round. */
  private occupied = new Set<number>();
  /** Turns waiting for the next running tick, per seat: one is applied per tick. */
  private pending: Turn[][] = [];
  /** Ticks at which each seat's counted inputs arrived, for the per-second limit. */
  private inputTicks: number[][] = [];
  /** Seats that left the game: they ride no more rounds. */
  private readonly out = new Set<number>();
  private phaseTicksLeft: number;
  private readonly random: () => number;
  private readonly countdownTicks: number;
  private readonly betweenRoundsTicks: number;

  constructor(options: SimulationOptions) {
    this.mode = options.mode;
    this.width = GRID[options.mode].width;
    this.height = GRID[options.mode].height;
    this.seats = GameLimits.seats[options.mode];
    this.random = prng(options.seed);
    this.countdownTicks = Math.max(1, options.countdownTicks ?? GameLimits.countdownTicks);
    this.betweenRoundsTicks = Math.max(1, options.betweenRoundsTicks ?? GameLimits.betweenRoundsTicks);
    for (let seat = 0; seat < this.seats; seat++) this.scores[seat] = 0;
    this.phaseTicksLeft = this.countdownTicks;
    this.startRound();
  }

  /** The cycles as they are now (copies). */
  cycleStates(): Cycle[] {
    return this.cycles.map((c) => ({ ...c }));
  }

  trailStates(): Trail[] {
    return this.trails.map((cells, seat) => ({ seat, cells: cells.map(([x, y]) => [x, y] as [number, number]) }));
  }

  /** Whether a cell is a wall or a trail. */
  blocked(x: number, y: number): boolean {
    return x < 0 || y < 0 || x >= this.width || y >= this.height || this.occupied.has(y * this.width + x);
  }

  cycle(seat: number): Cycle | undefined {
    return this.cycles[seat];
  }

  /**
   * A turn of `seat`'s cycle, applied at a following running tick (one per tick, in order, so two
   * quick turns never reverse a cycle within one tick). Counts against the seat's 10 inputs a
   * second; returns false when it is not applied: over the limit, not running, or out.
   */
  input(seat: number, turn: Turn): boolean {
    const cycle = this.cycles[seat];
    if (this.phase !== 'running' || !cycle?.alive) return false;
    const window = this.inputTicks[seat] as number[];
    while (window.length > 0 && (window[0] as number) <= this.tick - GameLimits.tickHz) window.shift();
    if (window.length >= GameLimits.inputsPerSecond) return false;
    window.push(this.tick);
    (this.pending[seat] as Turn[]).push(turn);
    return true;
  }

  /** `seat` leaves the game: its cycle is eliminated and it rides no more rounds. */
  forfeit(seat: number): StepResult {
    if (this.phase === 'over' || this.out.has(seat)) return {};
    this.out.add(seat);
    const cycle = this.cycles[seat];
    if (cycle) cycle.alive = false;
    const left = this.remaining();
    if (left.length <= 1) {
      this.phase = 'over';
      return { over: { winnerSeat: left[0] ?? null, reason: 'forfeit' } };
    }
    return {};
  }

  /** Seats still in the game. */
  remaining(): number[] {
    return [...Array(this.seats).keys()].filter((seat) => !this.out.has(seat));
  }

  /** Advances one tick. */
  step(): StepResult {
    if (this.phase === 'over') return {};
    this.tick++;
    if (this.phase === 'countdown' || this.phase === 'between-rounds') {
      this.phaseTicksLeft--;
      if (this.phaseTicksLeft > 0) return {};
      if (this.phase === 'countdown') {
        this.phase = 'running';
      } else {
        this.startRound();
        this.phase = 'countdown';
        this.phaseTicksLeft = this.countdownTicks;
      }
      return {};
    }
    return this.move();
  }

  private startRound(): void {
    this.round++;
    this.occupied = new Set();
    const points = spawnPoints(this.mode, this.width, this.height);
    // A different arrangement each round, from the seed alone.
    for (let i = points.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [points[i], points[j]] = [points[j] as (typeof points)[number], points[i] as (typeof points)[number]];
    }
    this.cycles = points.slice(0, this.seats).map((p, seat) => ({ seat, ...p, alive: !this.out.has(seat) }));
    this.trails = this.cycles.map((c) => (c.alive ? [[c.x, c.y]] : []));
    for (const c of this.cycles) if (c.alive) this.occupied.add(c.y * this.width + c.x);
    this.pending = this.cycles.map(() => []);
    this.inputTicks = this.cycles.map(() => []);
  }

  private move(): StepResult {
    const riding = this.cycles.filter((c) => c.alive);
    const targets = new Map<number, number>();
    const next = riding.map((c) => {
      const turn = (this.pending[c.seat] as Turn[]).shift();
      if (turn) c.dir = turned(c.dir, turn);
      const [x, y] = ahead(c.x, c.y, c.dir);
      const key = y * this.width + x;
      targets.set(key, (targets.get(key) ?? 0) + 1);
      return { c, x, y, key };
    });
    for (const { c, x, y, key } of next) {
      // Two cycles entering the same cell eliminate each other (head-on).
      if (this.blocked(x, y) || (targets.get(key) ?? 0) > 1) c.alive = false;
    }
    for (const { c, x, y, key } of next) {
      if (!c.alive) continue;
      c.x = x;
      c.y = y;
      this.occupied.add(key);
      (this.trails[c.seat] as [number, number][]).push([x, y]);
    }
    const alive = this.cycles.filter((c) => c.alive);
    if (alive.length > 1) return {};
    return this.endRound(alive[0]?.seat ?? null);
  }

  private endRound(winnerSeat: number | null): StepResult {
    const round = this.round;
    if (winnerSeat !== null) this.scores[winnerSeat] = (this.scores[winnerSeat] ?? 0) + 1;
    const result: StepResult = { roundEnded: { round, winnerSeat } };
    if (winnerSeat !== null && (this.scores[winnerSeat] ?? 0) >= GameLimits.roundsToWin) {
      this.phase = 'over';
      result.over = { winnerSeat, reason: 'finished' };
    } else if (round >= MAX_ROUNDS) {
      this.phase = 'over';
      result.over = { winnerSeat: this.leader(), reason: 'finished' };
    } else {
      this.phase = 'between-rounds';
      this.phaseTicksLeft = this.betweenRoundsTicks;
    }
    return result;
  }

  /** The seat with the most round wins, or null when that is shared. */
  private leader(): number | null {
    const best = Math.max(...Object.values(this.scores));
    const leaders = Object.keys(this.scores).filter((seat) => this.scores[Number(seat)] === best);
    return leaders.length === 1 ? Number(leaders[0]) : null;
  }
}
