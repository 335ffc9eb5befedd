/**
 * Messages (PROTOCOL §4.1): send (idempotent per sender and client id, seq gap-free per room),
 * edit, delete, history pages and `sync`. Every change is durably stored before it is
 * published on the bus, so no acknowledgement or broadcast ever runs ahead of the database.
 */
import {
  Limits,
  type Attachment,
  type Message,
  type MessageHistoryInput,
  type MessageSendInput,
  type Reaction,
  type Role,
  type SyncInput,
  type SyncRoomResult,
} from '@switchboard/protocol';
import type { EventBus } from './bus.js';
import { conflict, forbidden, invalid, notFound } from './errors.js';
import type { FileService } from './files.js';
import { newId } from './ids.js';
import { toRoom, type RoomService } from './rooms.js';
import { isUnavailable } from '../store/errors.js';
import type { AppendOutcome, ChangeCursor, MessageRepository, MessageView, NewMessage } from '../store/messages.js';
import type { RoomRow } from '../store/schema.js';

/**
 * An edit's `updated_at` is taken before its transaction commits, and on several nodes by different
 * clocks, so a change can become visible after a `sync` whose `serverTime` is later than its
 * `updated_at`. Reading `updated` from this much earlier than `updatedSince` reports such a change to
 * the next sync instead of losing it; clients apply `updated` idempotently, so repeats are harmless.
 */
export const SYNC_LOOKBACK_MS = 30_000;

/** `@username` mentions; usernames are 3–32 of `[A-Za-z0-9_.-]` (PROTOCOL §3). */
const MENTION = /(?<![A-Za-z0-9_.-])@([A-Za-z0-9_.-]{3,32})/g;

/** Usernames a text mentions. A trailing `.` or `-` may be punctuation ("thanks @ann."), so both readings count. */
export function mentionedUsernames(text: string): string[] {
  const names = new Set<string>();
  for (const [, name] of text.matchAll(MENTION)) {
    if (!name) continue;
    names.add(name.toLowerCase());
    const trimmed = name.replace(/[.-]+$/, '');
    if (trimmed.length >= 3) names.add(trimmed.toLowerCase());
  }
  return [...names];
}

/** `updatedCursor` on the wire is `<updated_at>.<id>` (the schema checks its shape). */
function parseChangeCursor(cursor: string): ChangeCursor {
  const dot = cursor.indexOf('.');
  return { at: Number(cursor.slice(0, dot)), id: cursor.slice(dot + 1) };
}

/** A stored message as the wire has it. */
export function toMessage(row: MessageView): Message {
  return {
    id: row.id,
    roomId: row.room_id,
    seq: row.seq,
    senderId: row.sender_id,
    senderName: row.sender_name,
    text: row.text,
    attachments: JSON.parse(row.attachments) as Attachment[],
    clientMsgId: row.client_msg_id,
    createdAt: row.created_at,
    editedAt: row.edited_at,
    deleted: row.deleted === 1,
    threadId: row.thread_id,
    replyCount: row.reply_count,
    lastReplyAt: row.last_reply_at,
    reactions: JSON.parse(row.reactions) as Reaction[],
  };
}

/** Who is acting, as the transport knows it. */
export interface Actor {
  userId: string;
  role: Role;
}

type SendInput = Omit<MessageSendInput, 'attachmentIds'> & { attachmentIds?: string[] | undefined };
type HistoryInput = Omit<MessageHistoryInput, 'limit'> & { limit?: number | undefined };

/** A send checked and ready to store, with what its announcement needs. */
interface PreparedSend {
  row: NewMessage;
  room: RoomRow;
  mentioned: string[];
}

/** A send waiting for the next group commit. */
interface QueuedSend extends PreparedSend {
  resolve: (message: Message) => void;
  reject: (err: unknown) => void;
}

/**
 * What `MessageService.send` hands back: `stored` settles with the stored message (the ack);
 * `queued` settles once the send has joined a commit (or failed before), so the caller can keep
 * a connection's sends in the order they arrived without waiting for each one's commit.
 */
export interface SendHandle {
  queued: Promise<void>;
  stored: Promise<Message>;
}

export class MessageService {
  /** Sends that arrived while a commit was in flight; the next commit takes them all. */
  private waiting: QueuedSend[] = [];
  private committing = false;

