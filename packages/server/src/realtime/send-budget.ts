/**
 * The per-connection send budget (PROTOCOL §2 "Limits per connection, on every transport"), free
 * of any transport: while a connection's unsent data is above the limit it reads no further
 * requests; if it stays above for `stallMs`, or passes `hardFactor` times the limit, it is closed.
 * A client that reads keeps working however large its answers; one that stops reading costs the
 * server a bounded amount of memory.
 *
 * A transport binds it by saying how to read its unsent byte count and how to pause, resume and
 * close, and calls `check()` whenever bytes are queued or drained. A connection under the limit
 * costs one comparison per check and holds no timer.
 */

/** What the budget needs from one connection of some transport. */
export interface BudgetedConnection {
  /** Bytes accepted for this client and not yet taken by the operating system. Must be cheap. */
  unsentBytes(): number;
  /** Stops reading requests from the client (bytes already read may still be delivered). */
  pause(): void;
  /** Reads requests again. */
  resume(): void;
  /** Closes the connection at once, dropping what it holds; its client reconnects and syncs. */
  close(reason: 'stalled' | 'overflow', unsentBytes: number): void;
}

export interface SendBudgetOptions {
  /** Unsent bytes above which reading stops (MAX_SOCKET_BUFFER_BYTES). */
  limitBytes: number;
  /** How long a connection may stay above the limit before it is closed. */
  stallMs?: number;
  /** A connection whose unsent bytes pass `limitBytes × hardFactor` is closed at once. */
  hardFactor?: number;
}

/** PROTOCOL §2's numbers besides the limit itself. */
const SendBudgetDefaults = {
  stallMs: 10_000,
  hardFactor: 8,
  /**
   * While above the limit, the unsent count is measured again this often, so reading resumes
   * even if the transport reports no drain (e.g. a polling client that comes back).
   */
  recheckMs: 250,
} as const;

export class SendBudget {
  /** When the connection went above the limit; undefined while under it. */
  private overSince: number | undefined;
  private recheck: NodeJS.Timeout | undefined;
  /** Who waits for reading to resume; allocated only for a connection that went over. */
  private waiters: (() => void)[] | undefined;
  private done = false;

  /** `options` may be shared by every connection of a transport. */
  constructor(
    private readonly conn: BudgetedConnection,
    private readonly options: SendBudgetOptions,
  ) {}

  private get limit(): number {
    return this.options.limitBytes;
  }

  /** True while the connection is above the limit: requests it sends are not read. */
  get paused(): boolean {
    return this.overSince !== undefined;
  }

  /** Measures the unsent bytes and applies the rules; call when bytes are queued or drained. */
  check(): void {
    if (this.done) return;
    const unsent = this.conn.unsentBytes();
    if (unsent > this.limit * (this.options.hardFactor ?? SendBudgetDefaults.hardFactor)) {
      return this.closeFor('overflow', unsent);
    }
    if (unsent > this.limit) {
      if (this.overSince === undefined) {
        this.overSince = Date.now();
        this.conn.pause();
        this.recheck = setInterval(() => this.tick(), SendBudgetDefaults.recheckMs);
        this.recheck.unref();
      }
      return;
    }
    if (this.overSince !== undefined) {
      this.clearOver();
      this.conn.resume();
      this.wake();
    }
  }

  /** Resolves once requests may be read again, or the connection is gone. */
  whenReadable(): Promise<void> {
    if (!this.paused || this.done) return Promise.resolve();
    return new Promise((resolve) => (this.waiters ??= []).push(resolve));
  }

  /** The connection went away (for whatever reason): drop the timer and release every waiter. */
  dispose(): void {
    this.done = true;
    this.clearOver();
    this.wake();
  }

  private tick(): void {
    const stallMs = this.options.stallMs ?? SendBudgetDefaults.stallMs;
    if (this.overSince !== undefined && Date.now() - this.overSince >= stallMs) {
      const unsent = this.conn.unsentBytes();
      if (unsent > this.limit) return this.closeFor('stalled', unsent);
    }
    this.check();
  }

  private closeFor(reason: 'stalled' | 'overflow', unsent: number): void {
    this.dispose();
    this.conn.close(reason, unsent);
  }

  private clearOver(): void {
    clearInterval(this.recheck);
    this.recheck = undefined;
    this.overSince = undefined;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = undefined;
    for (const wake of waiters ?? []) wake();
  }
}
