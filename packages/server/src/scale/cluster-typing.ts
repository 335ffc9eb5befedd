/**
 * Typing indicators for the workers of one host without Redis (WORKERS > 1): the primary holds one
 * state per (room, user) for every worker (TypingLedger), recording which worker renewed it last,
 * exactly as the Redis store does with its key. The worker that received the latest renewal keeps
 * the expiry timer (realtime/chat.ts); when it fires, `expire` ends the indicator only if no other
 * worker renewed it since. A worker that dies takes its timers with it: the primary then forgets
 * what it renewed last, and receivers end those indicators themselves after
 * `Limits.typingExpirySeconds` without renewal (PROTOCOL §4.1), as when a node dies.
 */
import type { PrimaryLink } from './cluster-ipc.js';
import type { TypingStore } from './typing-store.js';

/** Typing's part of the cluster state protocol; every answer is true when the state changed. */
export type TypingOps = {
  'typing.renew': { args: { roomId: string; userId: string }; result: boolean };
  'typing.end': { args: { roomId: string; userId: string }; result: boolean };
  'typing.expire': { args: { roomId: string; userId: string }; result: boolean };
};

const key = (roomId: string, userId: string) => `${roomId}|${userId}`;

/**
 * Primary side. A state lives `expiryMs + graceMs` after its last renewal, so that the renewing
 * worker's timer always finds its own state (one that is gone was ended on purpose, and nobody
 * repeats the `typing: false`), and a state whose timer was lost still goes away.
 */
export class TypingLedger {
  private readonly states = new Map<string, { workerId: number; until: number }>();

  constructor(
    private readonly expiryMs: number,
    private readonly graceMs = 2000,
  ) {}

  /** → true when it started. */
  renew(workerId: number, roomId: string, userId: string): boolean {
    const k = key(roomId, userId);
    const started = this.current(k) === undefined;
    this.states.set(k, { workerId, until: Date.now() + this.expiryMs + this.graceMs });
    return started;
  }

  /** → true when it was active. */
  end(roomId: string, userId: string): boolean {
    const k = key(roomId, userId);
    const active = this.current(k) !== undefined;
    this.states.delete(k);
    return active;
  }

  /** Ends it if `workerId` renewed it last. → true when it ended. */
  expire(workerId: number, roomId: string, userId: string): boolean {
    const k = key(roomId, userId);
    if (this.current(k)?.workerId !== workerId) return false;
    this.states.delete(k);
    return true;
  }

  /** Forgets what `workerId` renewed last (it died, and its timers with it). */
  drop(workerId: number): void {
    for (const [k, state] of this.states) if (state.workerId === workerId) this.states.delete(k);
  }

  /** Forgets the states that outlived their grace. */
  sweep(): void {
    const now = Date.now();
    for (const [k, state] of this.states) if (state.until <= now) this.states.delete(k);
  }

  private current(k: string): { workerId: number; until: number } | undefined {
    const state = this.states.get(k);
    if (state && state.until <= Date.now()) {
      this.states.delete(k);
      return undefined;
    }
    return state;
  }
}

/** Worker side: every call is one request to the primary. */
export class ClusterTypingStore implements TypingStore {
  constructor(private readonly link: PrimaryLink<TypingOps>) {}

  renew(roomId: string, userId: string): Promise<boolean> {
    return this.link.request('typing.renew', { roomId, userId });
  }

  end(roomId: string, userId: string): Promise<boolean> {
    return this.link.request('typing.end', { roomId, userId });
  }

  expire(roomId: string, userId: string): Promise<boolean> {
    return this.link.request('typing.expire', { roomId, userId });
  }
}
