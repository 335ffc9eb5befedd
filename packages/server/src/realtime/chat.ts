/**
 * The `/chat` namespace (PROTOCOL §4.1): subscribes each socket to all of its user's rooms,
 * serves the chat requests through the shared pipeline, turns domain events into emits, and
 * keeps typing indicators.
 *
 * Typing state is ephemeral (see scale/typing-store.ts): a `typing: true` expires after
 * `Limits.typingExpirySeconds` without renewal, and ends when the user's last chat socket on the
 * node that renewed it goes away.
 */
import { Limits, type TypingEvent } from '@switchboard/protocol';
import type { Logger } from 'pino';
import type { Namespace } from 'socket.io';
import { attachSession, renewSession } from './connection.js';
import type { RealtimeContext } from './context.js';
import type { NamespaceSetup } from './io.js';
import type { TypingStore } from '../scale/typing-store.js';
import { serveRequests, type Handlers } from './requests.js';
import { channel, type ChatNamespace, type ChatSocket } from './types.js';

/**
 * Typing indicators: the state is in the TypingStore (one per room and user for the whole
 * deployment); this node keeps the expiry timers of the renewals it received. Others hear only
 * the changes: the first `typing: true`, and its end.
 */
export class TypingTracker {
  private readonly timers = new Map<string, { event: TypingEvent; timer: NodeJS.Timeout }>();

  constructor(
    private readonly store: TypingStore,
    private readonly expiryMs: number,
    private readonly emit: (event: TypingEvent) => void,
    private readonly log: Logger,
  ) {}

  /** Starts or renews (`typing: true`) or ends (`false`) a user's typing. */
  async set(event: TypingEvent): Promise<void> {
    const key = `${event.roomId}|${event.userId}`;
    clearTimeout(this.timers.get(key)?.timer);
    if (!event.typing) {
      this.timers.delete(key);
      if (await this.store.end(event.roomId, event.userId)) this.emit(event);
      return;
    }
    const timer = setTimeout(() => this.expire(key), this.expiryMs);
    timer.unref();
    this.timers.set(key, { event, timer });
    if (await this.store.renew(event.roomId, event.userId)) this.emit(event);
  }

  /**
   * The user's last chat socket on this node went away: ends what this node renewed last (a tab
   * of the same user on another node that renewed since keeps its indicator).
   */
  endAll(userId: string): void {
    for (const [key, { event }] of this.timers) if (event.userId === userId) this.expire(key);
  }

  private expire(key: string): void {
    const current = this.timers.get(key);
    if (!current) return;
    clearTimeout(current.timer);
    this.timers.delete(key);
    const { event } = current;
    this.store.expire(event.roomId, event.userId).then(
      (ended) => {
        if (ended) this.emit({ ...event, typing: false });
      },
      (err: unknown) => this.log.debug({ err, roomId: event.roomId }, 'typing expiry not recorded'),
    );
  }
}

/** Domain events → emits, subscribed once per namespace. */
function relayDomainEvents(nsp: ChatNamespace, ctx: RealtimeContext): void {
  const { bus, services } = ctx;

  bus.on('message.created', ({ message }) => {
    nsp.to(channel.room(message.roomId)).emit('message:new', message);
  });
  bus.on('message.updated', ({ message }) => {
    nsp.to(channel.room(message.roomId)).emit('message:updated', message);
  });

  bus.on('room.members.added', ({ room, userIds, by, reason }) => {
    const roomChannel = channel.room(room.id);
    nsp.in(userIds.map(channel.user)).socketsJoin(roomChannel);
    // The creator's other sockets (tabs, devices) hear of a new room too; the creating socket
    // already has it from the ack and ignores the repeat. A DM is named for the other side, so
    // the opener's other sockets learn of it from `room:list` when its first message arrives.
    const added = userIds.filter((id) => id !== by || reason === 'create').map(channel.user);
    if (added.length > 0) nsp.to(added).emit('room:added', room);
    // A new room's members learn about it from the ack and `room:added`; telling each of them
    // about every other one as well would cost members² emits for nothing.
    if (reason === 'create' || reason === 'dm') return;
    for (const userId of userIds) nsp.to(roomChannel).emit('room:member', { roomId: room.id, userId, action: 'joined' });
  });

  bus.on('room.member.left', ({ room, userId }) => {
    const roomChannel = channel.room(room.id);
    nsp.in(channel.user(userId)).socketsLeave(roomChannel);
    // The leaver's other tabs hear it too, on their user channel.
    nsp.to([roomChannel, channel.user(userId)]).emit('room:member', { roomId: room.id, userId, action: 'left' });
  });

  bus.on('room.updated', ({ room }) => {
    nsp.to(channel.room(room.id)).emit('room:updated', room);
  });

  bus.on('doc.changed', (event) => {
    nsp.to(channel.room(event.roomId)).emit('doc:changed', event);
  });

  bus.on('read.moved', (event) => {
    nsp.to(channel.room(event.roomId)).emit('read', event);
  });
  // From this namespace's tracker and the plain-WebSocket gateway's alike.
  bus.on('typing.changed', (event) => {
    nsp.to(channel.room(event.roomId)).except(channel.user(event.userId)).emit('typing', event);
  });

  bus.on('presence.changed', async (event) => {
    const roomIds = await services.rooms.roomIdsOf(event.userId);
    // One emit to all the rooms at once: a socket in several of them still gets it once.
    if (roomIds.length > 0) nsp.to(roomIds.map(channel.room)).emit('presence', event);
  });
}

