/**
 * Bots and the publish API (PROTOCOL §8): admins create and delete bot accounts; any user or bot
 * publishes a message to a room it belongs to with one POST, idempotent per `Idempotency-Key`
 * (the caller's id for the message, as `clientMsgId` is on `/chat`: the same key from the same
 * caller answers the first message again and creates nothing).
 */
import {
  BotCreateInput,
  IdempotencyKey,
  PublishInput,
  PublishParams,
  WebhookCreateInput,
  WebhookDeliveriesParams,
  WebhookDeliveriesQuery,
  WebhookLimits,
  WebhookParams,
} from '@switchboard/protocol';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AuthService } from '../domain/auth.js';
import { newId } from '../domain/ids.js';
import type { MessageService } from '../domain/messages.js';
import type { RoomWebhookService } from '../domain/webhooks/room-webhooks.js';
import type { RateLimiter } from '../scale/rate-limit.js';
import { requireUser } from './auth.js';
import { parse } from './errors.js';
import { docs, jsonSchema } from './openapi.js';

const BotParams = z.object({ id: z.string().min(1).max(64) });

const schemas = {
  create: {
    tags: ['bots'],
    summary: 'Create a bot (admins)',
    description: 'The token is in this answer only; Switchboard stores its hash. It works for HTTP (`Authorization: Bearer`), `/ws` and Socket.IO handshakes.',
    security: docs.bearer,
    body: jsonSchema(BotCreateInput),
    response: {
      201: { description: '`{ bot: User, token }`', type: 'object' },
      ...docs.errors({ 400: 'invalid username or display name', 401: 'no valid token', 403: 'not an admin', 409: 'username taken' }),
    },
  },
  list: {
    tags: ['bots'],
    summary: 'List bots (admins)',
    description: 'Bots whose token works, newest first: `{ bots: [{ bot: User, createdAt, createdBy }] }`. Tokens are never listed.',
    security: docs.bearer,
    response: { 200: { description: '`{ bots }`', type: 'object' }, ...docs.errors({ 401: 'no valid token', 403: 'not an admin' }) },
  },
  delete: {
    tags: ['bots'],
    summary: 'Delete a bot (admins)',
    description: 'Its token stops working at once and its connections close, on every node.',
    security: docs.bearer,
    params: jsonSchema(BotParams),
    response: { 204: docs.noContent('Deleted'), ...docs.errors({ 401: 'no valid token', 403: 'not an admin', 404: 'no such bot' }) },
  },
  publish: {
    tags: ['bots'],
    summary: 'Publish a message to a room',
    description:
      'For a member of the room (user or bot). With `Idempotency-Key`, the same key from the same caller returns the first message (200) and creates nothing; without one, every POST creates a message.',
    security: docs.bearer,
    params: jsonSchema(PublishParams),
    body: jsonSchema(PublishInput),
    response: {
      201: { description: '`{ message }`: stored and delivered', type: 'object' },
      200: { description: '`{ message }`: the message this key already created', type: 'object' },
      ...docs.errors({
        400: 'invalid text, threadId or Idempotency-Key',
        401: 'no valid token',
        403: 'not a member of the room',
        404: 'unknown room',
        429: 'too many messages',
      }),
    },
  },
  createWebhook: {
    tags: ['bots'],
    summary: "Add a webhook to a room (members)",
    description:
      'Every new message of the room is POSTed to `url` (body: the Message JSON; headers `X-Switchboard-Event: message:new`, `X-Switchboard-Delivery`, `X-Switchboard-Signature: sha256=<hex HMAC-SHA256 of the body keyed with the secret>`), one at a time and in order, retried with backoff until 24 h after the message.',
    security: docs.bearer,
    params: jsonSchema(PublishParams),
    body: jsonSchema(WebhookCreateInput),
    response: {
      201: { description: '`{ webhook: { id, url }, secret }`: the secret is shown once', type: 'object' },
      ...docs.errors({ 400: 'not http(s), or an internal address', 401: 'no valid token', 403: 'not a member of the room', 404: 'unknown room' }),
    },
  },
  listWebhooks: {
    tags: ['bots'],
    summary: "List a room's webhooks (members)",
    description:
      '`{ webhooks: [{ id, roomId, url, createdAt, createdBy, deliveredSeq, attempts, nextAttemptAt, lastStatus, lastError, lastDeliveredAt, lastDelivery, pending }] }`, oldest first: where each one\'s deliveries stand (the last seq delivered, failed attempts at the next message, the latest HTTP status and error, the latest attempt, the messages waiting). Secrets are never listed.',
    security: docs.bearer,
    params: jsonSchema(PublishParams),
    response: {
      200: { description: '`{ webhooks }`', type: 'object' },
      ...docs.errors({ 401: 'no valid token', 403: 'not a member of the room', 404: 'unknown room' }),
    },
  },
  listDeliveries: {
    tags: ['bots'],
    summary: "A webhook's delivery attempts (members of its room)",
    description: `\`{ deliveries: [{ id, webhookId, messageId, seq, attempt, attemptedAt, durationMs, ok, status, errorCode, errorMessage }] }\`, newest first; \`before\` (a delivery id) pages to older ones. The newest ${WebhookLimits.deliveriesKept} attempts of each webhook are kept.`,
    security: docs.bearer,
    params: jsonSchema(WebhookDeliveriesParams),
    querystring: jsonSchema(WebhookDeliveriesQuery),
    response: {
      200: { description: '`{ deliveries }`', type: 'object' },
      ...docs.errors({ 400: 'invalid limit or before', 401: 'no valid token', 403: 'not a member of the room', 404: 'unknown room, or no such webhook in it' }),
    },
  },
  deleteWebhook: {
    tags: ['bots'],
    summary: 'Remove a webhook (members of its room)',
    security: docs.bearer,
    params: jsonSchema(WebhookParams),
    response: { 204: docs.noContent('Removed'), ...docs.errors({ 401: 'no valid token', 403: 'not a member of the room', 404: 'no such webhook' }) },
  },
};

