/**
 * Rooms' outgoing webhooks (PROTOCOL §8): every new message of the room is POSTed to each of its
 * webhooks, body = the `Message` JSON, signed with HMAC-SHA256 of the webhook's secret, one at a
 * time and in seq order per webhook, retried with exponential backoff until 24 h after the message.
 *
 * Nothing is queued on the send path: the room's messages are the queue. Each webhook keeps the
 * last seq it is done with; a delivery pass reads the messages after it, in order, and moves it
 * forward. That survives restarts (it is all in the database) and needs no write per message.
 * A node takes a webhook with a lease before a pass, so two nodes never deliver the same one.
 *
 * Every attempt is recorded (when, how long, the answer or why there was none) with the pass's
 * outcome, in the one write that ends the pass; the newest `WebhookLimits.deliveriesKept` attempts
 * of each webhook are kept.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { WebhookDeliveryError, type Message, type WebhookDelivery, type WebhookInfo } from '@switchboard/protocol';
import type { Logger } from 'pino';
import type { WebhookRepository } from '../../store/webhooks.js';
import type { RoomWebhookRow, WebhookDeliveryRow } from '../../store/schema.js';
import type { EventBus } from '../bus.js';
import { invalid, notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { MessageService } from '../messages.js';
import type { RoomService } from '../rooms.js';
import { postOnce, targetAllowed } from './post.js';

export const RoomWebhookDefaults = {
  /** How long a node holds a webhook while it delivers. */
  leaseMs: 60_000,
  /** Messages one pass delivers at most before it gives the webhook back. */
  batch: 50,
  /** First retry delay; doubles with each failure of the same message, up to `maxRetryMs`. */
  firstRetryMs: 1000,
  maxRetryMs: 10 * 60_000,
  /** A message not delivered this long after it was sent is given up. */
  giveUpAfterMs: 24 * 3_600_000,
  /** How often each node looks for webhooks with deliveries due (new messages are delivered at once by the node that stored them). */
  pollMs: 1000,
  /**
   * A webhook with nothing to deliver is looked at again after this long: for a message another
   * node stored while this one held the webhook (the storing node delivers the others at once).
   */
  idleMs: 5000,
} as const;

/** The outcome of one POST: a 2xx answer, or why not. */
type Attempt = { ok: true; status: number } | { ok: false; status: number | null; code: WebhookDeliveryError; error: string };

export const signature = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;

export class RoomWebhookService {
  private timer: NodeJS.Timeout | undefined;
  private readonly passes = new Set<Promise<void>>();
  /** Webhooks this node was delivering when a new message of their room came: another pass follows. */
  private readonly again = new Set<string>();
  /** Webhooks this node is delivering, and their rooms. */
  private readonly delivering = new Map<string, string>();

  constructor(
    private readonly webhooks: WebhookRepository,
    private readonly rooms: RoomService,
    private readonly messages: MessageService,
    bus: EventBus,
    private readonly options: { allowPrivate: boolean; log: Logger; firstRetryMs?: number },
  ) {
    bus.on('message.created', ({ message }) => this.kick(message.roomId));
  }

  /** Adds a webhook to a room the caller belongs to; it gets the messages sent from now on. */
  async create(userId: string, roomId: string, url: string): Promise<{ webhook: { id: string; url: string }; secret: string }> {
    await this.rooms.requireMember(userId, roomId);
    if (!(await targetAllowed(new URL(url), this.options.allowPrivate))) {
      throw invalid('url: must be http(s) and reach no loopback, private or link-local address');
    }
    // Where the room is now, read fresh: requireMember's row may come from the membership cache,
    // whose `last_seq` lags, and starting from it would deliver messages sent before this webhook.
    const room = (await this.rooms.readable(userId, [roomId])).rooms.get(roomId);
    if (!room) throw notFound('room');
    const row: RoomWebhookRow = {
      id: newId(),
      room_id: roomId,
      url,
      secret: randomBytes(32).toString('base64url'),
      created_by: userId,
      created_at: Date.now(),
      deleted_at: null,
      delivered_seq: Number(room.last_seq),
      attempts: 0,
      next_attempt_at: 0,
      lease_until: 0,
      last_status: null,
      last_error: null,
      last_delivered_at: null,
    };
    await this.webhooks.insert(row);
    return { webhook: { id: row.id, url }, secret: row.secret };
  }

