/**
 * A fixed-rate tick loop that keeps its cadence: each tick is scheduled from the ideal time of the
 * previous one, not from when it ran, so timer lateness does not add up (a bare `setInterval`
 * drifts by every late callback). When it falls more than a few ticks behind it skips ahead
 * rather than running a burst of catch-up ticks, and says how many it skipped.
 */
import { performance } from 'node:perf_hooks';

/** Behind by more than this many periods: skip to now. */
const MAX_BEHIND_TICKS = 5;

/** The time and timers a ticker runs on: the process's own unless a test gives its own. */
export interface TickerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const processClock: TickerClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export class Ticker {
  private timer: unknown;
  private due = 0;

  constructor(
    private readonly periodMs: number,
    private readonly onTick: () => void,
    /** Ticks that ran late (by more than one period) or were skipped. */
    private readonly onLate: (ticks: number) => void = () => undefined,
    private readonly clock: TickerClock = processClock,
  ) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.due = this.clock.now() + this.periodMs;
    this.schedule();
  }

  stop(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(() => this.run(), Math.max(0, this.due - this.clock.now()));
  }

  private run(): void {
    const now = this.clock.now();
    const behind = Math.floor((now - this.due) / this.periodMs);
    if (behind > MAX_BEHIND_TICKS) {
      this.onLate(behind);
      this.due = now;
    } else if (behind >= 1) {
      this.onLate(1);
    }
    this.onTick();
    if (this.timer === undefined) return; // stopped by the tick
    this.due += this.periodMs;
    this.schedule();
  }
}
