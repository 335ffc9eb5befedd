/**
 * The Games board's motion, without a browser: a head drawn between its last two reported cells by
 * the time since the tick (and not with reduced motion, a new round or a crash), the user's turns
 * shown at once and reconciled with the server's ticks (a refused turn snaps back), and swipes.
 */
import type { Cycle } from '@switchboard/client';
import { describe, expect, it } from 'vitest';
import { headAt, NO_PREDICTION, predictTurn, reconcile, rejectTurn, shownDirection, swipeDirection, TICK_MS, turnToward } from '../src/game/motion.js';

const cycle = (x: number, y: number, dir: Cycle['dir'], alive = true): Cycle => ({ seat: 0, x, y, dir, alive });

describe('headAt', () => {
  it('moves a head from its last cell to its new one over one tick', () => {
    const before = cycle(5, 5, 'right');
    const now = cycle(6, 5, 'right');
    expect(TICK_MS).toBe(50);
    expect(headAt(before, now, 0, false)).toEqual({ x: 5, y: 5 });
    expect(headAt(before, now, 25, false)).toEqual({ x: 5.5, y: 5 });
    expect(headAt(before, now, 50, false)).toEqual({ x: 6, y: 5 });
    // Never past the cell the server reported, however late the next tick is.
    expect(headAt(before, now, 400, false)).toEqual({ x: 6, y: 5 });
    expect(headAt(cycle(3, 4, 'up'), cycle(3, 3, 'up'), 10, false)).toEqual({ x: 3, y: 3.8 });
  });

  it('draws the head where the server has it with reduced motion, without a cell before, after a jump or a crash', () => {
    const now = cycle(6, 5, 'right');
    expect(headAt(cycle(5, 5, 'right'), now, 25, true)).toEqual({ x: 6, y: 5 });
    expect(headAt(undefined, now, 25, false)).toEqual({ x: 6, y: 5 });
    // A new round's spawn point, or a missed tick: nothing to glide along.
    expect(headAt(cycle(20, 3, 'left'), now, 25, false)).toEqual({ x: 6, y: 5 });
    expect(headAt(cycle(4, 5, 'right'), now, 25, false)).toEqual({ x: 6, y: 5 });
    expect(headAt(cycle(5, 5, 'right'), cycle(6, 5, 'right', false), 25, false)).toEqual({ x: 6, y: 5 });
  });
});

describe('prediction', () => {
  it('shows a turn at once and keeps it until the tick that applies it, then follows the server', () => {
    let p = predictTurn(NO_PREDICTION, 'right', 'left');
    expect(shownDirection(p, 'right')).toBe('up');
    // A tick before the server applied it: still heading right there, still up on screen.
    p = reconcile(p, 'right', 'right', 'running');
    expect(shownDirection(p, 'right')).toBe('up');
    // The tick that applies it.
    p = reconcile(p, 'right', 'up', 'running');
    expect(p).toEqual(NO_PREDICTION);
    expect(shownDirection(p, 'up')).toBe('up');
  });

  it('chains turns made before the first is applied, relative to the shown heading', () => {
    let p = predictTurn(NO_PREDICTION, 'right', 'left');
    p = predictTurn(p, 'right', 'left');
    expect(shownDirection(p, 'right')).toBe('left');
    expect(turnToward(shownDirection(p, 'right'), 'down')).toBe('left');
    p = reconcile(p, 'right', 'up', 'running');
    expect(shownDirection(p, 'up')).toBe('left');
    p = reconcile(p, 'up', 'left', 'running');
    expect(p).toEqual(NO_PREDICTION);
  });

  it('snaps back to the server heading when a turn is refused', () => {
    const p = rejectTurn(predictTurn(NO_PREDICTION, 'down', 'right'));
    expect(p).toEqual(NO_PREDICTION);
    expect(shownDirection(p, 'down')).toBe('down');
  });

  it('drops what is pending outside a running round: the server heading wins', () => {
    const p = reconcile(predictTurn(NO_PREDICTION, 'left', 'right'), 'left', 'left', 'between-rounds');
    expect(shownDirection(p, 'left')).toBe('left');
  });
});

describe('swipeDirection', () => {
  it('takes the longer axis of a swipe, and ignores taps', () => {
    expect(swipeDirection(60, 10)).toBe('right');
    expect(swipeDirection(-60, 30)).toBe('left');
    expect(swipeDirection(5, 80)).toBe('down');
    expect(swipeDirection(-10, -40)).toBe('up');
    expect(swipeDirection(8, -6)).toBeUndefined();
  });
});
