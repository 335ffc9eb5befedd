/**
 * Notifications (PROTOCOL §4.2): turns chat events into stored notifications — `dm` for a direct
 * message, `mention` for `@username`, `invite` for being added to a private room (naming the room
 * and the inviter's username only) — and serves the list and read requests. Every change is stored
 * before `notification.created` and `notification.unread` are published, so an offline user finds
 * everything on the next connect.
 */
import type { Message, Notification, NotificationListInput, NotificationReadInput, Room } from '@switchboard/protocol';
import { Limits } from '@switchboard/protocol';
import type { DomainEvents, EventBus } from './bus.js';
import { newId } from './ids.js';
import { markdownToPlainText } from './plain-text.js';
import type { NotificationRepository } from '../store/notifications.js';
import type { NotificationRow } from '../store/schema.js';
import type { UserRepository } from '../store/users.js';

/** Code points of message text a notification body keeps: enough for a preview line. */
const BODY_MAX = 140;

/** One line of at most `BODY_MAX` code points, with an ellipsis when cut. */
function preview(text: string): string {
  const points = [...text.replace(/\s+/g, ' ').trim()];
  return points.length <= BODY_MAX ? points.join('') : `${points.slice(0, BODY_MAX - 1).join('')}…`;
}

const roomLabel = (room: Room) => `#${room.name}`;

function messageBody(message: Message): string {
  const text = markdownToPlainText(message.text);
  if (text.trim().length > 0) return preview(text);
  const files = message.attachments.map((a) => a.name).join(', ');
  return preview(files.length > 0 ? `Sent ${files}` : 'Sent an attachment');
}

function toNotification(row: NotificationRow): Notification {
  return {
    id: row.id,
    kind: row.kind,
    title: row.title,
    body: row.body,
    data: JSON.parse(row.data) as Record<string, unknown>,
    createdAt: row.created_at,
    readAt: row.read_at,
  };
}

type Draft = Pick<Notification, 'kind' | 'title' | 'body' | 'data'> & { userId: string };
type ListInput = NonNullable<NotificationListInput> & { limit?: number | undefined };
type ReadInput = Omit<NotificationReadInput, 'ids'> & { ids?: readonly string[] | undefined };

export class NotificationService {
  /**
   * Per-user chain of unread-count reads. Counting and publishing one after another means the
   * last count a user is sent was taken after the last change, even when a PostgreSQL pool runs
   * the queries of concurrent changes out of order.
   */
  private readonly unreadChains = new Map<string, Promise<unknown>>();

  /** Subscribes to the chat events that notify people. */
  constructor(
    private readonly notifications: NotificationRepository,
    private readonly users: UserRepository,
    private readonly bus: EventBus,
  ) {
    bus.on('message.created', (event) => this.onMessage(event));
    bus.on('room.members.added', (event) => this.onMembersAdded(event));
    bus.on('read.moved', (event) => this.onRead(event));
  }

  /** The user's notifications, newest first; `before` is the id of the last one already seen. */
  async list(userId: string, input: ListInput | undefined): Promise<{ notifications: Notification[]; unread: number; hasMore: boolean }> {
    const limit = input?.limit ?? Limits.pageDefault;
    const [rows, unread] = await Promise.all([
      this.notifications.pageWithLookahead(userId, { before: input?.before, limit, unreadOnly: input?.unreadOnly ?? false }),
      this.notifications.unreadCount(userId),
    ]);
    return { notifications: rows.slice(0, limit).map(toNotification), unread, hasMore: rows.length > limit };
  }

  /** Marks the given (or all) of the user's notifications read; others' ids are ignored. */
  async markRead(userId: string, input: ReadInput): Promise<{ unread: number }> {
    const changed = await this.notifications.markRead(userId, input.all === true ? undefined : (input.ids ?? []), Date.now());
    if (changed === 0) return { unread: await this.unreadCount(userId) };
    return { unread: await this.publishUnread(userId) };
  }

  /** Notifies every admin (monitoring alerts). */
  async notifyAdmins(draft: Omit<Draft, 'userId'>): Promise<void> {
    const admins = await this.users.adminIds();
    await this.create(admins.map((userId) => ({ ...draft, userId })));
  }

