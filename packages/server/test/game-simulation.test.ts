/**
 * The game's pure parts, without a server: the Light Cycles simulation (collisions, head-on, edges,
 * reversal, input limit, rounds, determinism, properties over random inputs), the bots, the
 * matchmaking queue, the Elo ratings, and the tick loop's cadence on a clock the test drives.
 */
import fc from 'fast-check';
import { GameLimits, type Turn } from '@switchboard/protocol';
import { describe, expect, it } from 'vitest';
import { botTurn } from '../src/domain/game/bots.js';
import { Matchmaker } from '../src/domain/game/matchmaking.js';
import { rateGame } from '../src/domain/game/ratings.js';
import { Simulation, type StepResult } from '../src/domain/game/simulation.js';
import { Ticker, type TickerClock } from '../src/domain/game/ticker.js';

const COUNTDOWN = 3;

function duel(seed = 1): Simulation {
  return new Simulation({ mode: 'duel', seed, countdownTicks: COUNTDOWN, betweenRoundsTicks: 2 });
}

/** Steps through the countdown to the first running tick. */
function run(sim: Simulation): void {
  while (sim.phase !== 'running') sim.step();
}

/** The duel's two seats: the one that starts heading right, and the one heading left. */
function sides(sim: Simulation): { east: number; west: number } {
  const cycles = sim.cycleStates();
  return {
    east: cycles.find((c) => c.dir === 'right')?.seat as number,
    west: cycles.find((c) => c.dir === 'left')?.seat as number,
  };
}

function steps(sim: Simulation, n: number): StepResult[] {
  return Array.from({ length: n }, () => sim.step());
}

