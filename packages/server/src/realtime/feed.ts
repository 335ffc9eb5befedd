/**
 * The event feed of the transports that are not Socket.IO (`/ws` and SSE, PROTOCOL §8): turns
 * domain events into feed events and hands each to the local connections that want it, by room,
 * by user or by login.
 *
 * Domain events fire only on the node where the change happened. `/chat` reaches the other nodes
 * through the Socket.IO adapter's room broadcasts; the plain connections are not Socket.IO
 * sockets and are in no adapter room, so each feed event is also sent to the other nodes as one
 * server-side event of the same adapter (`io.serverSideEmit`: Redis in multi-node mode, the
 * cluster primary with WORKERS > 1), which every node hands to its own connections. That is one
 * extra adapter message per change, whatever the number of plain connections, and it keeps one
 * node's events in the order they happened, as the adapter does for `/chat`.
 */
import type { Message, Notification, PresenceEvent, ReadEvent, TypingEvent } from '@switchboard/protocol';
import type { RealtimeContext } from './context.js';
import type { IoServer } from './types.js';

/** What the feed carries, between nodes too (plain JSON). */
export type FeedEvent =
  | { kind: 'message:new'; roomId: string; data: Message }
  | { kind: 'message:updated'; roomId: string; data: Message }
  | { kind: 'typing'; roomId: string; data: TypingEvent }
  | { kind: 'read'; roomId: string; data: ReadEvent }
  /** `roomIds`: the rooms of the user whose presence changed (its subscribers hear it once). */
  | { kind: 'presence'; roomIds: string[]; data: PresenceEvent }
  /** The users became members of the room (its streams over "all my rooms" take it in). */
  | { kind: 'joined'; roomId: string; userIds: string[] }
  /** The user is no longer a member of the room: their subscriptions to it end. */
  | { kind: 'left'; roomId: string; userId: string }
  | { kind: 'notification:new'; userId: string; data: Notification }
  /** The login ended (`deactivated`: its account was deactivated): its connections close. */
  | { kind: 'revoked'; sessionId: string; deactivated?: boolean };

/** A local connection (or one of its subscriptions) that hears feed events. */
export interface FeedListener {
  (event: FeedEvent): void;
}

/**
 * One key's listeners. An event is handed to the array of them as they were when it arrived, as
 * a listener may unsubscribe (or close its connection) while hearing it; the array is made again
 * after a change rather than copied for every event, so a busy room's events cost no copy.
 */
class Listeners {
  readonly set = new Set<FeedListener>();
  private list: readonly FeedListener[] | undefined;

  get all(): readonly FeedListener[] {
    return (this.list ??= [...this.set]);
  }

  changed(): void {
    this.list = undefined;
  }
}

/** Listeners by key, with no empty entries kept. */
class Registry {
  private readonly byKey = new Map<string, Listeners>();

  add(key: string, listener: FeedListener): () => void {
    let entry = this.byKey.get(key);
    if (!entry) this.byKey.set(key, (entry = new Listeners()));
    entry.set.add(listener);
    entry.changed();
    return () => {
      if (!entry.set.delete(listener)) return;
      entry.changed();
      if (entry.set.size === 0 && this.byKey.get(key) === entry) this.byKey.delete(key);
    };
  }

  get(key: string): readonly FeedListener[] {
    return this.byKey.get(key)?.all ?? [];
  }

  get empty(): boolean {
    return this.byKey.size === 0;
  }
}

export class Feed {
  private readonly rooms = new Registry();
  private readonly users = new Registry();
  private readonly sessions = new Registry();

  /** Hears the room's events (messages, typing, reads, presence of its members, leaves). */
  onRoom(roomId: string, listener: FeedListener): () => void {
    return this.rooms.add(roomId, listener);
  }

  /** Hears the user's notifications, and the rooms they join. */
  onUser(userId: string, listener: FeedListener): () => void {
    return this.users.add(userId, listener);
  }

  /** Hears that the login ended. */
  onSession(sessionId: string, listener: FeedListener): () => void {
    return this.sessions.add(sessionId, listener);
  }

  /** Whether any connection of this node listens to any room. */
  get listensToRooms(): boolean {
    return !this.rooms.empty;
  }

  /** Hands an event to this node's listeners. */
  deliver(event: FeedEvent): void {
    switch (event.kind) {
      case 'presence': {
        // A listener subscribed to several of the user's rooms hears it once.
        const heard = new Set<FeedListener>();
        for (const roomId of event.roomIds) for (const listener of this.rooms.get(roomId)) heard.add(listener);
        for (const listener of heard) listener(event);
        return;
      }
      case 'notification:new':
        return this.each(this.users.get(event.userId), event);
      case 'joined':
        for (const userId of event.userIds) this.each(this.users.get(userId), event);
        return;
      case 'revoked':
        return this.each(this.sessions.get(event.sessionId), event);
      default:
        return this.each(this.rooms.get(event.roomId), event);
    }
  }

  private each(listeners: readonly FeedListener[], event: FeedEvent): void {
    for (const listener of listeners) listener(event);
  }
}

/**
 * Builds the feed from the bus; with `shared` (an adapter that reaches other nodes), each event
 * also goes to the other nodes and theirs come in.
 */
export function createFeed(io: IoServer, ctx: RealtimeContext, shared: boolean): Feed {
  const feed = new Feed();
  const publish = (event: FeedEvent) => {
    feed.deliver(event);
    if (shared) io.serverSideEmit('feed:event', event);
  };
  if (shared) io.on('feed:event', (event) => feed.deliver(event));

  const { bus, services } = ctx;
  bus.on('message.created', ({ message }) => publish({ kind: 'message:new', roomId: message.roomId, data: message }));
  bus.on('message.updated', ({ message }) => publish({ kind: 'message:updated', roomId: message.roomId, data: message }));
  bus.on('typing.changed', (event) => publish({ kind: 'typing', roomId: event.roomId, data: event }));
  bus.on('read.moved', (event) => publish({ kind: 'read', roomId: event.roomId, data: event }));
  bus.on('room.members.added', ({ room, userIds }) => publish({ kind: 'joined', roomId: room.id, userIds }));
  bus.on('room.member.left', ({ room, userId }) => publish({ kind: 'left', roomId: room.id, userId }));
  bus.on('notification.created', ({ userId, notification }) => publish({ kind: 'notification:new', userId, data: notification }));
  bus.on('session.revoked', ({ sessionId, deactivated }) => publish({ kind: 'revoked', sessionId, ...(deactivated ? { deactivated } : {}) }));
  bus.on('presence.changed', async (event) => {
    // Finding the user's rooms costs a query: only when someone, here or on another node, may listen.
    if (!shared && !feed.listensToRooms) return;
    const roomIds = await services.rooms.roomIdsOf(event.userId);
    if (roomIds.length > 0) publish({ kind: 'presence', roomIds, data: event });
  });
  return feed;
}
