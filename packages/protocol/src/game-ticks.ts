/**
 * Compact ticks (PROTOCOL §6 extension, docs/protocol.md §8): the layout of the `t` event a
 * `/game` socket gets instead of `game:tick` after `game:ticks { mode: "compact" }`, and the one
 * rule that turns the previous tick and a compact tick into the next full tick. The server builds
 * its compact ticks with this rule and checks them against the real tick, and the SDK decodes with
 * it, so what a client decodes is what `game:tick` would have carried.
 *
 * Cycles ride one cell per running tick in their direction, so a client can foresee every tick in
 * which nothing else happens, and the server sends nothing for such a tick. Otherwise, arrays only:
 * - keyframe `[key, tick, phase, x, y, dir, alive, x, y, dir, alive, …]`, four numbers per seat in
 *   seat order: every `CompactTickLimits.keyframeEvery` ticks, and whenever a tick brings more than
 *   turns and eliminations (a phase change, a new round's starting places);
 * - delta `[key, tick, change, …]`: `[seat, dir]` the cycle turned (and rode on in its new
 *   direction); `[seat, dir, 0]` the cycle is out (it stays where it was, facing `dir`).
 * `key` is `GameState.key`; `dir` indexes `CompactDirections`, `phase` indexes `CompactPhases`,
 * `alive` is 1 or 0. Every tick between two compact ticks is foreseen.
 */
import { GameLimits, type Cycle, type Direction, type GamePhase, type GameTick } from './game.js';

/** Directions by their number in compact ticks. */
export const CompactDirections = ['up', 'right', 'down', 'left'] as const satisfies readonly Direction[];
/** Phases by their number in compact ticks. */
export const CompactPhases = ['countdown', 'running', 'between-rounds', 'over', 'waiting'] as const satisfies readonly GamePhase[];

export const CompactTickLimits = {
  /** A keyframe every this many ticks (once a second), so a client that missed a tick resyncs. */
  keyframeEvery: GameLimits.tickHz,
} as const;

/** `[seat, dir]` (turned) or `[seat, dir, 0]` (out). */
export type CompactChange = [number, number] | [number, number, 0];
/** A keyframe (numbers only) or a delta (changes after key and tick). */
export type CompactTick = number[] | [number, number, ...CompactChange[]];

const STEP: Record<Direction, [number, number]> = { up: [0, -1], down: [0, 1], left: [-1, 0], right: [1, 0] };

/** The tick after `prev` when nothing but riding happens: every riding cycle one cell on in a running phase. */
export function foreseeTick(prev: GameTick): GameTick {
  const moving = prev.phase === 'running';
  return {
    gameId: prev.gameId,
    tick: prev.tick + 1,
    phase: prev.phase,
    cycles: prev.cycles.map((c) => (moving && c.alive ? { ...c, x: c.x + STEP[c.dir][0], y: c.y + STEP[c.dir][1] } : { ...c })),
  };
}

/** Whether `tick` is a keyframe (its third number is a phase, not a change). */
export function isKeyframe(tick: CompactTick): boolean {
  return typeof tick[2] === 'number';
}

/**
 * The full tick that `compact` stands for, given the full tick just before it (`prev.tick + 1 ===
 * compact[1]` for a delta; a keyframe needs only the game id).
 */
export function applyCompactTick(prev: GameTick, compact: CompactTick): GameTick {
  const tick = compact[1] as number;
  if (isKeyframe(compact)) {
    const cycles: Cycle[] = [];
    for (let i = 3, seat = 0; i + 3 < compact.length; i += 4, seat++) {
      const [x, y, dir, alive] = compact.slice(i, i + 4) as number[];
      cycles.push({ seat, x: x as number, y: y as number, dir: CompactDirections[dir as number] as Direction, alive: alive === 1 });
    }
    return { gameId: prev.gameId, tick, phase: CompactPhases[compact[2] as number] as GamePhase, cycles };
  }
  const next = foreseeTick(prev);
  for (const change of compact.slice(2) as CompactChange[]) {
    const [seat, code, out] = change;
    const before = prev.cycles[seat];
    const cycle = next.cycles[seat];
    if (!before || !cycle) continue;
    cycle.dir = CompactDirections[code] as Direction;
    if (out === 0) {
      cycle.x = before.x;
      cycle.y = before.y;
      cycle.alive = false;
    } else if (prev.phase === 'running' && before.alive) {
      cycle.x = before.x + STEP[cycle.dir][0];
      cycle.y = before.y + STEP[cycle.dir][1];
    }
  }
  return next;
}
