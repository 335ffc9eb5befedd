/**
 * Bots and the publish API (PROTOCOL §8): bot accounts that admins create, whose token (shown once,
 * stored hashed) works for HTTP, `/ws` and Socket.IO handshakes; and `POST /api/rooms/:roomId/messages`,
 * idempotent per `Idempotency-Key`.
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
