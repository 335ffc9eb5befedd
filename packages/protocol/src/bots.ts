/**
 * Bots, the publish API and room webhooks (PROTOCOL §8): bot accounts that admins create, whose token
 * (shown once, stored hashed) works for HTTP, `/ws` and Socket.IO handshakes;
 * `POST /api/rooms/:roomId/messages`, idempotent per `Idempotency-Key`; and webhooks that receive a
 * room's new messages.
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
}
