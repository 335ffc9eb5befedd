/**
 * Server-Sent Events at `GET /api/events` (PROTOCOL §8): `message:new` and `message:updated` of
 * the caller's rooms (or of `?rooms=`) and their `notification:new`, for read-only clients such as
 * dashboards. Authenticated by `Authorization: Bearer` or `?token=` (EventSource cannot set headers).
 *
 * Every event's `id:` is a cursor: each streamed room's last seq sent, and the last notification
 * sent. `Last-Event-ID` (or `?lastEventId=`) resumes after it with nothing lost or repeated, on any
 * node and after a restart, since everything is read back from the database: messages by seq
 * through the room streams that `/ws` uses (realtime/room-stream.ts), notifications by id. A room
 * the cursor does not name starts live. A stream opened without a cursor first sends an `id:` of
 * its starting point, so a reader that drops before any event resumes from there.
 *
 * Memory per connection is bounded: a reader whose unsent data passes MAX_SOCKET_BUFFER_BYTES is
 * closed, replays are written a page at a time as the reader takes them, and live messages that
 * arrive during a replay wait in a bounded buffer (or are read back).
 */
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import {
  ErrorCode,
  GatewayLimits,
  Id,
  Limits,
  SseQuery,
  type Message,
  type Notification,
  type SseEvents,
} from '@switchboard/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, forbidden, invalid, notFound, unauthenticated } from '../domain/errors.js';
import type { RealtimeContext } from '../realtime/context.js';
import type { Feed, FeedEvent } from '../realtime/feed.js';
import { dataJson } from '../realtime/feed-frames.js';
import { RoomStream } from '../realtime/room-stream.js';
import { SendBudget } from '../realtime/send-budget.js';
import { parse } from './errors.js';
import { docs, jsonSchema } from './openapi.js';

export interface EventStreamOptions {
  /** Unsent bytes after which a reader is closed (MAX_SOCKET_BUFFER_BYTES). */
  maxBufferBytes: number;
  /** Milliseconds between keep-alive comments. */
  keepAliveMs: number;
}

export interface EventStreams {
  /** Ends every stream (readers reconnect elsewhere with `Last-Event-ID`) and refuses new ones (503). */
  drain(): void;
}

/** Where a stream stands: each room's last seq sent, and the last notification sent ('' for none). */
interface Cursor {
  rooms: Map<string, number>;
  notification: string;
}

/**
 * `<roomId>:<seq>,…;<notificationId>`: ids are `[A-Za-z0-9_-]`, so neither separator can occur in
 * one. It grows with the number of rooms streamed; `?rooms=` keeps it short.
 */
function encodeCursor(cursor: Cursor): string {
  const rooms = [...cursor.rooms].map(([roomId, seq]) => `${roomId}:${seq}`).join(',');
  return `${rooms};${cursor.notification}`;
}

function decodeCursor(text: string): Cursor {
  const bad = () => invalid('Last-Event-ID is not a cursor of this stream');
  const semicolon = text.lastIndexOf(';');
  if (semicolon < 0) throw bad();
  const notification = text.slice(semicolon + 1);
  if (notification !== '' && !Id.safeParse(notification).success) throw bad();
  const rooms = new Map<string, number>();
  const list = text.slice(0, semicolon);
  for (const entry of list === '' ? [] : list.split(',')) {
    const match = /^([A-Za-z0-9_-]{1,64}):(\d{1,15})$/.exec(entry);
    if (!match?.[1] || match[2] === undefined) throw bad();
    rooms.set(match[1], Number(match[2]));
  }
  return { rooms, notification };
}

