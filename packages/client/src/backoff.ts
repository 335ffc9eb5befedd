/**
 * Exponential backoff with jitter, the same shape as Socket.IO's own reconnection delay
 * (`reconnectionDelay` · 2^attempt, capped, ± `randomizationFactor`), so that thousands of
 * clients dropped at once by a restarting node do not come back in lockstep.
 */
export interface BackoffOptions {
  /** Delay of the first attempt, ms. */
  min: number;
  /** Largest delay, ms. */
  max: number;
  /** 0..1: the delay varies by up to this fraction either way. */
  jitter: number;
}

export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const base = Math.min(options.max, options.min * 2 ** Math.min(attempt, 30));
  const spread = base * Math.min(Math.max(options.jitter, 0), 1);
  return Math.max(0, Math.round(base - spread + Math.random() * 2 * spread));
}
