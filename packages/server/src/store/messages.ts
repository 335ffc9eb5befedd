/**
 * Messages. `appendBatch` is the heart of ordered delivery: in ONE transaction it stores every send
 * of a group commit (domain/messages.ts collects them). It locks the rooms involved (in id order,
 * so two nodes' batches never deadlock), re-checks membership under those locks, gives each
 * room's messages the next seqs in arrival order, inserts them all with one multi-row INSERT,
 * moves each room's `last_seq` and each sender's read mark with one UPDATE apiece, and reads the
 * senders' names. On PostgreSQL that is the same nine round trips for one message or for five
 * hundred; on SQLite, one fsync. A failed transaction rolls every increment back, so seqs stay
 * gap-free 1..N per room.
 */
import type { Attachment, Reaction } from '@switchboard/protocol';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Dialect } from './db.js';
import type { DB, MessageRow } from './schema.js';
import { isRetryableConflict } from './errors.js';
import { attachFiles, releaseFiles } from './files.js';

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
  /** The root message this one replies to, checked beforehand (a root of the same room). */
  threadId?: string | undefined;
}

/** A position in a room's changes, ordered by change time and then id: where a page of them ended. */
export interface ChangeCursor {
  at: number;
  id: string;
}

/** What became of one send of a batch. */
export type AppendOutcome =
  /**
   * Stored now (`created`), or the sender's earlier message with the same client id (nothing stored).
   * A reply stored now comes with its thread's root as the batch left it (count and last reply moved).
   */
  | { kind: 'stored'; message: MessageView; created: boolean; root?: MessageView }
  /** The room does not exist or the sender is not (any more) a member of it: nothing stored. */
  | { kind: 'not-member' }
  /** The room is archived (read-only): nothing stored. */
  | { kind: 'archived' }
  /** A file was attached to another message or deleted meanwhile: nothing stored. */
  | { kind: 'attachments-taken' };

/** Rows per INSERT: 11 parameters each stays far below SQLite's and PostgreSQL's parameter limits. */
const INSERT_CHUNK = 500;

/**
 * A concurrent transaction of another node won a race this batch lost (a retry of the same client
 * id committed first, or two batches' locks met): the batch rolled back whole, and running it
 * again sees the winner's rows. Bounded, because each retry follows someone else's progress.
 */
const MAX_CONFLICT_RETRIES = 5;

const pairKey = (senderId: string, clientMsgId: string) => `${senderId}\u0000${clientMsgId}`;

