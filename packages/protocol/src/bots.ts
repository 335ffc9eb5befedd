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