describe('Light Cycles simulation', () => {
  it('counts down, then moves every cycle one cell per tick and leaves a trail', () => {
    const sim = duel();
    const start = sim.cycleStates();
    expect(sim.phase).toBe('countdown');
    run(sim);
    expect(sim.tick).toBe(COUNTDOWN);
    expect(sim.cycleStates()).toEqual(start);
    sim.step();
    for (const c of sim.cycleStates()) {
      const before = start.find((s) => s.seat === c.seat);
      expect(Math.abs(c.x - (before?.x ?? 0)) + Math.abs(c.y - (before?.y ?? 0))).toBe(1);
    }
    expect(sim.trailStates().every((t) => t.cells.length === 2)).toBe(true);
  });

  it('eliminates a cycle that rides into the edge; the other wins the round', () => {
    const sim = duel();
    run(sim);
    const { east, west } = sides(sim);
    let result: StepResult = {};
    while (!result.roundEnded) result = sim.step();
    // East starts 10 cells from its wall (x = 10 of 40), west 30 from x = 0: east reaches the edge first.
    expect(result.roundEnded).toEqual({ round: 1, winnerSeat: west });
    expect(sim.cycle(east)?.alive).toBe(false);
    expect(sim.cycle(east)?.x).toBe(sim.width - 1);
    expect(sim.scores[west]).toBe(1);
    expect(sim.phase).toBe('between-rounds');
  });

  it('eliminates a cycle that rides into a trail', () => {
    const sim = duel();
    run(sim);
    const { east, west } = sides(sim);
    // West (30, 20) turns up after 2 cells and crosses row 10 at x = 28 before east (10, 10) gets there.
    steps(sim, 2);
    expect(sim.input(west, 'right')).toBe(true);
    let result: StepResult = {};
    while (!result.roundEnded) result = sim.step();
    expect(result.roundEnded?.winnerSeat).toBe(west);
    expect(sim.cycle(east)).toMatchObject({ x: 27, y: 10, alive: false });
  });

  it('a head-on collision eliminates both: the round is a draw', () => {
    const sim = duel();
    run(sim);
    const { east, west } = sides(sim);
    steps(sim, 10); // both at x = 20, east on row 10, west on row 20
    expect(sim.input(east, 'right')).toBe(true); // down
    expect(sim.input(west, 'right')).toBe(true); // up
    const results = steps(sim, 5);
    expect(results[4]?.roundEnded).toEqual({ round: 1, winnerSeat: null });
    expect(sim.cycleStates().every((c) => !c.alive)).toBe(true);
    expect(sim.scores).toEqual({ 0: 0, 1: 0 });
  });

  it('two turns in one tick are applied on successive ticks: a cycle never reverses into itself', () => {
    const sim = duel();
    run(sim);
    const { east } = sides(sim);
    sim.input(east, 'left');
    sim.input(east, 'left');
    sim.step();
    expect(sim.cycle(east)).toMatchObject({ dir: 'up', alive: true });
    sim.step();
    expect(sim.cycle(east)).toMatchObject({ dir: 'left', alive: true });
  });

  it('counts at most 10 inputs a second per player', () => {
    const sim = duel();
    run(sim);
    const { east, west } = sides(sim);
    const answers = Array.from({ length: GameLimits.inputsPerSecond + 2 }, (_, i) => sim.input(east, i % 2 ? 'left' : 'right'));
    expect(answers.filter(Boolean)).toHaveLength(GameLimits.inputsPerSecond);
    expect(answers.slice(-2)).toEqual([false, false]);
    expect(sim.input(west, 'left')).toBe(true); // the limit is each player's own
    steps(sim, GameLimits.tickHz);
    expect(sim.input(east, 'left')).toBe(true);
  });

  it('ignores inputs outside a running round', () => {
    const sim = duel();
    expect(sim.input(0, 'left')).toBe(false);
  });

  it('plays best of 3: over once a seat has won 2 rounds', () => {
    const sim = duel(7);
    const rounds: StepResult['roundEnded'][] = [];
    let over: StepResult['over'];
    while (!over) {
      const result = sim.step();
      if (result.roundEnded) rounds.push(result.roundEnded);
      over = result.over;
    }
    expect(over.reason).toBe('finished');
    expect(over.winnerSeat).not.toBeNull();
    expect(sim.scores[over.winnerSeat as number]).toBe(2);
    expect(rounds.length).toBeGreaterThanOrEqual(2);
    expect(rounds.length).toBeLessThanOrEqual(3);
    expect(sim.phase).toBe('over');
    expect(sim.step()).toEqual({});
  });

  it('a forfeit in a duel ends the game for the other seat', () => {
    const sim = duel();
    run(sim);
    expect(sim.forfeit(1)).toEqual({ over: { winnerSeat: 0, reason: 'forfeit' } });
    expect(sim.phase).toBe('over');
  });

  it('in a quad game a forfeiting seat rides no further rounds', () => {
    const sim = new Simulation({ mode: 'quad', seed: 3, countdownTicks: 1, betweenRoundsTicks: 1 });
    run(sim);
    expect(sim.forfeit(2)).toEqual({});
    expect(sim.remaining()).toEqual([0, 1, 3]);
    let result: StepResult = {};
    while (!result.roundEnded) result = sim.step();
    while (sim.phase !== 'countdown') sim.step();
    expect(sim.cycle(2)?.alive).toBe(false);
    expect(sim.cycleStates().filter((c) => c.alive)).toHaveLength(3);
  });

  const inputs = fc.array(fc.record({ at: fc.nat({ max: 400 }), seat: fc.nat({ max: 3 }), turn: fc.constantFrom<Turn>('left', 'right') }), {
    maxLength: 200,
  });

  /** Plays a game with `moves` until it ends (or 2000 ticks), checking invariants every tick. */
  function play(mode: 'duel' | 'quad', seed: number, moves: { at: number; seat: number; turn: Turn }[]) {
    const sim = new Simulation({ mode, seed, countdownTicks: 2, betweenRoundsTicks: 2 });
    const log: unknown[] = [];
    let lastRound = sim.round;
    let lastLengths = sim.trailStates().map((t) => t.cells.length);
    for (let t = 0; t < 2000 && sim.phase !== 'over'; t++) {
      for (const m of moves) if (m.at === t && m.seat < sim.seats) sim.input(m.seat, m.turn);
      const result = sim.step();
      const alive = sim.cycleStates().filter((c) => c.alive);
      expect(new Set(alive.map((c) => `${c.x},${c.y}`)).size).toBe(alive.length);
      for (const c of alive) expect(c.x >= 0 && c.y >= 0 && c.x < sim.width && c.y < sim.height).toBe(true);
      const lengths = sim.trailStates().map((tr) => tr.cells.length);
      if (sim.round === lastRound) lengths.forEach((n, i) => expect(n).toBeGreaterThanOrEqual(lastLengths[i] ?? 0));
      lastRound = sim.round;
      lastLengths = lengths;
      log.push([result, sim.tick, sim.phase, sim.cycleStates()]);
    }
    return { log, trails: sim.trailStates(), scores: { ...sim.scores }, phase: sim.phase };
  }

  it('property: alive cycles never share a cell and stay on the grid; trails only grow within a round; the game ends', () => {
    fc.assert(
      fc.property(fc.constantFrom('duel' as const, 'quad' as const), fc.integer(), inputs, (mode, seed, moves) => {
        expect(play(mode, seed, moves).phase).toBe('over');
      }),
      { numRuns: 60 },
    );
  });

  it('property: the same seed and inputs give the same game', () => {
    fc.assert(
      fc.property(fc.constantFrom('duel' as const, 'quad' as const), fc.integer(), inputs, (mode, seed, moves) => {
        expect(play(mode, seed, moves)).toEqual(play(mode, seed, moves));
      }),
      { numRuns: 30 },
    );
  });
});

describe('bots', () => {
  it('turn away from a wall ahead instead of riding into it', () => {
    const sim = duel();
    run(sim);
    const { east } = sides(sim);
    steps(sim, sim.width - 1 - (sim.cycle(east)?.x ?? 0)); // east now faces the edge, one cell away
    expect(sim.cycle(east)?.x).toBe(sim.width - 1);
    const turn = botTurn(sim, east);
    expect(turn).not.toBeNull();
    sim.input(east, turn as Turn);
    sim.step();
    expect(sim.cycle(east)?.alive).toBe(true);
  });

  it('outlast a cycle that rides straight on, round after round', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const sim = duel(seed);
      let over: StepResult['over'];
      while (!over) {
        const turn = botTurn(sim, 0);
        if (turn) sim.input(0, turn);
        over = sim.step().over;
      }
      expect(over.winnerSeat).toBe(0);
    }
  });
});