  constructor(
    private readonly messages: MessageRepository,
    private readonly rooms: RoomService,
    private readonly bus: EventBus,
    private readonly files: FileService,
  ) {}

  /**
   * Stores a message with its room's next seq, then acknowledges and announces it; a retry (same
   * sender and client id) answers the stored message and announces nothing. The send joins the
   * next group commit after `after` (the same connection's previous send) has joined one, so one
   * connection's messages keep their order while nothing waits for an unrelated room or socket.
   */
  send(senderId: string, input: SendInput, after?: Promise<void>): SendHandle {
    const prepared = this.prepare(senderId, input);
    // Settled only through `turn` below; this keeps an early failure from being reported unhandled.
    prepared.catch(() => undefined);
    const turn = (after ?? Promise.resolve()).then(async () => {
      const ready = await prepared;
      if ('message' in ready) return { stored: Promise.resolve(ready.message) };
      return { stored: this.enqueue(ready) };
    });
    const noop = () => undefined;
    return { queued: turn.then(noop, noop), stored: turn.then((t) => t.stored) };
  }

  /** Checks a send: membership (cached), files, mentions. A retry whose files were attached answers its first message. */
  private async prepare(senderId: string, input: SendInput): Promise<PreparedSend | { message: Message }> {
    const { room } = await this.rooms.requireMember(senderId, input.roomId);
    let attachments: Attachment[] = [];
    if ((input.attachmentIds?.length ?? 0) > 0) {
      // A retry's files are attached to its first message already: answer it before checking them.
      const earlier = await this.messages.byClientMsgId(senderId, input.clientMsgId);
      if (earlier) return { message: toMessage(earlier) };
      attachments = await this.files.attachable(senderId, input.roomId, input.attachmentIds ?? []);
    }
    if (input.threadId !== undefined) await this.requireRoot(input.threadId, input.roomId);
    const mentioned = await this.rooms.membersNamed(input.roomId, mentionedUsernames(input.text));
    return {
      row: { id: newId(), roomId: input.roomId, senderId, text: input.text, clientMsgId: input.clientMsgId, now: Date.now(), attachments, threadId: input.threadId },
      room,
      mentioned,
    };
  }

  /** A reply's `threadId` must name a root message (not a reply) of the same room. */
  private async requireRoot(threadId: string, roomId: string): Promise<void> {
    const root = await this.messages.byId(threadId);
    if (!root || root.room_id !== roomId || root.thread_id !== null) {
      throw invalid('threadId must be a message of this room that is not itself a reply');
    }
  }

  private enqueue(send: PreparedSend): Promise<Message> {
    return new Promise<Message>((resolve, reject) => {
      this.waiting.push({ ...send, resolve, reject });
      if (this.committing) return;
      // Starts after this turn of the event loop has read every request that was ready: SQLite
      // runs synchronously, so a commit started at once would finish before the next socket's
      // data is even read, and every batch would hold a single send. PostgreSQL batches anyway
      // (sends arrive while its commit is on the wire); this costs it nothing measurable.
      this.committing = true;
      setImmediate(() => void this.commitWaiting());
    });
  }

