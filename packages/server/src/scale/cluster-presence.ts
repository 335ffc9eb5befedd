/**
 * Presence for the workers of one host without Redis (WORKERS > 1). The primary holds every
 * worker's socket count per user (PresenceLedger), so a user is online while any worker has a
 * socket of theirs. The primary applies the changes one message at a time, so each transition is
 * reported exactly once, to the worker whose `connect`/`disconnect` caused it; that worker
 * publishes it, and the cluster adapter carries the `presence` event to the sockets of every
 * worker, as with the Redis store.
 *
 * When a worker dies, the primary forgets its sockets and hands the users who went offline with
 * it to one serving worker, which announces them through `onTransition` (the Redis store's sweep
 * of a dead node, without the wait for a heartbeat to lapse).
 */
import type { Logger } from 'pino';
import type { PrimaryLink } from './cluster-ipc.js';
import { LocalSockets, type PresenceListener, type PresenceStatus, type PresenceStore } from './presence-store.js';

/** Presence's part of the cluster state protocol. */
export type PresenceOps = {
  /** Sets the asking worker's socket count for a user. → the transition it caused, if any. */
  'presence.set': { args: { userId: string; count: number }; result: PresenceStatus | null };
  /** → the given users who are online. */
  'presence.online': { args: { userIds: string[] }; result: string[] };
  /** Forgets the asking worker's sockets (it is closing). → users who went offline. */
  'presence.withdraw': { args: Record<string, never>; result: string[] };
};

export type PresenceNotices = {
  /** Users who went offline with a dead worker: the receiving worker announces them. */
  'presence.offline': { userIds: string[] };
};

/** Primary side: socket counts per user and worker. */
export class PresenceLedger {
  private readonly counts = new Map<string, Map<number, number>>();
  private readonly usersOf = new Map<number, Set<string>>();

  /** Sets `workerId`'s count for `userId` (0: none). → the transition, if the user's status changed. */
  set(workerId: number, userId: string, count: number): PresenceStatus | null {
    const wasOnline = this.counts.has(userId);
    if (count > 0) {
      let perWorker = this.counts.get(userId);
      if (!perWorker) this.counts.set(userId, (perWorker = new Map()));
      perWorker.set(workerId, count);
      let users = this.usersOf.get(workerId);
      if (!users) this.usersOf.set(workerId, (users = new Set()));
      users.add(userId);
    } else {
      this.forget(workerId, userId);
    }
    const isOnline = this.counts.has(userId);
    if (wasOnline === isOnline) return null;
    return isOnline ? 'online' : 'offline';
  }

  isOnline(userId: string): boolean {
    return this.counts.has(userId);
  }

  online(userIds: readonly string[]): string[] {
    return userIds.filter((id) => this.counts.has(id));
  }

  /** Forgets every socket of `workerId`. → users who went offline. */
  drop(workerId: number): string[] {
    const offline: string[] = [];
    for (const userId of this.usersOf.get(workerId) ?? []) {
      this.forget(workerId, userId);
      if (!this.counts.has(userId)) offline.push(userId);
    }
    this.usersOf.delete(workerId);
    return offline;
  }

  private forget(workerId: number, userId: string): void {
    const perWorker = this.counts.get(userId);
    if (perWorker?.delete(workerId) && perWorker.size === 0) this.counts.delete(userId);
    const users = this.usersOf.get(workerId);
    if (users?.delete(userId) && users.size === 0) this.usersOf.delete(workerId);
  }
}

/**
 * Worker side. This worker's own sockets stay in memory (they decide the count it sends, so a
 * repeated or unknown disconnect changes nothing); the primary decides who is online.
 */
export class ClusterPresenceStore implements PresenceStore {
  private readonly local = new LocalSockets();
  private listener: PresenceListener = () => Promise.resolve();
  private closed = false;

  constructor(
    private readonly link: PrimaryLink<PresenceOps, PresenceNotices>,
    private readonly log: Logger,
  ) {
    link.onNotice('presence.offline', ({ userIds }) => void this.announce(userIds, 'offline'));
  }

  onTransition(listener: PresenceListener): void {
    this.listener = listener;
  }

  async connect(userId: string, socketId: string): Promise<boolean> {
    const count = this.local.add(userId, socketId);
    return (await this.link.request('presence.set', { userId, count })) === 'online';
  }

  async disconnect(userId: string, socketId: string): Promise<boolean> {
    const count = this.local.remove(userId, socketId);
    if (count === undefined) return false;
    return (await this.link.request('presence.set', { userId, count })) === 'offline';
  }

  async online(userIds: readonly string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    return new Set(await this.link.request('presence.online', { userIds: [...userIds] }));
  }

  /** Withdraws this worker's sockets; the users who had no other socket go offline. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.announce(await this.link.request('presence.withdraw', {}), 'offline');
    } catch (err) {
      // The primary is gone or stuck: it forgets this worker's sockets when it sees it exit.
      this.log.debug({ err }, 'could not withdraw this worker from presence');
    }
  }

  private async announce(userIds: readonly string[], status: PresenceStatus): Promise<void> {
    for (const userId of userIds) {
      await this.listener(userId, status).catch((err: unknown) => this.log.error({ err, userId, status }, 'presence transition failed'));
    }
  }
}
