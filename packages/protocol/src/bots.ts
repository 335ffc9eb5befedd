/**
 * Bots, the publish API and room webhooks (PROTOCOL §8): bot accounts that admins create, whose token
 * (shown once, stored hashed) works for HTTP, `/ws` and Socket.IO handshakes;
 * `POST /api/rooms/:roomId/messages`, idempotent per `Idempotency-Key`; and webhooks that receive a
 * room's new messages, with the history of their delivery attempts.
 */
import { z } from 'zod';
import type { Message, User } from './models.js';
import { Limits } from './limits.js';
import { ClientMsgId, DisplayName, Id, Username, nonBlank } from './schemas.js';

/** Bot tokens start with this, so they are told from access tokens (JWTs) at a glance. */
export const BOT_TOKEN_PREFIX = 'sbot_';

export const BotCreateInput = z.object({ username: Username, displayName: DisplayName.optional() });
export type BotCreateInput = z.input<typeof BotCreateInput>;
/** A bot as `GET /api/bots` lists it: its account, and who created it when. */
export interface BotInfo {
  bot: User;
  createdAt: number;
  /** The admin who created it. */
  createdBy: string;
}

export interface BotCreated {
  bot: User;
  /** Shown once: only its hash is stored. */
  token: string;
}

export const PublishParams = z.object({ roomId: Id });
export const PublishInput = z.object({
  text: nonBlank(Limits.messageTextMax),
  threadId: Id.optional(),
});
export type PublishInput = z.input<typeof PublishInput>;
/** The `Idempotency-Key` header: the caller's id for the message, as `clientMsgId` on `/chat`. */
export const IdempotencyKey = ClientMsgId;
export interface PublishAnswer {
  message: Message;
}

export const WebhookCreateInput = z.object({
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).max(2000),
});
export type WebhookCreateInput = z.input<typeof WebhookCreateInput>;
export const WebhookParams = z.object({ id: Id });

export const WebhookLimits = {
  /** Delivery attempts kept per webhook: each new attempt drops the oldest beyond this. */
  deliveriesKept: 100,
  /** Attempts in one page of `GET …/deliveries` when `limit` is not given. */
  deliveriesPageDefault: 50,
} as const;
export type WebhookLimits = typeof WebhookLimits;

/** Why a delivery attempt failed, besides the receiver's answer. */
export const WebhookDeliveryError = {
  /** The receiver answered, but not 2xx (`status` says what). */
  status: 'HTTP_STATUS',
  /** No answer within the attempt's time limit (5 s). */
  timeout: 'TIMEOUT',
  /** The target resolved to a loopback, private or link-local address while WEBHOOK_ALLOW_PRIVATE is off. */
  internalAddress: 'INTERNAL_ADDRESS',
  /** No connection, or it broke: DNS failure, refused, reset, TLS error. */
  connection: 'CONNECTION_FAILED',
} as const;
export type WebhookDeliveryError = (typeof WebhookDeliveryError)[keyof typeof WebhookDeliveryError];

/** One POST of a message to a webhook, as `GET …/deliveries` lists it. */
export interface WebhookDelivery {
  /** Time-sortable: newer attempts have greater ids (the `before` cursor). */
  id: string;
  webhookId: string;
  messageId: string;
  seq: number;
  /** 1 for the first attempt at this message, 2 for its first retry, … */
  attempt: number;
  /** When the attempt started, ms. */
  attemptedAt: number;
  durationMs: number;
  ok: boolean;
  /** The receiver's HTTP status; null when it gave none. */
  status: number | null;
  /** Null for a success. */
  errorCode: WebhookDeliveryError | null;
  errorMessage: string | null;
}

export const WebhookDeliveriesParams = z.object({ roomId: Id, webhookId: Id });
export const WebhookDeliveriesQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .transform((n) => Math.min(n, WebhookLimits.deliveriesKept))
    .default(WebhookLimits.deliveriesPageDefault),
  /** A delivery id: the attempts older than it. */
  before: Id.optional(),
});
export type WebhookDeliveriesQuery = z.input<typeof WebhookDeliveriesQuery>;
export interface WebhookDeliveries {
  /** Newest first. */
  deliveries: WebhookDelivery[];
}
export interface WebhookCreated {
  webhook: { id: string; url: string };
  /** The key of `X-Switchboard-Signature` (HMAC-SHA256 over the raw body): shown once. */
  secret: string;
}

/**
 * A room's webhook as `GET /api/rooms/:roomId/webhooks` lists it (never its secret), with where
 * its deliveries stand: deliveries go in seq order, so the state of the latest one tells all.
 */
export interface WebhookInfo {
  id: string;
  roomId: string;
  url: string;
  createdAt: number;
  createdBy: string;
  /** The last seq delivered (or given up, or deleted before delivery). */
  deliveredSeq: number;
  /** Failed attempts at the next message (0: none failing). */
  attempts: number;
  /** When the next attempt is due, ms, while `attempts` > 0. */
  nextAttemptAt: number | null;
  /** HTTP status of the latest attempt; null for none yet or no answer. */
  lastStatus: number | null;
  /** Why the latest attempt failed; null after a success. */
  lastError: string | null;
  /** When the latest successful delivery was made, ms. */
  lastDeliveredAt: number | null;
  /** The latest delivery attempt, successful or not; null before the first. */
  lastDelivery: WebhookDelivery | null;
  /**
   * Messages stored after `deliveredSeq`: what waits for delivery (deleted ones included until a
   * delivery pass steps over them).
   */
  pending: number;
}