const streamSchema = {
  tags: ['events'],
  summary: 'Server-Sent Events: new and changed messages, and notifications',
  description:
    '`text/event-stream` of `message:new`, `message:updated` (data: the `Message`) and `notification:new` ' +
    '(data: the `Notification`). Each event\'s `id` is a cursor: send it back as `Last-Event-ID` (or ' +
    '`?lastEventId=`) to resume after it with nothing lost or repeated, on any node. A comment line ' +
    `every ${GatewayLimits.sseKeepAliveSeconds} s keeps proxies from closing an idle stream; a reader that falls ` +
    'MAX_SOCKET_BUFFER_BYTES behind is disconnected. The stream ends when the login ends or the access token ' +
    'expires (reconnect with a fresh token and the last id).',
  security: [...docs.bearer, {}],
  querystring: jsonSchema(SseQuery),
  response: {
    200: { description: 'The event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
    ...docs.errors({
      400: 'bad `rooms` or cursor',
      401: 'no valid access token',
      403: 'not a member of a room in `rooms`',
      404: 'unknown room in `rooms`',
      429: 'too many requests',
      503: 'the server is shutting down',
    }),
  },
};

/** The access token of a request: `Authorization: Bearer`, else `?token=`. */
function tokenOf(req: FastifyRequest, query: { token?: string | undefined }): string {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  const token = match?.[1] ?? query.token;
  if (token === undefined) throw unauthenticated('missing bearer token');
  return token;
}

/** Bytes written to a response and not yet taken by the operating system. */
const unsentOf = (res: ServerResponse) => res.writableLength + (res.socket?.writableLength ?? 0);

export function eventRoutes(app: FastifyInstance, feed: Feed, ctx: RealtimeContext, options: EventStreamOptions): EventStreams {
  const { services, limiter, log } = ctx;
  const { auth, rooms, messages, notifications } = services;
  const metrics = ctx.monitoring?.metrics;
  const open = new Set<ServerResponse>();
  let draining = false;

  app.get('/api/events', { schema: streamSchema }, async (req, reply) => {
    if (draining) throw new AppError(ErrorCode.UNAVAILABLE, 'this server is shutting down; reconnect');
    const query = parse(SseQuery, req.query);
    const principal = await auth.verify(tokenOf(req, query));
    const { userId } = principal;
    await limiter.consume(userId, 'default');
    const header = req.headers['last-event-id'];
    const lastEventId = (Array.isArray(header) ? header[0] : header) ?? query.lastEventId;
    const resumed = lastEventId === undefined || lastEventId === '' ? undefined : decodeCursor(lastEventId);

    // Fresh from the database (not the membership cache): the start of every room not in the cursor.
    const roomIds = query.rooms ?? (await rooms.roomIdsOf(userId)).slice(0, Limits.syncRoomsMax);
    const readable = await rooms.readable(userId, roomIds);
    for (const roomId of roomIds) {
      if (!readable.rooms.has(roomId)) throw notFound('room');
      if (!readable.member.has(roomId)) throw forbidden('you are not a member of this room');
    }
    const cursor: Cursor = {
      rooms: new Map(roomIds.map((roomId) => [roomId, resumed?.rooms.get(roomId) ?? readable.rooms.get(roomId)?.last_seq ?? 0])),
      notification: resumed?.notification ?? '',
    };
    const startNotifications = resumed === undefined ? (await notifications.list(userId, { limit: 1 })).notifications[0]?.id ?? '' : undefined;
    if (startNotifications !== undefined) cursor.notification = startNotifications;

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx would otherwise hold events back to fill its buffer.
      'x-accel-buffering': 'no',
    });
    open.add(res);
    metrics?.onSocketConnected('/sse', userId);

    let closed = false;
    const budget = new SendBudget(
      {
        unsentBytes: () => unsentOf(res),
        // Readers send no requests: there is nothing to stop reading.
        pause: () => undefined,
        resume: () => undefined,
        close: (reason, unsentBytes) => {
          log.warn({ reason, unsentBytes, transport: 'sse' }, 'connection closed: its client is not reading');
          res.destroy();
        },
      },
      { limitBytes: options.maxBufferBytes, hardFactor: 1 },
    );
    const write = (chunk: string) => {
      if (closed) return;
      res.write(chunk);
      budget.check();
    };
    // The id is this reader's own cursor; the data's JSON is made once for every reader (feed-frames.ts).
    const emit = <E extends keyof SseEvents>(event: E, data: SseEvents[E]) =>
      write(`event: ${event}\nid: ${encodeCursor(cursor)}\ndata: ${dataJson(data)}\n\n`);

    const streams = new Map<string, RoomStream>();
    const unlistenRoom = new Map<string, () => void>();
    const sink = {
      // A page of a replay goes out once the previous ones are taken by the operating system.
      whenReadable: async () => {
        if (res.writableNeedDrain && !closed) await Promise.race([once(res, 'drain'), once(res, 'close')]);
      },
      send: (message: Message) => {
        cursor.rooms.set(message.roomId, message.seq);
        emit('message:new', message);
      },
      isClosed: () => closed,
    };

    /** Notifications read back on resume are sent first; live ones wait for them (bounded). */
    let heldNotifications: Notification[] | undefined = resumed ? [] : undefined;
    const sendNotification = (notification: Notification) => {
      if (notification.id <= cursor.notification) return;
      cursor.notification = notification.id;
      emit('notification:new', notification);
    };

    const listener = (event: FeedEvent) => {
      switch (event.kind) {
        case 'message:new':
          return streams.get(event.roomId)?.live(event.data);
        case 'message:updated':
          if (streams.get(event.roomId)?.sent(event.data.seq)) emit('message:updated', event.data);
          return;
        case 'notification:new':
          if (!heldNotifications) return sendNotification(event.data);
          if (heldNotifications.length < Limits.pageMax) heldNotifications.push(event.data);
          return;
        case 'revoked':
          return res.end();
        case 'joined':
          // A stream over all the reader's rooms takes in a room they join, from its next message.
          if (query.rooms === undefined && !streams.has(event.roomId) && event.userIds.includes(userId)) void follow(event.roomId);
          return;
        case 'left': {
          // The reader left the room: its messages stop here.
          if (event.userId !== userId) return;
          streams.get(event.roomId)?.stop();
          streams.delete(event.roomId);
          unlistenRoom.get(event.roomId)?.();
          unlistenRoom.delete(event.roomId);
          return;
        }
        default:
          return;
      }
    };
    const unlisten = [feed.onSession(principal.sessionId, listener), feed.onUser(userId, listener)];
    const follow = async (roomId: string) => {
      const stream = new RoomStream(roomId, userId, messages, sink, log);
      streams.set(roomId, stream);
      unlistenRoom.set(roomId, feed.onRoom(roomId, listener));
      try {
        await stream.start(undefined);
        if (!closed) cursor.rooms.set(roomId, stream.cursor);
      } catch (err) {
        log.debug({ err, roomId, userId }, 'event stream could not follow a joined room');
      }
    };
    for (const roomId of roomIds) {
      const stream = new RoomStream(roomId, userId, messages, sink, log);
      stream.cursor = cursor.rooms.get(roomId) ?? 0;
      streams.set(roomId, stream);
      unlistenRoom.set(roomId, feed.onRoom(roomId, listener));
    }
    const expiry = setTimeout(() => res.end(), Math.max(0, principal.expiresAt - Date.now()));
    const keepAlive = setInterval(() => write(':\n\n'), options.keepAliveMs);

    res.on('close', () => {
      closed = true;
      open.delete(res);
      clearTimeout(expiry);
      clearInterval(keepAlive);
      budget.dispose();
      for (const stop of [...unlisten, ...unlistenRoom.values()]) stop();
      for (const stream of streams.values()) stream.stop();
      metrics?.onSocketDisconnected('/sse', userId);
    });

    write(`retry: 2000\nid: ${encodeCursor(cursor)}\n\n`);
    try {
      if (heldNotifications) {
        // Newest first from the database: what follows the cursor, up to a page, oldest first.
        const { notifications: recent } = await notifications.list(userId, { limit: Limits.pageMax });
        for (const notification of recent.filter((n) => n.id > cursor.notification).reverse()) sendNotification(notification);
        for (const notification of heldNotifications) sendNotification(notification);
        heldNotifications = undefined;
      }
      // One room at a time, so a stream over many rooms never reads them all at once.
      for (const stream of [...streams.values()]) await stream.start(stream.cursor);
    } catch (err) {
      log.warn({ err, userId }, 'event stream could not catch up');
      res.end();
    }
  });

  return {
    drain() {
      draining = true;
      for (const res of open) res.end();
    },
  };
}
