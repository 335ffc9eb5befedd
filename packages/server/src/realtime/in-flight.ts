/** Counts requests being handled so a draining node can let them finish before it exits. */
export class InFlight {
  private count = 0;
  private waiters: (() => void)[] = [];
  /** Set when the node drains: requests arriving from then on are refused (`UNAVAILABLE`). */
  refusing = false;

  async track<T>(work: () => Promise<T>): Promise<T> {
    this.count++;
    try {
      return await work();
    } finally {
      if (--this.count === 0) for (const wake of this.waiters.splice(0)) wake();
    }
  }

  /** Resolves when nothing is in flight, or after `timeoutMs`, whichever is first. */
  idle(timeoutMs: number): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
