/**
 * The board's motion between the server's ticks, as pure functions: where a cycle's head is drawn
 * between its last two reported cells, where the user's own cycle will head once its pending turns
 * are applied (shown at once on a key press, reconciled with every tick), and the direction of a
 * swipe. The server's ticks stay the only truth: a head is only ever drawn between two cells the
 * server reported, and a prediction is dropped as soon as a tick or an `applied: false` says so.
 */
import type { Cycle, Direction, GamePhase, Turn } from '@switchboard/client';
import { GameLimits } from '@switchboard/protocol';

/** Time between two ticks, ms. */
export const TICK_MS = 1000 / GameLimits.tickHz;

const LEFT_OF: Record<Direction, Direction> = { up: 'left', left: 'down', down: 'right', right: 'up' };
const RIGHT_OF: Record<Direction, Direction> = { up: 'right', right: 'down', down: 'left', left: 'up' };

/** The direction a turn takes a cycle heading `from` to. */
export function turned(from: Direction, turn: Turn): Direction {
  return turn === 'left' ? LEFT_OF[from] : RIGHT_OF[from];
}

/** The relative turn that points a cycle heading `from` towards `to`; undefined: ahead or behind. */
export function turnToward(from: Direction, to: Direction): Turn | undefined {
  if (LEFT_OF[from] === to) return 'left';
  if (RIGHT_OF[from] === to) return 'right';
  return undefined;
}

/**
 * Where a cycle's head is drawn, in cells, `elapsed` ms after the tick that put it at `now` arrived:
 * on the way from its cell of the tick before (`before`) to that cell. A cycle that did not move by
 * exactly one cell (a new round, a crash, a missed tick) is drawn where it is; so is every cycle
 * when motion is reduced.
 */
export function headAt(before: Cycle | undefined, now: Cycle, elapsed: number, reducedMotion: boolean): { x: number; y: number } {
  if (reducedMotion || !before || !now.alive || Math.abs(now.x - before.x) + Math.abs(now.y - before.y) !== 1) return { x: now.x, y: now.y };
  const t = Math.min(1, Math.max(0, elapsed / TICK_MS));
  return { x: before.x + (now.x - before.x) * t, y: before.y + (now.y - before.y) * t };
}

/**
 * The user's cycle's heading as the user expects it: `aim`, where it will head once the `pending`
 * turns sent are applied; undefined aim: the server's heading.
 */
export interface Prediction {
  aim: Direction | undefined;
  pending: number;
}

export const NO_PREDICTION: Prediction = { aim: undefined, pending: 0 };

/** The direction to draw the user's cycle heading: the aim while turns are pending, else the server's. */
export function shownDirection(prediction: Prediction, serverDir: Direction): Direction {
  return prediction.pending > 0 && prediction.aim ? prediction.aim : serverDir;
}

/** A turn sent: the aim turns at once. */
export function predictTurn(prediction: Prediction, serverDir: Direction, turn: Turn): Prediction {
  return { aim: turned(shownDirection(prediction, serverDir), turn), pending: prediction.pending + 1 };
}

/**
 * The server refused a turn (`applied: false`, or the request failed): one turn fewer pending, and
 * with none left the cycle is drawn heading where the server has it again.
 */
export function rejectTurn(prediction: Prediction): Prediction {
  const pending = Math.max(0, prediction.pending - 1);
  return pending === 0 ? NO_PREDICTION : { ...prediction, pending };
}

/**
 * A tick arrived: a changed heading is one pending turn applied; outside a running round nothing is
 * pending. The server's heading wins once no turn is pending.
 */
export function reconcile(prediction: Prediction, before: Direction | undefined, now: Direction, phase: GamePhase): Prediction {
  if (phase !== 'running') return NO_PREDICTION;
  const pending = before !== undefined && before !== now ? Math.max(0, prediction.pending - 1) : prediction.pending;
  return pending === 0 ? NO_PREDICTION : { ...prediction, pending };
}

/** Pointer travel, CSS px, below which a touch is a tap rather than a swipe. */
export const SWIPE_MIN_PX = 24;

/** The direction on screen of a swipe by (dx, dy) px (y grows downwards); undefined: too short. */
export function swipeDirection(dx: number, dy: number, min = SWIPE_MIN_PX): Direction | undefined {
  if (Math.max(Math.abs(dx), Math.abs(dy)) < min) return undefined;
  if (Math.abs(dx) >= Math.abs(dy)) return dx > 0 ? 'right' : 'left';
  return dy > 0 ? 'down' : 'up';
}