  /** The webhooks of a room the caller belongs to, with where their deliveries stand (no secrets). */
  async list(userId: string, roomId: string): Promise<WebhookInfo[]> {
    await this.rooms.requireMember(userId, roomId);
    const rows = await this.webhooks.ofRoom(roomId);
    // The room's last seq read fresh: the membership cache's lags behind.
    const [readable, latest] = await Promise.all([this.rooms.readable(userId, [roomId]), this.webhooks.latestDeliveries(rows.map((row) => row.id))]);
    const lastSeq = Number(readable.rooms.get(roomId)?.last_seq ?? 0);
    const lastDelivery = (id: string) => {
      const delivery = latest.get(id);
      return delivery ? toDelivery(delivery) : null;
    };
    return rows.map((row) => ({
      id: row.id,
      roomId: row.room_id,
      url: row.url,
      createdAt: Number(row.created_at),
      createdBy: row.created_by,
      deliveredSeq: Number(row.delivered_seq),
      attempts: row.attempts,
      nextAttemptAt: row.attempts > 0 ? Number(row.next_attempt_at) : null,
      lastStatus: row.last_status,
      lastError: row.last_error,
      lastDeliveredAt: row.last_delivered_at === null ? null : Number(row.last_delivered_at),
      lastDelivery: lastDelivery(row.id),
      pending: Math.max(0, lastSeq - Number(row.delivered_seq)),
    }));
  }

  /** A page of the delivery attempts of a webhook of a room the caller belongs to, newest first. */
  async deliveries(userId: string, roomId: string, webhookId: string, page: { limit: number; before?: string | undefined }): Promise<WebhookDelivery[]> {
    await this.rooms.requireMember(userId, roomId);
    const row = await this.webhooks.live(webhookId);
    if (row?.room_id !== roomId) throw notFound('webhook');
    return (await this.webhooks.deliveries(webhookId, page.limit, page.before)).map(toDelivery);
  }

  /** Removes a webhook of a room the caller belongs to. */
  async delete(userId: string, id: string): Promise<void> {
    const row = await this.webhooks.live(id);
    if (!row) throw notFound('webhook');
    await this.rooms.requireMember(userId, row.room_id);
    await this.webhooks.markDeleted(id, Date.now());
  }

  start(): void {
    this.timer ??= setInterval(() => this.run(() => this.poll()), RoomWebhookDefaults.pollMs);
    this.timer.unref();
  }

  /** Stops polling and waits for the passes in progress. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all([...this.passes]);
  }

  private kick(roomId: string): void {
    if (this.timer) this.run(() => this.poll(roomId));
  }

  private run(work: () => Promise<void>): void {
    const pass = work()
      .catch((err: unknown) => this.options.log.warn({ err }, 'webhook deliveries not made'))
      .finally(() => this.passes.delete(pass));
    this.passes.add(pass);
  }

  /** Delivers what is due: of every webhook, or (after a new message) of one room's, retries excepted. */
  private async poll(roomId?: string): Promise<void> {
    const now = Date.now();
    for (const [id, room] of this.delivering) if (room === roomId) this.again.add(id);
    const candidates = await this.webhooks.due(now, 20, roomId);
    for (const row of candidates) {
      if (!(await this.webhooks.claim(row.id, now, now + RoomWebhookDefaults.leaseMs))) continue;
      this.delivering.set(row.id, row.room_id);
      try {
        await this.deliver(row);
      } finally {
        this.delivering.delete(row.id);
      }
    }
    // A message that came while a pass of its room's webhook ran may have missed that pass.
    const rooms = new Set(candidates.filter((row) => this.again.delete(row.id)).map((row) => row.room_id));
    for (const room of rooms) await this.poll(room);
  }

