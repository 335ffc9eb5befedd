/**
 * Compact ticks without a server: over random games (both modes, random turns at random ticks,
 * bots, forfeits between ticks) the compact stream the server would send, decoded by the SDK's
 * `GameTickDecoder`, gives every full tick exactly — from the game's start and from a state taken
 * at any tick, as a spectator or a reconnecting player gets it — and is smaller than the full one;
 * the decoder ignores what it cannot place and hands out copies.
 */
import fc from 'fast-check';
import { GameTickDecoder } from '@switchboard/client';
import { isKeyframe, type CompactTick, type GameMode, type GameState, type GameTick, type Turn } from '@switchboard/protocol';
import { describe, expect, it } from 'vitest';
import { botTurn } from '../src/domain/game/bots.js';
import { compactTick } from '../src/domain/game/compact-ticks.js';
import { Simulation } from '../src/domain/game/simulation.js';

const KEY = 7;
const GAME_ID = '0190a4e2-7c1d-7000-8000-000000000007';

interface Played {
  ticks: GameTick[];
  compact: (CompactTick | null)[];
  /** The state as `game:state` carries it before the first tick, and after tick `joinAt` (when the game got that far). */
  start: GameState;
  joined?: GameState;
}

/** One game as the server plays it: bots and turns before each step, forfeits between steps. */
function play(mode: GameMode, seed: number, humans: number, turns: Map<number, [number, Turn]>, forfeits: Map<number, number>, joinAt = -1): Played {
  const sim = new Simulation({ mode, seed, countdownTicks: 4, betweenRoundsTicks: 3 });
  const tickOf = (): GameTick => ({ gameId: GAME_ID, tick: sim.tick, phase: sim.phase, cycles: sim.cycleStates() });
  const stateOf = (): GameState => ({
    gameId: GAME_ID,
    key: KEY,
    mode,
    tick: sim.tick,
    round: sim.round,
    width: sim.width,
    height: sim.height,
    players: [],
    cycles: sim.cycleStates(),
    trails: sim.trailStates(),
    scores: { ...sim.scores },
    phase: sim.phase,
  });
  const played: Played = { ticks: [], compact: [], start: stateOf() };
  let last = tickOf();
  while (sim.phase !== 'over' && sim.tick < 3000) {
    for (let seat = humans; seat < sim.seats; seat++) {
      const turn = botTurn(sim, seat);
      if (turn) sim.input(seat, turn);
    }
    const turn = turns.get(sim.tick);
    if (turn && turn[0] < humans) sim.input(turn[0], turn[1]);
    sim.step();
    const tick = tickOf();
    played.ticks.push(tick);
    played.compact.push(compactTick(KEY, last, tick));
    last = tick;
    const leaver = forfeits.get(sim.tick);
    // A forfeit in the game's last tick changes nothing: `forfeit` ignores a game that is over.
    if (leaver !== undefined) sim.forfeit(leaver);
    if (sim.tick === joinAt) played.joined = stateOf();
  }
  return played;
}

/** What a decoder that got `state` and then the compact ticks after it yields. */
function decode(state: GameState, compact: (CompactTick | null)[]): GameTick[] {
  const decoder = new GameTickDecoder();
  decoder.state(state);
  return compact.flatMap((c) => (c ? decoder.push(c) : []));
}

/** Bytes of one Socket.IO packet on `/game` carrying `event`. */
const wireBytes = (event: string, payload: unknown) => `42/game,${JSON.stringify([event, payload])}`.length;

const game = fc.record({
  mode: fc.constantFrom<GameMode>('duel', 'quad'),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  humans: fc.integer({ min: 0, max: 4 }),
  turns: fc.array(fc.tuple(fc.nat({ max: 400 }), fc.nat({ max: 3 }), fc.constantFrom<Turn>('left', 'right')), { maxLength: 120 }),
  forfeits: fc.array(fc.tuple(fc.nat({ max: 400 }), fc.nat({ max: 3 })), { maxLength: 2 }),
  joinAt: fc.nat({ max: 300 }),
});

describe('compact ticks', () => {
  it('decode to every full tick exactly, from the start and from a state taken at any tick', () => {
    fc.assert(
      fc.property(game, ({ mode, seed, humans, turns, forfeits, joinAt }) => {
        const seats = mode === 'duel' ? 2 : 4;
        const played = play(
          mode,
          seed,
          Math.min(humans, seats),
          new Map(turns.map(([tick, seat, turn]) => [tick, [seat, turn]])),
          new Map(forfeits.filter(([, seat]) => seat < seats).map(([tick, seat]) => [tick, seat])),
          joinAt,
        );
        // Every tick number, in order, from the first compact tick on: nothing to skip or reorder.
        const last = played.compact.findLastIndex((c) => c !== null);
        expect(decode(played.start, played.compact)).toEqual(played.ticks.slice(0, last + 1));
        if (played.joined) {
          // Tick n is at index n - 1: a state taken after tick joinAt is followed by index joinAt on.
          const late = played.compact.slice(joinAt);
          const lateLast = late.findLastIndex((c) => c !== null);
          expect(decode(played.joined, late)).toEqual(played.ticks.slice(joinAt, joinAt + lateLast + 1));
        }
        // A game's last tick (phase "over") always goes out, so nothing is left to foresee.
        if (played.ticks.at(-1)?.phase === 'over') expect(played.compact.at(-1)).not.toBeNull();
      }),
      { numRuns: 100 },
    );
  });

  it('send nothing for most ticks, a keyframe once a second, and far fewer bytes than game:tick', () => {
    let full = 0;
    let compact = 0;
    let ticks = 0;
    let sent = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const played = play('quad', seed, 1, new Map(), new Map());
      ticks += played.ticks.length;
      for (const [i, tick] of played.ticks.entries()) {
        full += wireBytes('game:tick', tick);
        const c = played.compact[i];
        if (!c) continue;
        sent++;
        compact += wireBytes('t', c);
        if (tick.tick % 20 === 0) expect(isKeyframe(c)).toBe(true);
      }
    }
    expect(sent).toBeLessThan(ticks / 2);
    expect(compact).toBeLessThan(full / 10);
  });
});

describe('GameTickDecoder', () => {
  it('yields nothing for a game it has no state of, for a tick already decoded, or after forgetting the game', () => {
    const played = play('duel', 3, 0, new Map(), new Map());
    const decoder = new GameTickDecoder();
    const sent = played.compact.flatMap((c) => (c ? [c] : []));
    const [first, second] = sent as [CompactTick, CompactTick];
    expect(decoder.push(first)).toEqual([]);
    decoder.state(played.start);
    const decoded = decoder.push(first);
    expect(decoded.at(-1)?.tick).toBe(first[1]);
    expect(decoder.push(first)).toEqual([]);
    // What it hands out is the app's to change: the next tick is decoded from its own copy.
    (decoded.at(-1) as GameTick).cycles.length = 0;
    expect(decoder.push(second).at(-1)).toEqual(played.ticks[(second[1] as number) - 1]);
    decoder.forget(GAME_ID);
    expect(decoder.push(sent[2] as CompactTick)).toEqual([]);
  });
});
