/**
 * Bots for seats no person takes: each tick a bot looks ahead and keeps the way with the most room
 * (a bounded flood fill from the cell each move would enter), preferring straight on. Deterministic,
 * like the simulation it reads.
 */
import type { Turn } from '@switchboard/protocol';
import { ahead, turned, type Simulation } from './simulation.js';

/** Cells counted per option: enough to tell a dead end from open ground without costing a tick. */
const LOOK_AHEAD_CELLS = 80;

/** Free cells reachable from (x, y), up to `LOOK_AHEAD_CELLS`; 0 when (x, y) itself is blocked. */
function room(sim: Simulation, x: number, y: number): number {
  if (sim.blocked(x, y)) return 0;
  const seen = new Set<number>([y * sim.width + x]);
  const queue: [number, number][] = [[x, y]];
  while (queue.length > 0 && seen.size < LOOK_AHEAD_CELLS) {
    const [cx, cy] = queue.shift() as [number, number];
    for (const [nx, ny] of [
      [cx + 1, cy],
      [cx - 1, cy],
      [cx, cy + 1],
      [cx, cy - 1],
    ] as [number, number][]) {
      const key = ny * sim.width + nx;
      if (seen.has(key) || sim.blocked(nx, ny)) continue;
      seen.add(key);
      queue.push([nx, ny]);
    }
  }
  return seen.size;
}

/** The turn a bot in `seat` makes now, or null to ride straight on. */
export function botTurn(sim: Simulation, seat: number): Turn | null {
  const cycle = sim.cycle(seat);
  if (!cycle?.alive || sim.phase !== 'running') return null;
  let best: Turn | null = null;
  let bestRoom = room(sim, ...ahead(cycle.x, cycle.y, cycle.dir));
  if (bestRoom >= LOOK_AHEAD_CELLS) return null;
  for (const turn of ['left', 'right'] as const) {
    const space = room(sim, ...ahead(cycle.x, cycle.y, turned(cycle.dir, turn)));
    if (space > bestRoom) {
      best = turn;
      bestRoom = space;
    }
  }
  return best;
}
