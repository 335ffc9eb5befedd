/** `client.notifications`: the `/notifications` namespace (PROTOCOL §4.2) with the unread count kept current. */
import type { Notification, NotificationsClientToServer } from '@switchboard/protocol';
import type { Connection, Requester } from './connection.js';
import { Emitter } from './emitter.js';

export interface NotificationEvents {
  /** A new notification (mention, DM, invite, …). */
  notification: (notification: Notification) => void;
  /** The number of unread notifications changed (also sent on every connect). */
  unread: (count: number) => void;
}

export interface NotificationListOptions {
  /** A notification id: list the ones older than it. */
  before?: string;
  limit?: number;
  unreadOnly?: boolean;
}

export class NotificationsApi extends Emitter<NotificationEvents> {
  private readonly requests: Requester<NotificationsClientToServer>;
  private count: number | undefined;

  constructor(conn: Connection) {
    super();
    this.requests = conn.notificationRequests;
    conn.notifications.on('notification:new', (notification) => this.emit('notification', notification));
    conn.notifications.on('notification:unread', ({ count }) => this.setUnread(count));
  }

  /** Unread notifications, as last reported by the server (undefined before the first connect). */
  get unread(): number | undefined {
    return this.count;
  }

  /** Newest first; page with `before` = the last id of the previous page while `hasMore`. */
  async list(options: NotificationListOptions = {}): Promise<{ notifications: Notification[]; unread: number; hasMore: boolean }> {
    const { notifications, unread, hasMore } = await this.requests.send('notification:list', options);
    this.setUnread(unread);
    return { notifications, unread, hasMore };
  }

  /** Marks the given notifications (or `'all'`) read; resolves to the new unread count. */
  async markRead(which: readonly string[] | 'all'): Promise<number> {
    const { unread } = await this.requests.send('notification:read', which === 'all' ? { all: true } : { ids: [...which] });
    this.setUnread(unread);
    return unread;
  }

  private setUnread(count: number): void {
    if (count === this.count) return;
    this.count = count;
    this.emit('unread', count);
  }
}