describe('matchmaking', () => {
  const entry = (userId: string, rating: number, since = 0) => ({ userId, name: userId, rating, mode: 'duel' as const, since });

  it('pairs close ratings first', () => {
    const mm = new Matchmaker(20_000);
    mm.enqueue(entry('a', 1200));
    mm.enqueue(entry('b', 1900));
    mm.enqueue(entry('c', 1250));
    const matches = mm.poll(0);
    expect(matches.map((m) => m.humans.map((h) => h.userId))).toEqual([['a', 'c']]);
    expect(mm.isQueued('b')).toBe(true);
  });

  it('widens the window with waiting time, then fills seats with bots', () => {
    const mm = new Matchmaker(20_000);
    mm.enqueue(entry('a', 1200));
    mm.enqueue(entry('b', 1500));
    expect(mm.poll(1000)).toEqual([]);
    expect(mm.poll(15_000).map((m) => m.humans.map((h) => h.userId))).toEqual([['a', 'b']]);
    mm.enqueue({ ...entry('q', 1200, 0), mode: 'quad' });
    expect(mm.poll(19_999)).toEqual([]);
    expect(mm.poll(20_000)).toEqual([{ mode: 'quad', humans: [expect.objectContaining({ userId: 'q' })], seats: 4 }]);
  });

  it('cancel takes a player out of the queue', () => {
    const mm = new Matchmaker(0);
    mm.enqueue(entry('a', 1200));
    expect(mm.cancel('a')).toBe(true);
    expect(mm.poll(10_000)).toEqual([]);
    expect(mm.cancel('a')).toBe(false);
  });
});

describe('Elo', () => {
  it('the winner gains what the loser loses between equals; a draw moves nobody', () => {
    const players = [
      { seat: 0, rating: 1200 },
      { seat: 1, rating: 1200 },
    ];
    expect(rateGame(players, 0)).toEqual(new Map([[0, 1216], [1, 1184]]));
    expect(rateGame(players, null)).toEqual(new Map([[0, 1200], [1, 1200]]));
  });

  it('beating a stronger player is worth more', () => {
    const after = rateGame([{ seat: 0, rating: 1000 }, { seat: 1, rating: 1400 }], 0);
    expect((after.get(0) ?? 0) - 1000).toBeGreaterThan(16);
  });
});

/** Timers that fire when the test says, as late as it says: the ticker's cadence without waiting. */
class ManualClock implements TickerClock {
  time = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private ids = 0;
  /** The delays the ticker asked for. */
  readonly delays: number[] = [];
  now = () => this.time;
  setTimeout = (fn: () => void, ms: number) => {
    this.delays.push(ms);
    this.timers.push({ at: this.time + ms, fn, id: ++this.ids });
    return this.ids;
  };
  clearTimeout = (id: unknown) => {
    this.timers = this.timers.filter((t) => t.id !== id);
  };
  /** Fires the next timer `lateBy` ms after it was due. */
  fire(lateBy = 0): void {
    const timer = this.timers.shift();
    if (!timer) throw new Error('no timer pending');
    this.time = timer.at + lateBy;
    timer.fn();
  }
  get pending(): number {
    return this.timers.length;
  }
}

describe('tick loop', () => {
  it('schedules each tick from the ideal time: late timers do not add up', () => {
    const clock = new ManualClock();
    const at: number[] = [];
    const ticker = new Ticker(50, () => at.push(clock.time), undefined, clock);
    ticker.start();
    for (let i = 0; i < 100; i++) clock.fire(10);
    // Every tick 10 ms late, none later: a loop timed from when it ran would be at 6000 by now.
    expect(at.at(-1)).toBe(100 * 50 + 10);
    expect(clock.delays.slice(1).every((d) => d === 40)).toBe(true);
  });

  it('after a stall it skips ahead instead of running a burst, and says how many ticks it skipped', () => {
    const clock = new ManualClock();
    const late: number[] = [];
    let ticks = 0;
    const ticker = new Ticker(50, () => ticks++, (n) => late.push(n), clock);
    ticker.start();
    clock.fire(1000);
    expect(ticks).toBe(1);
    expect(late).toEqual([20]);
    expect(clock.delays.at(-1)).toBe(50);
    clock.fire(60);
    expect(late).toEqual([20, 1]);
  });

  it('stops, also from inside a tick', () => {
    const clock = new ManualClock();
    const ticker = new Ticker(50, () => ticker.stop(), undefined, clock);
    ticker.start();
    clock.fire();
    expect(clock.pending).toBe(0);
    ticker.start();
    expect(clock.pending).toBe(1);
    ticker.stop();
    expect(clock.pending).toBe(0);
  });
});
