/**
 * The domain event bus: services publish what happened (`message.created`, …) and the transport
 * layer turns it into emits. Services never import Socket.IO or Fastify; this keeps them testable
 * without sockets and lets another transport reuse them. Delivery is synchronous and in-process;
 * crossing nodes is the Socket.IO adapter's job.
 */
import type { Alert, DocChangedEvent, Message, MonitorSnapshot, Notification, PresenceEvent, Room, TypingEvent } from '@switchboard/protocol';
import type { NodeReport } from './monitoring/cluster-view.js';
import { Running } from './running.js';

export interface DomainEvents {
  /**
   * Stored and committed. `room` is as the recipients see it (a DM is named after the sender);
   * `mentionedUserIds`: members named as `@username` in the text, never the sender.
   */
  'message.created': { message: Message; room: Room; mentionedUserIds: string[] };
  'message.updated': { message: Message };
  /**
   * `userIds` became members of `room` (created, joined, invited, DM opened); `by` did it.
   * `room` is as the added users other than `by` see it (a DM is named after `by`).
   */
  'room.members.added': { room: Room; userIds: string[]; by: string; reason: 'create' | 'join' | 'invite' | 'dm' };
  'room.member.left': { room: Room; userId: string };
  /** A room's name, topic or archived state changed; `room` as it is now. */
  'room.updated': { room: Room };
  'read.moved': { roomId: string; userId: string; seq: number };
  /** A user started or stopped typing in a room (published by the transports, which keep typing state). */
  'typing.changed': TypingEvent;
  'notification.created': { userId: string; notification: Notification };
  'notification.unread': { userId: string; count: number };
  /** A user's first socket connected, or last socket went away (on any namespace). */
  'presence.changed': PresenceEvent;
  /**
   * A login ended (logout, refresh-token reuse, a new password, deactivation): its sockets must go,
   * on every node. `deactivated`: because its account was deactivated (`/ws` closes 4003, not 4001).
   */
  'session.revoked': { sessionId: string; userId: string; deactivated?: boolean };
  /** An admin became a user: what only admins may hold open (`/monitor`) must close, on every node. */
  'user.demoted': { userId: string };
  /** This node's monitoring report of the last second: for the other nodes. */
  'monitor.report': NodeReport;
  /** This node is shutting down cleanly: the other nodes forget it rather than count it down. */
  'monitor.left': { nodeId: string };
  /** The cluster as this node sees it, every second: for this node's admin sockets. */
  'monitor.snapshot': MonitorSnapshot;
  /** An alert fired or resolved (published by the monitoring leader only): for every admin socket. */
  'alert.firing': Alert;
  'alert.resolved': Alert;
  /** A document was created, renamed or deleted (PROTOCOL §5): for its room's members. */
  'doc.changed': DocChangedEvent;
}

type Handler<K extends keyof DomainEvents> = (event: DomainEvents[K]) => void | Promise<void>;

export class EventBus {
  private readonly handlers = new Map<keyof DomainEvents, Handler<never>[]>();
  /** Handlers still running asynchronously. */
  private readonly running = new Running();

  constructor(private readonly onError: (err: unknown, event: keyof DomainEvents) => void) {}

  on<K extends keyof DomainEvents>(name: K, handler: Handler<K>): void {
    const list = this.handlers.get(name) ?? [];
    list.push(handler as Handler<never>);
    this.handlers.set(name, list);
  }

  /** Resolves once no handler is running (including those started while waiting). */
  settled(): Promise<void> {
    return this.running.settled();
  }

  /** Runs every handler; one failing handler is reported and does not stop the others. */
  publish<K extends keyof DomainEvents>(name: K, event: DomainEvents[K]): void {
    for (const handler of this.handlers.get(name) ?? []) {
      try {
        const result = (handler as Handler<K>)(event);
        if (result instanceof Promise) void this.running.track(result.catch((err: unknown) => this.onError(err, name)));
      } catch (err) {
        this.onError(err, name);
      }
    }
  }
}