  /**
   * Group commit: one transaction stores every send that is waiting, then each is acknowledged
   * and announced in batch order, which is seq order in every room; meanwhile new sends wait for
   * the next commit. So a send waits for at most one commit besides its own, and one fsync (SQLite)
   * or one set of round trips (PostgreSQL) serves them all. Announcing before the next commit
   * starts keeps `message:new` leaving this node in seq order.
   */
  private async commitWaiting(): Promise<void> {
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting;
        this.waiting = [];
        // Settling a settled promise does nothing: this reaches only the sends left unanswered.
        await this.commit(batch).catch((err: unknown) => {
          for (const send of batch) send.reject(err);
        });
      }
    } finally {
      this.committing = false;
    }
  }

  private async commit(batch: QueuedSend[]): Promise<void> {
    let outcomes: AppendOutcome[];
    try {
      outcomes = await this.messages.appendBatch(batch.map((s) => s.row));
    } catch (err) {
      // A lost database fails every send alike. Any other failure may be one send's doing (a row
      // the database refuses): each is tried on its own, so the others are not failed with it.
      if (batch.length === 1 || isUnavailable(err)) {
        for (const send of batch) send.reject(err);
        return;
      }
      for (const send of batch) await this.commit([send]);
      return;
    }
    // A root that got several replies in this batch is announced once, after them, as the batch left it.
    const roots = new Map<string, Message>();
    for (const [i, send] of batch.entries()) {
      const outcome = outcomes[i];
      if (outcome?.kind === 'stored') {
        const message = toMessage(outcome.message);
        if (outcome.created) this.announce(send, message);
        if (outcome.root) roots.set(outcome.root.id, toMessage(outcome.root));
        send.resolve(message);
      } else if (outcome?.kind === 'archived') {
        send.reject(forbidden('this room is archived'));
      } else if (outcome?.kind === 'attachments-taken') {
        send.reject(conflict('a file was attached to another message or deleted meanwhile'));
      } else {
        // The room existed a moment ago (rooms are never deleted): the membership ended since.
        send.reject(forbidden('you are not a member of this room'));
      }
    }
    for (const root of roots.values()) this.bus.publish('message.updated', { message: root });
  }

  private announce({ room, mentioned }: PreparedSend, message: Message): void {
    this.bus.publish('message.created', {
      message,
      // As the recipients see it: a DM is named after the sender.
      room: toRoom({ ...room, last_seq: Math.max(room.last_seq, message.seq) }, room.kind === 'dm' ? message.senderName : room.name),
      mentionedUserIds: mentioned.filter((id) => id !== message.senderId),
    });
  }

  /** A message the user may see: NOT_FOUND when unknown, FORBIDDEN when not a member of its room. */
  private async readable(userId: string, messageId: string): Promise<MessageView> {
    const row = await this.messages.byId(messageId);
    if (!row) throw notFound('message');
    await this.rooms.requireMember(userId, row.room_id);
    return row;
  }

  async edit(userId: string, messageId: string, text: string): Promise<Message> {
    const row = await this.readable(userId, messageId);
    if (row.sender_id !== userId) throw forbidden('only the sender can edit a message');
    await this.rooms.assertWritable(row.room_id);
    if (row.deleted === 1) throw conflict('a deleted message cannot be edited');
    const edited = await this.messages.edit(messageId, text, Date.now());
    // Deleted between the check and the write.
    if (!edited) throw conflict('a deleted message cannot be edited');
    const message = toMessage(edited);
    this.bus.publish('message.updated', { message });
    return message;
  }

  /** Idempotent: deleting a deleted message succeeds and changes nothing. */
  async delete(actor: Actor, messageId: string): Promise<void> {
    const row = await this.readable(actor.userId, messageId);
    if (row.sender_id !== actor.userId && actor.role !== 'admin') {
      throw forbidden('only the sender or an admin can delete a message');
    }
    const deleted = await this.messages.delete(messageId, Date.now());
    if (deleted) this.bus.publish('message.updated', { message: toMessage(deleted) });
  }

  /** A thread: its root and a page of its replies (ascending from the first, or after `afterSeq`). */
  async thread(
    userId: string,
    input: { messageId: string; afterSeq?: number | undefined; limit?: number | undefined },
  ): Promise<{ root: Message; messages: Message[]; hasMore: boolean }> {
    const root = await this.readable(userId, input.messageId);
    if (root.thread_id !== null) throw invalid('messageId is a reply: ask for its thread root');
    const page = await this.messages.thread(root.id, input.afterSeq ?? 0, input.limit ?? Limits.pageDefault);
    return { root: toMessage(root), messages: page.messages.map(toMessage), hasMore: page.hasMore };
  }

  /** Adds or removes the user's reaction; idempotent, and announced only when something changed. */
  async react(userId: string, input: { messageId: string; emoji: string; on: boolean }): Promise<void> {
    const row = await this.readable(userId, input.messageId);
    await this.rooms.assertWritable(row.room_id);
    const outcome = await this.messages.react(
      input.messageId,
      { userId, emoji: input.emoji, on: input.on, now: Date.now() },
      Limits.reactionsPerMessageMax,
    );
    if (outcome === 'deleted') throw conflict('a deleted message cannot be reacted to');
    if (outcome === 'full') throw conflict(`a message holds at most ${Limits.reactionsPerMessageMax} different emoji`);
    if (outcome !== 'unchanged') this.bus.publish('message.updated', { message: toMessage(outcome) });
  }

  async history(userId: string, input: HistoryInput): Promise<{ messages: Message[]; hasMore: boolean }> {
    await this.rooms.requireMember(userId, input.roomId);
    const page = await this.messages.page(input.roomId, input, input.limit ?? Limits.pageDefault);
    return { messages: page.messages.map(toMessage), hasMore: page.hasMore };
  }

  /** Up to `limit` messages of a room after `afterSeq`, in seq order, for the room's own machinery (webhooks). */
  async after(roomId: string, afterSeq: number, limit: number): Promise<Message[]> {
    return (await this.messages.page(roomId, { afterSeq }, limit)).messages.map(toMessage);
  }

  /**
   * Everything after each room's `lastSeq` (up to `Limits.syncPageMax` per room), plus what was
   * edited or deleted at or below it since `updatedSince` (or after the room's `updatedAfter`
   * cursor), also at most `Limits.syncPageMax` per room, so no answer is unbounded. `serverTime` is read before any query,
   * so a change racing this sync is reported again by the next one rather than lost between them.
   * `updated` also repeats changes from `SYNC_LOOKBACK_MS` before `updatedSince`: see there.
   */
  async sync(userId: string, input: SyncInput): Promise<{ serverTime: number; rooms: SyncRoomResult[] }> {
    const serverTime = Date.now();
    const roomIds = Object.keys(input.rooms);
    const { rooms, member } = await this.rooms.readable(userId, roomIds);
    // The answer's budget goes to the rooms in request order: first their new messages (whose
    // number each room's last_seq tells without a query), then their changes.
    let budget: number = Limits.syncAnswerMax;
    type Plan = { roomId: string; error: { code: 'NOT_FOUND' | 'FORBIDDEN' } } | { roomId: string; lastSeq: number; limit: number; behind: boolean };
    const plans = roomIds.map((roomId): Plan => {
      const room = rooms.get(roomId);
      if (!room) return { roomId, error: { code: 'NOT_FOUND' } };
      if (!member.has(roomId)) return { roomId, error: { code: 'FORBIDDEN' } };
      const lastSeq = input.rooms[roomId] ?? 0;
      const limit = Math.min(Limits.syncPageMax, Math.max(0, room.last_seq - lastSeq), budget);
      budget -= limit;
      return { roomId, lastSeq, limit, behind: room.last_seq > lastSeq };
    });
    const pages = await Promise.all(
      plans.map((plan) =>
        'error' in plan || plan.limit === 0
          ? { messages: [], hasMore: 'error' in plan ? false : plan.behind }
          : this.messages.page(plan.roomId, { afterSeq: plan.lastSeq }, plan.limit),
      ),
    );
    const results: SyncRoomResult[] = [];
    for (const [i, plan] of plans.entries()) {
      if ('error' in plan) {
        results.push({ roomId: plan.roomId, error: plan.error });
        continue;
      }
      const page = pages[i] ?? { messages: [], hasMore: false };
      const cursor = input.updatedAfter?.[plan.roomId];
      const from = cursor ? { after: parseChangeCursor(cursor) } : { since: Math.max(0, (input.updatedSince ?? 0) - SYNC_LOOKBACK_MS) };
      const wanted = plan.lastSeq > 0 && (input.updatedSince !== undefined || cursor !== undefined);
      // Sequential, so each room's changes know what is left of the budget.
      const updated =
        !wanted
          ? { messages: [], next: undefined }
          : budget === 0
            ? { messages: [], next: 'after' in from ? from.after : { at: from.since, id: '' } }
            : await this.messages.changedSince(plan.roomId, plan.lastSeq, from, Math.min(Limits.syncPageMax, budget));
      budget -= updated.messages.length;
      results.push({
        roomId: plan.roomId,
        messages: page.messages.map(toMessage),
        updated: updated.messages.map(toMessage),
        hasMore: page.hasMore,
        updatedHasMore: updated.next !== undefined,
        ...(updated.next ? { updatedCursor: `${updated.next.at}.${updated.next.id}` } : {}),
      });
    }
    return { serverTime, rooms: results };
  }
}
