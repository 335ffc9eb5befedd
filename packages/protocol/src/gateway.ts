/**
 * The plain-WebSocket gateway at `/ws` and the Server-Sent Events stream at `/api/events`
 * (PROTOCOL §8): frame shapes, request schemas, close codes and limits, for devices and languages
 * that do not speak Socket.IO. Requests reuse the `/chat` payload schemas, so a rule on a message
 * or a room is stated once for every transport.
 */
import { z } from 'zod';
import type { WireError } from './errors.js';
import { Limits } from './limits.js';
import type { Message, Notification, PresenceEvent, ReadEvent, TypingEvent, User } from './models.js';
import { Id, MessageHistoryInput, MessageSendInput, ReadInput, Seq, TypingInput } from './schemas.js';

/** Close codes of `/ws` (RFC 6455 keeps 4000–4999 for applications). */
export const GatewayCloseCode = {
  /** Draining: reconnect, to another node. */
  DRAINING: 1001,
  /** A frame larger than `GatewayLimits.maxFrameBytes`. */
  TOO_LARGE: 1009,
  /** No auth frame in time, a bad one, the login ended, or the token expired without renewal. */
  UNAUTHENTICATED: 4001,
  /** The account is gone, or was deactivated by an admin. */
  FORBIDDEN: 4003,
  /** The client kept sending while every request was refused as `RATE_LIMITED`. */
  RATE_LIMITED: 4008,
  /** Not JSON, not an object, no string `type`, or binary. */
  BAD_FRAME: 4400,
} as const;
export type GatewayCloseCode = (typeof GatewayCloseCode)[keyof typeof GatewayCloseCode];

export const GatewayLimits = {
  /** Milliseconds a new connection has to send its auth frame. */
  authTimeoutMs: 5000,
  /** Largest frame the server reads (larger: close 1009). */
  maxFrameBytes: 64 * 1024,
  /** Request ids: strings up to this length, or integers. */
  requestIdMax: 64,
  /**
   * `RATE_LIMITED` answers in a row (no request accepted between them) after which the connection
   * is closed with 4008: a client that ignores `retryAfterMs` is cut off instead of answered forever.
   */
  refusalsBeforeClose: 100,
  /** Seconds between keep-alive comments on an SSE stream. */
  sseKeepAliveSeconds: 15,
} as const;
export type GatewayLimits = typeof GatewayLimits;

/** What the server accepts as a request id: echoed in the reply. */
export const GatewayRequestId = z.union([z.string().max(GatewayLimits.requestIdMax), z.number().int()]);
export type GatewayRequestId = z.infer<typeof GatewayRequestId>;

/** Every client frame is a JSON object with a string `type`; anything else closes with 4400. */
export const GatewayFrame = z.object({ type: z.string() });

/** The first frame, and later ones that renew the connection's access token. */
export const GatewayAuthFrame = z.object({ type: z.literal('auth'), token: z.string().min(1).max(Limits.tokenMax) });

export const GatewaySubscribeInput = z.object({ roomId: Id, afterSeq: Seq.optional() });
export const GatewayUnsubscribeInput = z.object({ roomId: Id });

/** The schema of every `/ws` request by `type`; payload fields sit beside `type` and `id`. */
export const GatewayRequestSchemas = {
  subscribe: GatewaySubscribeInput,
  unsubscribe: GatewayUnsubscribeInput,
  /** Idempotent per `clientMsgId`, exactly as `/chat`'s `message:send`. */
  publish: MessageSendInput,
  typing: TypingInput,
  read: ReadInput,
  history: MessageHistoryInput,
} as const;
export type GatewayRequestType = keyof typeof GatewayRequestSchemas;

/** Request frames as a client sends them. */
export type GatewayRequest = {
  [T in GatewayRequestType]: { type: T; id: GatewayRequestId } & z.input<(typeof GatewayRequestSchemas)[T]>;
}[GatewayRequestType];

/** What each request's successful reply carries besides `type`, `id` and `ok`. */
export interface GatewayReplies {
  /** `lastSeq`: the seq the live stream continues after, once the replay is sent. */
  subscribe: { roomId: string; lastSeq: number };
  unsubscribe: Record<string, never>;
  publish: { message: Message };
  typing: Record<string, never>;
  read: Record<string, never>;
  history: { messages: Message[]; hasMore: boolean };
}

/** Events pushed on `/ws`, by name. */
export interface GatewayEvents {
  'message:new': Message;
  'message:updated': Message;
  typing: TypingEvent;
  read: ReadEvent;
  presence: PresenceEvent;
}
export type GatewayEventName = keyof GatewayEvents;

/** Every frame the server sends on `/ws`. */
export type GatewayServerFrame =
  | { type: 'ready'; user: User }
  | { type: 'pong' }
  | ({ type: 'reply'; id: GatewayRequestId | null; ok: true } & Record<string, unknown>)
  | { type: 'reply'; id: GatewayRequestId | null; ok: false; error: WireError }
  | { [E in GatewayEventName]: { type: 'event'; event: E; data: GatewayEvents[E] } }[GatewayEventName];

/** Events of the SSE stream (`event:` lines), with their `data:` JSON. */
export interface SseEvents {
  'message:new': Message;
  'message:updated': Message;
  'notification:new': Notification;
}

/**
 * Query of `GET /api/events`: `rooms` a comma-separated list of room ids (unset: all the caller's
 * rooms), `token` an access token for clients that cannot set `Authorization` (EventSource),
 * `lastEventId` like the `Last-Event-ID` header.
 */
export const SseQuery = z.object({
  rooms: z
    .string()
    .max(Limits.syncRoomsMax * (Limits.idMax + 1))
    .transform((v) => [...new Set(v.split(',').map((s) => s.trim()).filter(Boolean))])
    .pipe(z.array(Id).min(1).max(Limits.syncRoomsMax))
    .optional(),
  token: z.string().min(1).max(Limits.tokenMax).optional(),
  lastEventId: z.string().max(64 * 1024).optional(),
});
export type SseQuery = z.input<typeof SseQuery>;
