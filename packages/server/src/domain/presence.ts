/**
 * Presence (PROTOCOL §4.1): a user is online while any socket of theirs, on any namespace, is
 * connected. Publishes `presence.changed` on each transition and keeps `last_seen_at`.
 */
import type { EventBus } from './bus.js';
import { Running } from './running.js';
import type { PresenceStore } from '../scale/presence-store.js';
import type { UserRepository } from '../store/users.js';

export class PresenceService {
  /** Transitions being recorded: a shutdown waits for them before closing the stores they use. */
  private readonly running = new Running();

  constructor(
    private readonly store: PresenceStore,
    private readonly users: UserRepository,
    private readonly bus: EventBus,
  ) {
    // Transitions found by the store itself: a dead node's users going offline, this node's
    // users coming back after a Redis outage.
    store.onTransition((userId, status) =>
      this.track(async () => {
        if (status === 'online') this.cameOnline(userId);
        else await this.wentOffline(userId);
      }),
    );
  }

  connected(userId: string, socketId: string): Promise<void> {
    return this.track(async () => {
      if (await this.store.connect(userId, socketId)) this.cameOnline(userId);
    });
  }

  disconnected(userId: string, socketId: string): Promise<void> {
    return this.track(async () => {
      if (await this.store.disconnect(userId, socketId)) await this.wentOffline(userId);
    });
  }

  /** Resolves once no transition is being recorded (including those started while waiting). */
  settled(): Promise<void> {
    return this.running.settled();
  }

  private track(work: () => Promise<void>): Promise<void> {
    return this.running.track(work());
  }

  online(userIds: readonly string[]): Promise<Set<string>> {
    return this.store.online(userIds);
  }

  private cameOnline(userId: string): void {
    this.bus.publish('presence.changed', { userId, status: 'online', lastSeenAt: Date.now() });
  }

  private async wentOffline(userId: string): Promise<void> {
    const now = Date.now();
    await this.users.setLastSeen(userId, now);
    this.bus.publish('presence.changed', { userId, status: 'offline', lastSeenAt: now });
  }
}
