/**
 * Rooms' outgoing webhooks, where each one's deliveries stand (see RoomWebhooksTable), and each
 * one's recent delivery attempts (WebhookDeliveriesTable), kept to the newest
 * `WebhookLimits.deliveriesKept` by the write that adds attempts.
 */
import { WebhookLimits } from '@switchboard/protocol';
import type { Kysely } from 'kysely';
import type { DB, RoomWebhookRow, WebhookDeliveryRow } from './schema.js';

export class WebhookRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async insert(row: RoomWebhookRow): Promise<void> {
    await this.db.insertInto('room_webhooks').values(row).execute();
  }

  live(id: string): Promise<RoomWebhookRow | undefined> {
    return this.db.selectFrom('room_webhooks').selectAll().where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
  }

  /** A room's live webhooks, oldest first. */
  ofRoom(roomId: string): Promise<RoomWebhookRow[]> {
    return this.db.selectFrom('room_webhooks').selectAll().where('room_id', '=', roomId).where('deleted_at', 'is', null).orderBy('created_at').orderBy('id').execute();
  }

  /** Marks webhook `id` deleted and drops its delivery history. */
  async markDeleted(id: string, now: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      // The update locks the webhook's row first, so a `settle` in flight either finishes before
      // (its attempts are dropped here) or sees the webhook deleted and adds none.
      await trx.updateTable('room_webhooks').set({ deleted_at: now }).where('id', '=', id).execute();
      await trx.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).execute();
    });
  }

  /** Webhook `id`'s delivery attempts, newest first, older than delivery `before` if given. */
  deliveries(id: string, limit: number, before?: string): Promise<WebhookDeliveryRow[]> {
    let q = this.db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', id);
    if (before !== undefined) q = q.where('id', '<', before);
    return q.orderBy('id', 'desc').limit(limit).execute();
  }

  /** The latest delivery attempt of each of `ids` that has one. */
  async latestDeliveries(ids: string[]): Promise<Map<string, WebhookDeliveryRow>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('id', 'in', (eb) => eb.selectFrom('webhook_deliveries').select((f) => f.fn.max('id').as('id')).where('webhook_id', 'in', ids).groupBy('webhook_id'))
      .execute();
    return new Map(rows.map((row) => [row.webhook_id, row]));
  }

  /**
   * Live webhooks no node holds whose next delivery is due at `now`; with `roomId`, that room's
   * whose next message is due or waits for nothing (a new message was just stored).
   */
  due(now: number, limit: number, roomId?: string): Promise<RoomWebhookRow[]> {
    let q = this.db.selectFrom('room_webhooks').selectAll().where('deleted_at', 'is', null).where('lease_until', '<', now);
    q =
      roomId === undefined
        ? q.where('next_attempt_at', '<=', now)
        : q.where('room_id', '=', roomId).where((eb) => eb.or([eb('attempts', '=', 0), eb('next_attempt_at', '<=', now)]));
    return q.orderBy('next_attempt_at').limit(limit).execute();
  }

  /** Takes webhook `id` until `until` unless another node holds it; true when taken. */
  async claim(id: string, now: number, until: number): Promise<boolean> {
    const result = await this.db
      .updateTable('room_webhooks')
      .set({ lease_until: until })
      .where('id', '=', id)
      .where('lease_until', '<', now)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * Records the outcome of a delivery pass and its attempts, and gives the webhook back. The
   * attempts beyond the newest `WebhookLimits.deliveriesKept` are dropped in the same transaction,
   * so the history never grows past that however long a webhook runs.
   */
  async settle(
    id: string,
    change: Pick<RoomWebhookRow, 'delivered_seq' | 'attempts' | 'next_attempt_at' | 'last_status' | 'last_error' | 'last_delivered_at'>,
    attempts: WebhookDeliveryRow[],
  ): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const webhook = await trx
        .updateTable('room_webhooks')
        .set({ ...change, lease_until: 0 })
        .where('id', '=', id)
        .returning('deleted_at')
        .executeTakeFirst();
      if (!webhook || webhook.deleted_at !== null || attempts.length === 0) return;
      await trx.insertInto('webhook_deliveries').values(attempts).execute();
      const oldestDropped = await trx
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('webhook_id', '=', id)
        .orderBy('id', 'desc')
        .offset(WebhookLimits.deliveriesKept)
        .limit(1)
        .executeTakeFirst();
      if (oldestDropped) await trx.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).where('id', '<=', oldestDropped.id).execute();
    });
  }
}