export const setupChat: NamespaceSetup = (io, ctx) => {
  const nsp = io.of('/chat') as unknown as ChatNamespace;
  const { services, log } = ctx;
  const typing = new TypingTracker(
    ctx.typing,
    Limits.typingExpirySeconds * 1000,
    (event) => ctx.bus.publish('typing.changed', event),
    log,
  );
  /** Chat sockets per user on this node, to end typing when the last one goes. */
  const socketsOf = new Map<string, number>();

  relayDomainEvents(nsp, ctx);

  const { rooms, messages } = services;
  // One socket's sends join the group commits in the order they arrived, so a client that sends
  // without waiting for each ack still sees its messages keep their order; each waits only for the
  // previous one to be queued, not stored.
  const sendTurns = new WeakMap<ChatSocket, Promise<void>>();
  const handlers: Handlers<'/chat', ChatSocket> = {
    'auth:renew': ({ token }, socket) => renewSession(services.auth, socket, token),
    'room:create': async (input, { data }) => ({ room: await rooms.create(data.userId, input) }),
    'room:list': async (_input, { data }) => ({ rooms: await rooms.list(data.userId) }),
    'room:browse': async (input) => ({ rooms: await rooms.browse(input?.query, input?.limit ?? Limits.pageDefault) }),
    'user:search': async ({ query, limit }) => ({
      users: await rooms.searchUsers(query, limit ?? Limits.userSearchLimitDefault),
    }),
    'room:join': async ({ roomId }, { data }) => ({ room: await rooms.join(data.userId, roomId) }),
    'room:leave': async ({ roomId }, { data }) => {
      await rooms.leave(data.userId, roomId);
      return {};
    },
    'room:invite': async ({ roomId, userId: inviteeId }, { data }) => {
      await rooms.invite(data.userId, roomId, inviteeId);
      return {};
    },
    'room:members': async ({ roomId }, { data }) => ({ members: await rooms.members(data.userId, roomId) }),
    'dm:open': async ({ userId: otherId }, { data }) => ({ room: await rooms.openDm(data.userId, otherId) }),
    'room:update': async (input, { data }) => ({ room: await rooms.update(data, input) }),
    'room:archive': async ({ roomId, archived }, { data }) => ({ room: await rooms.archive(data, roomId, archived) }),
    'room:remove': async ({ roomId, userId }, { data }) => {
      await rooms.remove(data, roomId, userId);
      return {};
    },
    'room:mute': async ({ roomId, muted }, { data }) => {
      await rooms.mute(data.userId, roomId, muted);
      return {};
    },
    'message:send': async (input, socket) => {
      const { queued, stored } = messages.send(socket.data.userId, input, sendTurns.get(socket));
      sendTurns.set(socket, queued);
      return { message: await stored };
    },
    'message:edit': async ({ messageId, text }, { data }) => ({ message: await messages.edit(data.userId, messageId, text) }),
    'message:delete': async ({ messageId }, { data }) => {
      await messages.delete({ userId: data.userId, role: data.role }, messageId);
      return {};
    },
    'message:history': (input, { data }) => messages.history(data.userId, input),
    'thread:history': (input, { data }) => messages.thread(data.userId, input),
    'message:react': async (input, { data }) => {
      await messages.react(data.userId, input);
      return {};
    },
    'message:search': (input, { data }) => services.search.messages(data.userId, input),
    sync: (input, { data }) => messages.sync(data.userId, input),
    typing: async ({ roomId, typing: isTyping }, { data }) => {
      await rooms.requireMember(data.userId, roomId);
      await typing.set({ roomId, userId: data.userId, displayName: data.displayName, typing: isTyping });
      return {};
    },
    read: async ({ roomId, seq }, { data }) => {
      await rooms.markRead(data.userId, roomId, seq);
      return {};
    },
  };
  const attach = serveRequests('/chat', handlers, ctx);

  nsp.on('connection', (socket: ChatSocket) => {
    const { userId } = socket.data;
    attachSession(socket, { presence: services.presence, log });
    socketsOf.set(userId, (socketsOf.get(userId) ?? 0) + 1);

    // Requests wait until the socket is in all of its rooms, so a client that syncs right after
    // connecting cannot miss a message sent in between: it is in the sync answer or arrives live.
    const subscribed = rooms
      .roomIdsOf(userId)
      .then(async (roomIds) => {
        // A socket that went away meanwhile must not be added to rooms it would never leave.
        if (socket.connected) await socket.join(roomIds.map(channel.room));
      })
      .catch((err: unknown) => {
        log.error({ err, userId }, 'could not subscribe a chat socket to its rooms');
        socket.disconnect(true);
      });
    attach(socket, subscribed);

    socket.on('disconnect', () => {
      const left = (socketsOf.get(userId) ?? 1) - 1;
      if (left > 0) {
        socketsOf.set(userId, left);
        return;
      }
      socketsOf.delete(userId);
      typing.endAll(userId);
    });
  });

  return nsp as unknown as Namespace;
};
