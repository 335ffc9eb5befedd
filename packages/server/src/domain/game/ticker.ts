/**
 * A fixed-rate tick loop that keeps its cadence: each tick is scheduled from the ideal time of the
 * previous one, not from when it ran, so timer lateness does not add up (a bare `setInterval`
 * drifts by every late callback). When it falls more than a few ticks behind it skips ahead
 * rather than running a burst of catch-up ticks, and says how many it skipped.
 */
import { performance } from 'node:perf_hooks';

/** Behind by more than this many periods: skip to now. */
const MAX_BEHIND_TICKS = 5;

export class Ticker {
  private timer: NodeJS.Timeout | undefined;
  private due = 0;

  constructor(
    private readonly periodMs: number,
    private readonly onTick: () => void,
    /** Ticks that ran late (by more than one period) or were skipped. */
    private readonly onLate: (ticks: number) => void = () => undefined,
  ) {}

  get running(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    if (this.timer) return;
    this.due = performance.now() + this.periodMs;
    this.schedule();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    this.timer = setTimeout(() => this.run(), Math.max(0, this.due - performance.now()));
  }

  private run(): void {
    const now = performance.now();
    const behind = Math.floor((now - this.due) / this.periodMs);
    if (behind > MAX_BEHIND_TICKS) {
      this.onLate(behind);
      this.due = now;
    } else if (behind >= 1) {
      this.onLate(1);
    }
    this.onTick();
    if (!this.timer) return; // stopped by the tick
    this.due += this.periodMs;
    this.schedule();
  }
}
