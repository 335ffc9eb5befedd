/**
 * Work still running in the background (event handlers, presence transitions): a shutdown waits
 * for it before it closes the stores that work uses.
 */
export class Running {
  private readonly pending = new Set<Promise<unknown>>();

  /** Keeps `work` until it settles, and returns it. */
  track<T>(work: Promise<T>): Promise<T> {
    this.pending.add(work);
    const done = () => void this.pending.delete(work);
    work.then(done, done);
    return work;
  }

  /** Resolves once nothing is running, including work started while waiting. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled(this.pending);
  }
}
