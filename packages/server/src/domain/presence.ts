/**
 * Presence (PROTOCOL §4.1): a user is online while any socket of theirs, on any namespace, is
 * connected. Publishes `presence.changed` on each transition and keeps `last_seen_at`.
 */
import type { EventBus } from './bus.js';
import type { PresenceStore } from '../scale/presence-store.js';
import type { UserRepository } from '../store/users.js';

export class PresenceService {
  constructor(
    private readonly store: PresenceStore,
    private readonly users: UserRepository,
    private readonly bus: EventBus,
  ) {}

  async connected(userId: string, socketId: string): Promise<void> {
    if (await this.store.connect(userId, socketId)) {
      this.bus.publish('presence.changed', { userId, status: 'online', lastSeenAt: Date.now() });
    }
  }

  async disconnected(userId: string, socketId: string): Promise<void> {
    if (await this.store.disconnect(userId, socketId)) {
      const now = Date.now();
      await this.users.setLastSeen(userId, now);
      this.bus.publish('presence.changed', { userId, status: 'offline', lastSeenAt: now });
    }
  }

  online(userIds: readonly string[]): Promise<Set<string>> {
    return this.store.online(userIds);
  }
}
