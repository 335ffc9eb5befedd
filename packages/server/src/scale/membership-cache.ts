/**
 * MembershipCache: this node's bounded, least-recently-used memory of "user U is a member of
 * room R" (with the room's row), so that membership checks (`message:send`, `typing`, `read`,
 * history) cost no database round trip. It only remembers memberships, never their absence, so
 * the only change that can make it wrong is a membership ending: `forget` drops it here and sends
 * the drop to every other process of the deployment (through the Socket.IO adapter: Redis, or
 * the cluster primary), before the change is acknowledged.
 *
 * The drop is sent, not awaited: a request that reaches another process in the instant between
 * the acknowledgement and that process reading the drop can still pass the cached check.
 * `message:send` cannot act on it — the append re-checks the membership inside its transaction
 * (store/messages.ts) — and `read` only moves a read mark that no longer exists; a `typing` in
 * that instant shows an indicator once. Entries also expire after `ttlMs`, and in multi-node mode
 * the whole cache is emptied whenever Redis returns after an outage, because drops sent meanwhile
 * were lost.
 */
export const MembershipCacheDefaults = {
  /** Memberships remembered per node; the least recently used go first. */
  maxEntries: 50_000,
  /** Longest time an entry is trusted, in milliseconds. */
  ttlMs: 60_000,
} as const;

/** How a process tells the others to forget a membership. */
export interface MembershipInvalidations {
  publish(roomId: string, userId: string): void;
}

const entryKey = (roomId: string, userId: string) => `${roomId} ${userId}`;

export class MembershipCache<T> {
  private readonly entries = new Map<string, { value: T; expiresAt: number }>();
  private invalidations: MembershipInvalidations | undefined;

  constructor(private readonly limits: { maxEntries: number; ttlMs: number } = MembershipCacheDefaults) {}

  /** What was remembered with the membership, or undefined when it is not (or no longer) known. */
  get(roomId: string, userId: string): T | undefined {
    const key = entryKey(roomId, userId);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= Date.now()) return undefined;
    // Re-inserted: a Map iterates in insertion order, so the first key is the least recently used.
    this.entries.set(key, entry);
    return entry.value;
  }

  remember(roomId: string, userId: string, value: T): void {
    const key = entryKey(roomId, userId);
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: Date.now() + this.limits.ttlMs });
    if (this.entries.size > this.limits.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  /** Forgets a membership that ended, here at once, and sends the drop to the other processes. */
  forget(roomId: string, userId: string): void {
    this.drop(roomId, userId);
    this.invalidations?.publish(roomId, userId);
  }

  /** Applies a drop received from another process. */
  drop(roomId: string, userId: string): void {
    this.entries.delete(entryKey(roomId, userId));
  }

  clear(): void {
    this.entries.clear();
  }

  /** Connects the cache to the other processes' caches. */
  share(invalidations: MembershipInvalidations): void {
    this.invalidations = invalidations;
  }
}