export function botRoutes(
  app: FastifyInstance,
  deps: { auth: AuthService; messages: MessageService; webhooks: RoomWebhookService; limiter: RateLimiter },
): void {
  const { auth, messages, webhooks, limiter } = deps;

  app.post('/api/rooms/:roomId/webhooks', { schema: schemas.createWebhook }, async (req, reply) => {
    const { userId } = await requireUser(auth, req);
    await limiter.consume(userId, 'default');
    const { roomId } = parse(PublishParams, req.params);
    return reply.status(201).send(await webhooks.create(userId, roomId, parse(WebhookCreateInput, req.body).url));
  });

  app.get('/api/rooms/:roomId/webhooks', { schema: schemas.listWebhooks }, async (req) => {
    const { userId } = await requireUser(auth, req);
    await limiter.consume(userId, 'default');
    const { roomId } = parse(PublishParams, req.params);
    return { webhooks: await webhooks.list(userId, roomId) };
  });

  app.get('/api/rooms/:roomId/webhooks/:webhookId/deliveries', { schema: schemas.listDeliveries }, async (req) => {
    const { userId } = await requireUser(auth, req);
    await limiter.consume(userId, 'default');
    const { roomId, webhookId } = parse(WebhookDeliveriesParams, req.params);
    return { deliveries: await webhooks.deliveries(userId, roomId, webhookId, parse(WebhookDeliveriesQuery, req.query)) };
  });

  app.delete('/api/webhooks/:id', { schema: schemas.deleteWebhook }, async (req, reply) => {
    const { userId } = await requireUser(auth, req);
    await limiter.consume(userId, 'default');
    await webhooks.delete(userId, parse(WebhookParams, req.params).id);
    return reply.status(204).send();
  });

  app.post('/api/bots', { schema: schemas.create }, async (req, reply) => {
    const actor = await requireUser(auth, req);
    await limiter.consume(actor.userId, 'default');
    return reply.status(201).send(await auth.createBot(actor, parse(BotCreateInput, req.body)));
  });

  app.get('/api/bots', { schema: schemas.list }, async (req) => {
    const actor = await requireUser(auth, req);
    await limiter.consume(actor.userId, 'default');
    return { bots: await auth.listBots(actor) };
  });

  app.delete('/api/bots/:id', { schema: schemas.delete }, async (req, reply) => {
    const actor = await requireUser(auth, req);
    await limiter.consume(actor.userId, 'default');
    await auth.deleteBot(actor, parse(BotParams, req.params).id);
    return reply.status(204).send();
  });

  app.post('/api/rooms/:roomId/messages', { schema: schemas.publish }, async (req, reply) => {
    const { userId } = await requireUser(auth, req);
    await limiter.consume(userId, 'message');
    const { roomId } = parse(PublishParams, req.params);
    const { text, threadId } = parse(PublishInput, req.body);
    const header = req.headers['idempotency-key'];
    const key = header === undefined ? undefined : parse(IdempotencyKey, Array.isArray(header) ? header.join(',') : header);
    const startedAt = Date.now();
    const message = await messages.send(userId, { roomId, clientMsgId: key ?? newId(), text, threadId }).stored;
    // A message stored before this request began is the one the key created earlier.
    return reply.status(message.createdAt < startedAt ? 200 : 201).send({ message });
  });
}
