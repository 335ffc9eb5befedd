/**
 * The primary's share of a cluster without Redis (WORKERS > 1): it holds presence and typing for
 * every worker of the host (scale/cluster-presence.ts, scale/cluster-typing.ts) and answers the
 * workers' requests over the cluster IPC (scale/cluster-ipc.ts). Rate-limit counters live in the
 * primary too, in rate-limiter-flexible's `RateLimiterClusterMaster` (scale/cluster.ts sets it up).
 *
 * It follows the workers' lives as scale/cluster.ts reports them: a worker that serves can be
 * asked to announce the users who went offline with a dead one; a worker that exited is
 * forgotten, and whatever it still sends (its IPC channel may outlive its exit by a moment) is
 * ignored, so it can never put a user back online.
 */
import type { Logger } from 'pino';
import { WorkerRequests, type PrimaryLink, type WorkerPort } from './cluster-ipc.js';
import { PresenceLedger, type PresenceNotices, type PresenceOps } from './cluster-presence.js';
import { TypingLedger, type TypingOps } from './cluster-typing.js';

/** Every operation of the cluster state protocol. */
export type ClusterStateOps = PresenceOps &
  TypingOps & {
    /** Answers true: the primary is there (the workers' readiness check). */
    ping: { args: Record<string, never>; result: true };
  };

export type ClusterStateNotices = PresenceNotices;

/** A worker's link to the cluster state. */
export type ClusterStateLink = PrimaryLink<ClusterStateOps, ClusterStateNotices>;

export class ClusterStatePrimary {
  private readonly presence = new PresenceLedger();
  private readonly typing: TypingLedger;
  private readonly requests: WorkerRequests<ClusterStateOps, ClusterStateNotices>;
  /** Workers that serve, in the order they became ready. */
  private readonly serving = new Map<number, WorkerPort>();
  private readonly exited = new Set<number>();
  /** Users who went offline with a dead worker while no worker served to announce it. */
  private readonly unannounced = new Set<string>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: { typingExpiryMs: number; log: Logger }) {
    this.typing = new TypingLedger(options.typingExpiryMs);
    this.requests = new WorkerRequests<ClusterStateOps, ClusterStateNotices>(
      {
        ping: () => true,
        'presence.set': (workerId, { userId, count }) => {
          const transition = this.presence.set(workerId, userId, count);
          // Reported to the asking worker, which announces it: a pending one is stale now.
          if (transition) this.unannounced.delete(userId);
          return transition;
        },
        'presence.online': (_workerId, { userIds }) => this.presence.online(userIds),
        'presence.withdraw': (workerId) => this.presence.drop(workerId),
        'typing.renew': (workerId, { roomId, userId }) => this.typing.renew(workerId, roomId, userId),
        'typing.end': (_workerId, { roomId, userId }) => this.typing.end(roomId, userId),
        'typing.expire': (workerId, { roomId, userId }) => this.typing.expire(workerId, roomId, userId),
      },
      options.log,
    );
    this.sweeper = setInterval(() => this.typing.sweep(), options.typingExpiryMs);
    this.sweeper.unref();
  }

  /** Handles a message from a worker if it belongs to this protocol (`cluster.on('message')`). */
  receive(worker: WorkerPort, message: unknown): void {
    if (this.exited.has(worker.id)) return;
    this.requests.receive(worker, message);
  }

  /** `worker` serves: it may announce transitions from now on. */
  workerReady(worker: WorkerPort): void {
    if (this.exited.has(worker.id)) return;
    this.serving.set(worker.id, worker);
    this.announceOffline();
  }

  /** A worker exited: its sockets are gone, and its users who had no other socket go offline. */
  workerExited(workerId: number): void {
    this.exited.add(workerId);
    this.serving.delete(workerId);
    this.typing.drop(workerId);
    for (const userId of this.presence.drop(workerId)) this.unannounced.add(userId);
    this.announceOffline();
  }

  /** Stops the background sweep of typing states. */
  close(): void {
    clearInterval(this.sweeper);
  }

  /**
   * Hands the users who went offline to one serving worker, which publishes the transitions; the
   * cluster adapter carries them to every worker's sockets, so each is heard once. A user who came
   * back meanwhile is left out: their `online` was announced, and was the last word.
   */
  private announceOffline(): void {
    const [announcer] = this.serving.values();
    if (!announcer || this.unannounced.size === 0) return;
    const userIds = [...this.unannounced].filter((id) => !this.presence.isOnline(id));
    this.unannounced.clear();
    if (userIds.length > 0) this.requests.notify(announcer, 'presence.offline', { userIds });
  }
}
