/**
 * PresenceStore: which users have at least one connected socket. The memory implementation
 * serves one process; multi-node mode adds a Redis one with per-node heartbeats, tested by the
 * same suite.
 *
 * Contract: `connect`/`disconnect` are called once per socket; `connect` answers true when the
 * user had no socket before (came online), `disconnect` true when the last one went (offline).
 */
export interface PresenceStore {
  connect(userId: string, socketId: string): Promise<boolean>;
  disconnect(userId: string, socketId: string): Promise<boolean>;
  /** The subset of `userIds` that is online. */
  online(userIds: readonly string[]): Promise<Set<string>>;
}

export class MemoryPresenceStore implements PresenceStore {
  private readonly sockets = new Map<string, Set<string>>();

  connect(userId: string, socketId: string): Promise<boolean> {
    let set = this.sockets.get(userId);
    const cameOnline = !set;
    if (!set) this.sockets.set(userId, (set = new Set()));
    set.add(socketId);
    return Promise.resolve(cameOnline);
  }

  disconnect(userId: string, socketId: string): Promise<boolean> {
    const set = this.sockets.get(userId);
    if (!set?.delete(socketId)) return Promise.resolve(false);
    if (set.size > 0) return Promise.resolve(false);
    this.sockets.delete(userId);
    return Promise.resolve(true);
  }

  online(userIds: readonly string[]): Promise<Set<string>> {
    return Promise.resolve(new Set(userIds.filter((id) => this.sockets.has(id))));
  }
}