  /** One pass over a claimed webhook: its next messages in order, stopping at the first failure. */
  private async deliver(row: RoomWebhookRow): Promise<void> {
    let { delivered_seq: seq, attempts } = row;
    let outcome: Pick<RoomWebhookRow, 'last_status' | 'last_error' | 'last_delivered_at'> = {
      last_status: row.last_status,
      last_error: row.last_error,
      last_delivered_at: row.last_delivered_at,
    };
    let nextAttemptAt = Date.now() + RoomWebhookDefaults.idleMs;
    const made: WebhookDeliveryRow[] = [];
    try {
      const pending = await this.messages.after(row.room_id, seq, RoomWebhookDefaults.batch);
      for (const message of pending) {
        if (message.deleted) {
          seq = message.seq;
          attempts = 0;
          continue;
        }
        // Taken before the POST, so that ids order attempts as they started.
        const id = newId();
        const startedAt = Date.now();
        const result = await this.post(row, message);
        const endedAt = Date.now();
        made.push({
          id,
          webhook_id: row.id,
          message_id: message.id,
          seq: message.seq,
          attempt: attempts + 1,
          attempted_at: startedAt,
          duration_ms: endedAt - startedAt,
          ok: result.ok ? 1 : 0,
          status: result.status,
          error_code: result.ok ? null : result.code,
          error_message: result.ok ? null : result.error,
        });
        if (result.ok) {
          seq = message.seq;
          attempts = 0;
          outcome = { last_status: result.status, last_error: null, last_delivered_at: endedAt };
          continue;
        }
        outcome = { ...outcome, last_status: result.status, last_error: result.error };
        if (Date.now() - message.createdAt >= RoomWebhookDefaults.giveUpAfterMs) {
          this.options.log.warn({ webhookId: row.id, seq: message.seq }, 'webhook delivery given up after 24 h');
          seq = message.seq;
          attempts = 0;
          continue;
        }
        attempts++;
        const first = this.options.firstRetryMs ?? RoomWebhookDefaults.firstRetryMs;
        nextAttemptAt = Date.now() + Math.min(first * 2 ** (attempts - 1), RoomWebhookDefaults.maxRetryMs);
        break;
      }
      // A full batch delivered: more may wait.
      if (attempts === 0 && pending.length === RoomWebhookDefaults.batch) nextAttemptAt = 0;
    } finally {
      await this.webhooks.settle(row.id, { delivered_seq: seq, attempts, next_attempt_at: nextAttemptAt, ...outcome }, made);
    }
  }

  private async post(row: RoomWebhookRow, message: Message): Promise<Attempt> {
    const body = JSON.stringify(message);
    try {
      const status = await postOnce(
        new URL(row.url),
        body,
        {
          'x-switchboard-event': 'message:new',
          'x-switchboard-delivery': `${row.id}:${message.seq}`,
          'x-switchboard-signature': signature(row.secret, body),
        },
        this.options.allowPrivate,
      );
      return status >= 200 && status < 300 ? { ok: true, status } : { ok: false, status, code: WebhookDeliveryError.status, error: `answered ${status}` };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return {
        ok: false,
        status: null,
        code: code === 'EINTERNAL' ? WebhookDeliveryError.internalAddress : code === 'ETIMEDOUT' ? WebhookDeliveryError.timeout : WebhookDeliveryError.connection,
        error: err instanceof Error ? err.message.slice(0, 300) : String(err),
      };
    }
  }
}

function toDelivery(row: WebhookDeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    webhookId: row.webhook_id,
    messageId: row.message_id,
    seq: Number(row.seq),
    attempt: row.attempt,
    attemptedAt: Number(row.attempted_at),
    durationMs: row.duration_ms,
    ok: row.ok === 1,
    status: row.status,
    errorCode: row.error_code as WebhookDeliveryError | null,
    errorMessage: row.error_message,
  };
}