  /** Notifies those of `userIds` who have an account; other ids are ignored (game invitations). */
  async notifyUsers(userIds: readonly string[], draft: Omit<Draft, 'userId'>): Promise<void> {
    const users = await this.users.byIds([...new Set(userIds)]);
    await this.create(users.map((u) => ({ ...draft, userId: u.id })));
  }

  /** The user's unread count, in order with the counts published for them. */
  unreadCount(userId: string): Promise<number> {
    return this.serially(userId, () => this.notifications.unreadCount(userId));
  }

  private async onMessage({ message, room, mentionedUserIds }: DomainEvents['message.created']): Promise<void> {
    const data = { roomId: room.id, messageId: message.id, seq: message.seq };
    const body = messageBody(message);
    const drafts = new Map<string, Draft>();
    if (room.kind === 'dm') {
      for (const userId of await this.notifications.otherMembers(room.id, message.senderId)) {
        drafts.set(userId, { userId, kind: 'dm', title: `${message.senderName} sent you a message`, body, data });
      }
    }
    // In a DM the `dm` notification already covers a mention of the same person.
    for (const userId of mentionedUserIds) {
      if (userId === message.senderId || drafts.has(userId)) continue;
      drafts.set(userId, { userId, kind: 'mention', title: `${message.senderName} mentioned you in ${roomLabel(room)}`, body, data });
    }
    for (const userId of await this.notifications.mutedAmong(room.id, [...drafts.keys()])) drafts.delete(userId);
    await this.create([...drafts.values()]);
  }

  /**
   * Reading clears notifications (PROTOCOL §4.3): once a user's read mark passes a message, their
   * unread `mention` and `dm` notifications about it are read too, and the new count follows.
   */
  private async onRead({ roomId, userId, seq }: DomainEvents['read.moved']): Promise<void> {
    const cleared = await this.notifications.markReadUpTo(userId, roomId, seq, Date.now());
    if (cleared > 0) await this.publishUnread(userId);
  }

  private async onMembersAdded({ room, userIds, by, reason }: DomainEvents['room.members.added']): Promise<void> {
    if (room.kind !== 'private' || (reason !== 'create' && reason !== 'invite')) return;
    const invitees = userIds.filter((id) => id !== by);
    if (invitees.length === 0) return;
    // An invite reaches people who never chose to hear from the inviter, so it carries no text
    // the inviter wrote beyond the room's name (which the name rule constrains): the inviter's
    // username (3–32 of [A-Za-z0-9_.-]), not their display name, and not the room's topic.
    const inviter = (await this.users.byId(by))?.username ?? 'Someone';
    const verb = reason === 'create' ? 'added you to' : 'invited you to';
    await this.create(
      invitees.map((userId) => ({
        userId,
        kind: 'invite',
        title: `${inviter} ${verb} ${roomLabel(room)}`,
        body: '',
        data: { roomId: room.id },
      })),
    );
  }

  private async create(drafts: readonly Draft[]): Promise<void> {
    if (drafts.length === 0) return;
    const now = Date.now();
    const rows: NotificationRow[] = drafts.map((d) => ({
      id: newId(),
      user_id: d.userId,
      kind: d.kind,
      title: d.title,
      body: d.body,
      data: JSON.stringify(d.data),
      created_at: now,
      read_at: null,
    }));
    await this.notifications.insertMany(rows);
    for (const row of rows) this.bus.publish('notification.created', { userId: row.user_id, notification: toNotification(row) });
    await Promise.all(rows.map((row) => this.publishUnread(row.user_id)));
  }

  private publishUnread(userId: string): Promise<number> {
    return this.serially(userId, async () => {
      const count = await this.notifications.unreadCount(userId);
      this.bus.publish('notification.unread', { userId, count });
      return count;
    });
  }

  private serially<T>(userId: string, task: () => Promise<T>): Promise<T> {
    const result = (this.unreadChains.get(userId) ?? Promise.resolve()).then(task);
    const tail = result.catch(() => undefined);
    this.unreadChains.set(userId, tail);
    void tail.then(() => {
      if (this.unreadChains.get(userId) === tail) this.unreadChains.delete(userId);
    });
    return result;
  }
}
