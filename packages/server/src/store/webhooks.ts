/** Rooms' outgoing webhooks and where each one's deliveries stand (see RoomWebhooksTable). */
import type { Kysely } from 'kysely';
import type { DB, RoomWebhookRow } from './schema.js';

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

  async markDeleted(id: string, now: number): Promise<void> {
    await this.db.updateTable('room_webhooks').set({ deleted_at: now }).where('id', '=', id).execute();
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

  /** Records the outcome of the head delivery and gives the webhook back. */
  async settle(
    id: string,
    change: Pick<RoomWebhookRow, 'delivered_seq' | 'attempts' | 'next_attempt_at' | 'last_status' | 'last_error' | 'last_delivered_at'>,
  ): Promise<void> {
    await this.db.updateTable('room_webhooks').set({ ...change, lease_until: 0 }).where('id', '=', id).execute();
  }
}