export class MessageRepository {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly dialect: Dialect,
  ) {}

  private select(db: Kysely<DB> = this.db) {
    return db
      .selectFrom('messages')
      .innerJoin('users', 'users.id', 'messages.sender_id')
      .selectAll('messages')
      .select('users.display_name as sender_name');
  }

  /**
   * Stores a batch of sends in one transaction and returns one outcome per send, in order. Sends
   * of one room get consecutive seqs in batch order. A send whose sender and client id match a
   * stored message, or an earlier send of the same batch, stores nothing and answers that message.
   * Throws (storing nothing) only when the transaction itself fails.
   */
  async appendBatch(batch: readonly NewMessage[]): Promise<AppendOutcome[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.db.transaction().execute((trx) => this.appendIn(trx, batch));
      } catch (err) {
        if (attempt >= MAX_CONFLICT_RETRIES || !isRetryableConflict(err)) throw err;
      }
    }
  }

  private async appendIn(trx: Transaction<DB>, batch: readonly NewMessage[]): Promise<AppendOutcome[]> {
    const roomIds = [...new Set(batch.map((m) => m.roomId))].sort();
    const senderIds = [...new Set(batch.map((m) => m.senderId))];

    // The room locks come first: a leave (store/rooms.ts) takes the same lock, so no send that
    // starts after a leave was acknowledged, on any node, can store a message from the former
    // member; and a retry racing its first attempt in the same room waits here and then finds it.
    // SQLite's `BEGIN IMMEDIATE` already holds the whole database.
    // `archived` is read under the same lock, so a send racing an archive either commits first or is refused.
    let roomQuery = trx.selectFrom('rooms').select(['id', 'last_seq', 'archived']).where('id', 'in', roomIds).orderBy('id');
    if (this.dialect === 'postgres') roomQuery = roomQuery.forUpdate();
    const lockedRooms = await roomQuery.execute();
    const lastSeq = new Map(lockedRooms.map((r) => [r.id, r.last_seq]));
    const archived = new Set(lockedRooms.filter((r) => r.archived === 1).map((r) => r.id));

    const [memberRows, earlierRows] = await Promise.all([
      trx
        .selectFrom('memberships')
        .select(['room_id', 'user_id'])
        .where('room_id', 'in', roomIds)
        .where('user_id', 'in', senderIds)
        .execute(),
      this.select(trx)
        .where('messages.sender_id', 'in', senderIds)
        .where('messages.client_msg_id', 'in', [...new Set(batch.map((m) => m.clientMsgId))])
        .execute(),
    ]);
    const members = new Set(memberRows.map((r) => `${r.room_id}|${r.user_id}`));
    const earlier = new Map(earlierRows.map((r) => [pairKey(r.sender_id, r.client_msg_id), r]));
    const takenFiles = await this.unattachable(trx, batch);

    // Each send's fate: decided now, a row to insert, or the same as an earlier send of the batch.
    type Slot = { outcome: AppendOutcome } | { row: MessageRow } | { sameAs: number };
    const slots: Slot[] = [];
    const rows: MessageRow[] = [];
    const firstOf = new Map<string, number>();
    const readMarks = new Map<string, { roomId: string; userId: string; seq: number }>();
    for (const [i, m] of batch.entries()) {
      const key = pairKey(m.senderId, m.clientMsgId);
      const stored = earlier.get(key);
      const first = firstOf.get(key);
      if (stored) slots.push({ outcome: { kind: 'stored', message: stored, created: false } });
      else if (first !== undefined) slots.push({ sameAs: first });
      else {
        firstOf.set(key, i);
        const seq = lastSeq.get(m.roomId);
        if (seq === undefined || !members.has(`${m.roomId}|${m.senderId}`)) slots.push({ outcome: { kind: 'not-member' } });
        else if (archived.has(m.roomId)) slots.push({ outcome: { kind: 'archived' } });
        else if (takenFiles.has(i)) slots.push({ outcome: { kind: 'attachments-taken' } });
        else {
          lastSeq.set(m.roomId, seq + 1);
          readMarks.set(`${m.roomId}|${m.senderId}`, { roomId: m.roomId, userId: m.senderId, seq: seq + 1 });
          const row: MessageRow = {
            id: m.id,
            room_id: m.roomId,
            seq: seq + 1,
            sender_id: m.senderId,
            text: m.text,
            attachments: JSON.stringify(m.attachments ?? []),
            client_msg_id: m.clientMsgId,
            created_at: m.now,
            edited_at: null,
            deleted: 0,
            updated_at: m.now,
            thread_id: m.threadId ?? null,
            reply_count: 0,
            last_reply_at: null,
            reactions: '[]',
          };
          rows.push(row);
          slots.push({ row });
        }
      }
    }
    const names = rows.length > 0 ? await this.storeRows(trx, batch, rows, lastSeq, [...readMarks.values()]) : new Map<string, string>();
    const roots = await this.countReplies(trx, rows);

    const outcomes: AppendOutcome[] = [];
    for (const slot of slots) {
      if ('outcome' in slot) outcomes.push(slot.outcome);
      else if ('row' in slot) {
        const root = slot.row.thread_id === null ? undefined : roots.get(slot.row.thread_id);
        outcomes.push({
          kind: 'stored',
          message: { ...slot.row, sender_name: names.get(slot.row.sender_id) ?? '' },
          created: true,
          ...(root ? { root } : {}),
        });
      } else {
        const answer = outcomes[slot.sameAs] ?? { kind: 'not-member' };
        outcomes.push(answer.kind === 'stored' ? { ...answer, created: false } : answer);
      }
    }
    return outcomes;
  }

  /** Inserts the rows, attaches their files, moves the rooms' seqs and the senders' read marks; returns the senders' names. */
  private async storeRows(
    trx: Transaction<DB>,
    batch: readonly NewMessage[],
    rows: readonly MessageRow[],
    lastSeq: ReadonlyMap<string, number>,
    marks: readonly { roomId: string; userId: string; seq: number }[],
  ): Promise<Map<string, string>> {
    for (let at = 0; at < rows.length; at += INSERT_CHUNK) {
      await trx.insertInto('messages').values(rows.slice(at, at + INSERT_CHUNK)).execute();
    }
    const inserted = new Set(rows.map((r) => r.id));
    for (const m of batch) {
      if (m.attachments && m.attachments.length > 0 && inserted.has(m.id)) {
        await attachFiles(trx, { messageId: m.id, roomId: m.roomId, uploaderId: m.senderId, fileIds: m.attachments.map((a) => a.id) });
      }
    }
    const touched = [...new Set(rows.map((r) => r.room_id))];
    // One statement for all rooms and one for all read marks, whatever the batch's size. Every
    // mark moves to a seq just taken under the room's lock, so none can move backwards.
    await trx
      .updateTable('rooms')
      .set({ last_seq: sql<number>`case id ${sql.join(touched.map((id) => sql`when ${id} then cast(${lastSeq.get(id)} as bigint)`), sql` `)} end` })
      .where('id', 'in', touched)
      .execute();
    await trx
      .updateTable('memberships')
      .set({
        last_read_seq: sql<number>`case ${sql.join(
          marks.map((k) => sql`when room_id = ${k.roomId} and user_id = ${k.userId} then cast(${k.seq} as bigint)`),
          sql` `,
        )} else last_read_seq end`,
      })
      .where('room_id', 'in', touched)
      .where('user_id', 'in', [...new Set(marks.map((k) => k.userId))])
      .execute();
    const users = await trx
      .selectFrom('users')
      .select(['id', 'display_name'])
      .where('id', 'in', [...new Set(rows.map((r) => r.sender_id))])
      .execute();
    return new Map(users.map((u) => [u.id, u.display_name]));
  }

  /**
   * Moves the reply count and last reply of every root the batch's replies belong to, in the
   * batch's transaction (so a count never disagrees with the replies stored), and reads them back.
   * Roots are never deleted and never become replies, so the check made before the batch holds.
   */
  private async countReplies(trx: Transaction<DB>, rows: readonly MessageRow[]): Promise<Map<string, MessageView>> {
    const replies = new Map<string, { count: number; at: number }>();
    for (const row of rows) {
      if (row.thread_id === null) continue;
      const seen = replies.get(row.thread_id);
      replies.set(row.thread_id, { count: (seen?.count ?? 0) + 1, at: Math.max(seen?.at ?? 0, row.created_at) });
    }
    if (replies.size === 0) return new Map();
    for (const [rootId, { count, at }] of [...replies].sort(([a], [b]) => a.localeCompare(b))) {
      await trx
        .updateTable('messages')
        .set({
          reply_count: sql<number>`reply_count + ${count}`,
          last_reply_at: sql<number>`case when last_reply_at is null or last_reply_at < ${at} then cast(${at} as bigint) else last_reply_at end`,
          updated_at: changedAt(at),
        })
        .where('id', '=', rootId)
        .execute();
    }
    const roots = await this.select(trx).where('messages.id', 'in', [...replies.keys()]).execute();
    return new Map(roots.map((r) => [r.id, r]));
  }

  /**
   * Indexes of the batch's sends whose files can no longer be attached (attached to another
   * message or deleted since they were checked). On PostgreSQL the files stay locked until commit.
   */
  private async unattachable(trx: Transaction<DB>, batch: readonly NewMessage[]): Promise<Set<number>> {
    const taken = new Set<number>();
    for (const [i, m] of batch.entries()) {
      const fileIds = (m.attachments ?? []).map((a) => a.id);
      if (fileIds.length === 0) continue;
      let q = trx
        .selectFrom('files')
        .select('id')
        .where('id', 'in', fileIds)
        .where('room_id', '=', m.roomId)
        .where('uploader_id', '=', m.senderId)
        .where('message_id', 'is', null)
        .where('deleted_at', 'is', null);
      if (this.dialect === 'postgres') q = q.forUpdate();
      if ((await q.execute()).length !== new Set(fileIds).size) taken.add(i);
    }
    return taken;
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

  /**
   * Messages at or below `maxSeq` edited or deleted at or after `since` (or after a cursor), at most
   * `limit` of them, in ascending seq; `next` says where to continue when more remain. Pages are
   * cut in change order, so a cursor stays valid however the changes' seqs interleave.
   */
  async changedSince(
    roomId: string,
    maxSeq: number,
    from: { since: number } | { after: ChangeCursor },
    limit: number,
  ): Promise<{ messages: MessageView[]; next?: ChangeCursor }> {
    const rows = await this.select()
      .where('messages.room_id', '=', roomId)
      .where('messages.seq', '<=', maxSeq)
      .where((eb) =>
        'since' in from
          ? eb('messages.updated_at', '>=', from.since)
          : eb.or([
              eb('messages.updated_at', '>', from.after.at),
              eb.and([eb('messages.updated_at', '=', from.after.at), eb('messages.id', '>', from.after.id)]),
            ]),
      )
      .where((eb) =>
        eb.or([eb('messages.edited_at', 'is not', null), eb('messages.deleted', '=', 1), eb('messages.updated_at', '>', eb.ref('messages.created_at'))]),
      )
      .orderBy('messages.updated_at', 'asc')
      .orderBy('messages.id', 'asc')
      .limit(limit + 1)
      .execute();
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      messages: page.sort((a, b) => a.seq - b.seq),
      ...(rows.length > limit && last ? { next: { at: last.updated_at, id: last.id } } : {}),
    };
  }

  /**
   * A page of a thread's replies after `afterSeq`, ascending; `hasMore` when more follow. Deleted
   * replies are listed, as in a room's history.
   */
  async thread(rootId: string, afterSeq: number, limit: number): Promise<{ messages: MessageView[]; hasMore: boolean }> {
    const rows = await this.select()
      .where('messages.thread_id', '=', rootId)
      .where('messages.seq', '>', afterSeq)
      .orderBy('messages.seq', 'asc')
      .limit(limit + 1)
      .execute();
    return { messages: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  /**
   * Adds (`on`) or removes a user's reaction, in a transaction that holds the row. Answers the
   * message when it changed, `unchanged` when the user's reaction already was as asked, `deleted`
   * for a deleted (or unknown) message and `full` when a new emoji would exceed `maxEmoji`.
   */
  async react(
    id: string,
    change: { userId: string; emoji: string; on: boolean; now: number },
    maxEmoji: number,
  ): Promise<MessageView | 'unchanged' | 'deleted' | 'full'> {
    const outcome = await this.db.transaction().execute(async (trx) => {
      let q = trx.selectFrom('messages').select(['reactions', 'deleted', 'created_at']).where('id', '=', id);
      if (this.dialect === 'postgres') q = q.forUpdate();
      const row = await q.executeTakeFirst();
      if (!row || row.deleted === 1) return 'deleted' as const;
      const reactions = JSON.parse(row.reactions) as Reaction[];
      const at = reactions.findIndex((r) => r.emoji === change.emoji);
      const users = reactions[at]?.userIds ?? [];
      if (users.includes(change.userId) === change.on) return 'unchanged' as const;
      if (change.on && at < 0) {
        if (reactions.length >= maxEmoji) return 'full' as const;
        reactions.push({ emoji: change.emoji, userIds: [change.userId] });
      } else if (change.on) users.push(change.userId);
      else if (users.length === 1) reactions.splice(at, 1);
      else users.splice(users.indexOf(change.userId), 1);
      await trx
        .updateTable('messages')
        .set({ reactions: JSON.stringify(reactions), updated_at: changedAt(change.now) })
        .where('id', '=', id)
        .execute();
      return 'changed' as const;
    });
    if (outcome !== 'changed') return outcome;
    return (await this.byId(id)) ?? 'deleted';
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

/**
 * `updated_at` for a change that is neither an edit nor a deletion (replies, reactions): later than
 * the message's creation even within the same millisecond, which is how `changedSince` tells a
 * changed message from one merely created after `updatedSince`.
 */
function changedAt(now: number) {
  return sql<number>`case when created_at < ${now} then cast(${now} as bigint) else created_at + 1 end`;
}
