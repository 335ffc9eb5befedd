/**
 * Messages. `append` is the heart of ordered delivery: in one transaction it takes the room's
 * next seq (`UPDATE rooms SET last_seq = last_seq + 1 … RETURNING`, which also serialises
 * concurrent senders on the room row), inserts the message and moves the sender's read mark.
 * A failed insert rolls the increment back, so seqs stay gap-free 1..N per room.
 */
import type { Attachment } from '@switchboard/protocol';
import type { Kysely } from 'kysely';
import type { DB, MessageRow } from './schema.js';
import { isUniqueViolation } from './errors.js';
import { AttachmentsTakenError, attachFiles, releaseFiles } from './files.js';

/** A message row with its sender's display name, everything the wire `Message` needs. */
export type MessageView = MessageRow & { sender_name: string };

export interface NewMessage {
  id: string;
  roomId: string;
  senderId: string;
  text: string;
  clientMsgId: string;
  now: number;
  /** Files to attach, checked beforehand; attached in the same transaction (see `attachFiles`). */
  attachments?: readonly Attachment[];
}

export class MessageRepository {
  constructor(private readonly db: Kysely<DB>) {}

  private select(db: Kysely<DB> = this.db) {
    return db
      .selectFrom('messages')
      .innerJoin('users', 'users.id', 'messages.sender_id')
      .selectAll('messages')
      .select('users.display_name as sender_name');
  }

  /**
   * Stores a message with the room's next seq, or returns the sender's earlier message with the
   * same client id (`created: false`) and stores nothing. Undefined when the room does not exist
   * or the sender is not a member of it.
   * Throws AttachmentsTakenError when a file could no longer be attached (nothing is stored).
   */
  async append(message: NewMessage): Promise<{ message: MessageView; created: boolean } | undefined> {
    try {
      return await this.db.transaction().execute(async (trx) => {
        const earlier = await this.byClientMsgId(message.senderId, message.clientMsgId, trx);
        if (earlier) return { message: earlier, created: false };
        // The membership is checked here, in the statement that takes the room's lock, because
        // callers check it from a cache (scale/membership-cache.ts) that another node's leave
        // may not have reached yet. Leaving takes the same lock, so no send that starts after
        // a leave was acknowledged, on any node, can store a message from the former member.
        const room = await trx
          .updateTable('rooms')
          .set((eb) => ({ last_seq: eb('last_seq', '+', 1) }))
          .where('id', '=', message.roomId)
          .where(({ exists, selectFrom }) =>
            exists(
              selectFrom('memberships')
                .select('memberships.user_id')
                .where('memberships.room_id', '=', message.roomId)
                .where('memberships.user_id', '=', message.senderId),
            ),
          )
          .returning('last_seq')
          .executeTakeFirst();
        if (!room) return undefined;
        const seq = room.last_seq;
        await trx
          .insertInto('messages')
          .values({
            id: message.id,
            room_id: message.roomId,
            seq,
            sender_id: message.senderId,
            text: message.text,
            attachments: JSON.stringify(message.attachments ?? []),
            client_msg_id: message.clientMsgId,
            created_at: message.now,
            edited_at: null,
            deleted: 0,
            updated_at: message.now,
          })
          .execute();
        if (message.attachments && message.attachments.length > 0) {
          await attachFiles(trx, {
            messageId: message.id,
            roomId: message.roomId,
            uploaderId: message.senderId,
            fileIds: message.attachments.map((a) => a.id),
          });
        }
        await trx
          .updateTable('memberships')
          .set({ last_read_seq: seq })
          .where('room_id', '=', message.roomId)
          .where('user_id', '=', message.senderId)
          .where('last_read_seq', '<', seq)
          .execute();
        const stored = await this.select(trx).where('messages.id', '=', message.id).executeTakeFirstOrThrow();
        return { message: stored, created: true };
      });
    } catch (err) {
      // PostgreSQL: a concurrent retry with the same client id committed first (both passed the
      // lookup under READ COMMITTED), and either its client id or its attachments were taken.
      // Its row is the answer; this attempt rolled back entirely.
      if (!isUniqueViolation(err) && !(err instanceof AttachmentsTakenError)) throw err;
      const earlier = await this.byClientMsgId(message.senderId, message.clientMsgId);
      if (!earlier) throw err;
      return { message: earlier, created: false };
    }
  }

  byClientMsgId(senderId: string, clientMsgId: string, db: Kysely<DB> = this.db): Promise<MessageView | undefined> {
    return this.select(db)
      .where('messages.sender_id', '=', senderId)
      .where('messages.client_msg_id', '=', clientMsgId)
      .executeTakeFirst();
  }

  byId(id: string): Promise<MessageView | undefined> {
    return this.select().where('messages.id', '=', id).executeTakeFirst();
  }

  /**
   * A page of a room, always returned in ascending seq. No cursor: the latest `limit`;
   * `beforeSeq`: the `limit` just before it; `afterSeq`: the `limit` just after it. `hasMore`
   * says whether more exist further in the direction read.
   */
  async page(
    roomId: string,
    cursor: { beforeSeq?: number | undefined; afterSeq?: number | undefined },
    limit: number,
  ): Promise<{ messages: MessageView[]; hasMore: boolean }> {
    let q = this.select().where('messages.room_id', '=', roomId);
    if (cursor.afterSeq !== undefined) {
      const rows = await q
        .where('messages.seq', '>', cursor.afterSeq)
        .orderBy('messages.seq', 'asc')
        .limit(limit + 1)
        .execute();
      return { messages: rows.slice(0, limit), hasMore: rows.length > limit };
    }
    if (cursor.beforeSeq !== undefined) q = q.where('messages.seq', '<', cursor.beforeSeq);
    const rows = await q
      .orderBy('messages.seq', 'desc')
      .limit(limit + 1)
      .execute();
    return { messages: rows.slice(0, limit).reverse(), hasMore: rows.length > limit };
  }

  /** Messages at or below `maxSeq` edited or deleted at or after `since`, ascending seq. */
  changedSince(roomId: string, maxSeq: number, since: number): Promise<MessageView[]> {
    return this.select()
      .where('messages.room_id', '=', roomId)
      .where('messages.seq', '<=', maxSeq)
      .where('messages.updated_at', '>=', since)
      .where((eb) => eb.or([eb('messages.edited_at', 'is not', null), eb('messages.deleted', '=', 1)]))
      .orderBy('messages.seq', 'asc')
      .execute();
  }

  /** Replaces the text of a message that is not deleted; undefined when there is none. */
  async edit(id: string, text: string, now: number): Promise<MessageView | undefined> {
    const result = await this.db
      .updateTable('messages')
      .set({ text, edited_at: now, updated_at: now })
      .where('id', '=', id)
      .where('deleted', '=', 0)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0 ? this.byId(id) : undefined;
  }

  /**
   * Deletes a message (text and attachments emptied) and, in the same transaction, its files;
   * undefined when it was already deleted.
   */
  async delete(id: string, now: number): Promise<MessageView | undefined> {
    const deleted = await this.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('messages')
        .set({ text: '', attachments: '[]', deleted: 1, updated_at: now })
        .where('id', '=', id)
        .where('deleted', '=', 0)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return false;
      await releaseFiles(trx, id, now);
      return true;
    });
    return deleted ? this.byId(id) : undefined;
  }
}
