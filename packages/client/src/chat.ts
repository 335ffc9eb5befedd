/**
 * `client.chat`: typed requests for every `/chat` event (PROTOCOL §4.1), the outbox, and
 * gap-free delivery.
 *
 * Delivery: every room the user is in is tracked by the Sequencer with the highest contiguous
 * `seq` delivered. The starting point is the app's saved `syncState()` when given, else each
 * room's `lastSeq` from `room:list` on the first connect (older messages are history, read with
 * `history()`), the `lastSeq` a room comes with when it appears later (created, joined, invited),
 * and 0 for rooms found by `room:list` after a reconnect or by a live message before their
 * `Room` arrived. After every (re)connect, on every gap, and on `resync()`, the
 * client asks `sync` for everything after its cursors — and for edits since the previous answer's
 * `serverTime`, delivered as `messageUpdated` — one sync at a time, paging while `hasMore`.
 * Rooms that `sync` refuses (left, removed) stop being tracked.
 */
import {
  ErrorCode,
  Limits,
  MessageSendInput,
  type ChatClientToServer,
  type Message,
  type PresenceEvent,
  type ReadEvent,
  type Room,
  type RoomBrowseInput,
  type RoomCreateInput,
  type RoomMember,
  type RoomMemberEvent,
  type RoomWithReadState,
  type SearchResult,
  type SyncInput,
  type SyncRoomResult,
  type TypingEvent,
  type UserSummary,
} from '@switchboard/protocol';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import type { Connection, Requester } from './connection.js';
import { Emitter } from './emitter.js';
import { SwitchboardError } from './errors.js';
import { newClientMsgId } from './ids.js';
import { Outbox, type OutboxEntry } from './outbox.js';
import { Sequencer } from './sequencer.js';

/** Where delivery resumes: what `syncState()` returned in an earlier run of the app. */
export interface SyncState {
  /** Highest contiguous `seq` the app holds, per room. */
  cursors: Record<string, number>;
  /** `serverTime` of the last completed sync: edits since then are delivered as `messageUpdated`. */
  updatedSince?: number;
}

export interface UnreadEvent {
  roomId: string;
  unread: number;
  lastReadSeq: number;
}

export interface ChatEvents {
  /** A new message: exactly once per message, in `seq` order within each room. */
  message: (message: Message) => void;
  /** An edit, deletion, reaction or reply count change of a message delivered before. */
  messageUpdated: (message: Message) => void;
  typing: (event: TypingEvent) => void;
  read: (event: ReadEvent) => void;
  presence: (event: PresenceEvent) => void;
  /** A room joined the client's list (created, joined, invited, DM opened, or found on connect). */
  roomAdded: (room: RoomWithReadState) => void;
  /** A room left the list (left here or elsewhere, or no longer readable). */
  roomRemoved: (roomId: string) => void;
  member: (event: RoomMemberEvent) => void;
  /** A known room's name, topic, archived state or mute changed (here or elsewhere). */
  roomUpdated: (room: RoomWithReadState) => void;
  /** The unread count or read mark of a room changed. */
  unread: (event: UnreadEvent) => void;
  /** An outbox entry changed; `entries` are all pending and failed entries, in send order. */
  outbox: (entry: OutboxEntry, entries: readonly OutboxEntry[]) => void;
  /** The client has caught up with the server (after each connect, gap or `resync()`). */
  synced: () => void;
}

export interface SendOptions {
  /** Reuse an id (e.g. an outbox entry persisted by the app before a restart); generated otherwise. */
  clientMsgId?: string;
  /** Files uploaded with `POST /api/files`. */
  attachmentIds?: readonly string[];
  /** Sends a reply in the thread of this root message of the same room. */
  threadId?: string;
}

export interface ThreadOptions {
  /** Replies after this seq (the last one held); from the first reply when absent. */
  afterSeq?: number;
  limit?: number;
}

export interface HistoryOptions {
  beforeSeq?: number;
  afterSeq?: number;
  limit?: number;
}

export interface SearchOptions {
  /** Only this room. */
  roomId?: string;
  /** The id of the last result already seen: continues with older matches. */
  before?: string;
  limit?: number;
}

export interface ChatOptions {
  backoff: BackoffOptions;
  resumeFrom: SyncState | undefined;
  /** The signed-in user's id, once known (own messages do not count as unread). */
  me: () => string | undefined;
}

/** Splits a cursor map into `sync`-sized requests; always at least one (it brings `serverTime`). */
function chunks(cursors: Record<string, number>): Record<string, number>[] {
  const ids = Object.keys(cursors);
  const out: Record<string, number>[] = [];
  for (let i = 0; i === 0 || i < ids.length; i += Limits.syncRoomsMax) {
    out.push(Object.fromEntries(ids.slice(i, i + Limits.syncRoomsMax).map((id) => [id, cursors[id] ?? 0])));
  }
  return out;
}

export class ChatApi extends Emitter<ChatEvents> {
  private readonly rooms = new Map<string, RoomWithReadState>();
  private readonly sequencer: Sequencer;
  private readonly queue: Outbox;
  private readonly requests: Requester<ChatClientToServer>;
  /** Live events that arrived before the first `room:list` said where each room starts. */
  private held: { updated: boolean; message: Message }[] | undefined = [];
  private needRoomList = true;
  private updatedSince: number | undefined;
  private syncing: Promise<void> | undefined;
  private syncAgain = false;
  private syncFailures = 0;
  private syncTimer: ReturnType<typeof setTimeout> | undefined;
  /** Counts `room:updated`s applied, so a `room:list` answer sent before one cannot undo it. */
  private roomUpdates = 0;

  constructor(
    private readonly conn: Connection,
    private readonly options: ChatOptions,
  ) {
    super();
    this.requests = conn.chatRequests;
    this.updatedSince = options.resumeFrom?.updatedSince;
    this.sequencer = new Sequencer({
      deliver: (message) => this.deliver(message),
      update: (message) => this.emit('messageUpdated', message),
      gap: () => this.catchUpInBackground(),
    });
    this.queue = new Outbox(
      {
        send: async (entry) => {
          const payload = {
            roomId: entry.roomId,
            clientMsgId: entry.clientMsgId,
            text: entry.text,
            ...(entry.attachmentIds ? { attachmentIds: [...entry.attachmentIds] } : {}),
            ...(entry.threadId ? { threadId: entry.threadId } : {}),
          };
          return (await this.requests.send('message:send', payload)).message;
        },
        connected: () => conn.chat.connected,
        changed: (entry, entries) => this.emit('outbox', entry, entries),
      },
      options.backoff,
    );

    const socket = conn.chat;
    socket.on('connect', () => {
      this.queue.pump();
      this.needRoomList = true;
      this.catchUpInBackground();
    });
    socket.on('message:new', (message) => {
      if (this.held) this.held.push({ updated: false, message });
      else this.acceptLive(message);
    });
    socket.on('message:updated', (message) => {
      if (this.held) this.held.push({ updated: true, message });
      else this.sequencer.update(message);
    });
    socket.on('typing', (event) => this.emit('typing', event));
    socket.on('presence', (event) => this.emit('presence', event));
    socket.on('read', (event) => {
      this.applyRead(event);
      this.emit('read', event);
    });
    socket.on('room:added', (room) => this.addRoom(room));
    socket.on('room:updated', (room) => this.applyRoomUpdate(room));
    socket.on('room:member', (event) => {
      if (event.userId === options.me()) {
        if (event.action === 'left') this.removeRoom(event.roomId);
        else if (!this.rooms.has(event.roomId)) {
          // Joined from another device: `room:list` brings the room itself.
          this.needRoomList = true;
          this.catchUpInBackground();
        }
      }
      this.emit('member', event);
    });
  }

  // ------------------------------------------------------------------ state for UIs

  /** The rooms the client knows, with read state and unread counts kept current. */
  get roomList(): RoomWithReadState[] {
    return [...this.rooms.values()].map((r) => ({ ...r }));
  }

  room(roomId: string): RoomWithReadState | undefined {
    const room = this.rooms.get(roomId);
    return room && { ...room };
  }

  /** Pending and failed messages, in send order. */
  get outbox(): OutboxEntry[] {
    return this.queue.list();
  }

  /** What to pass as `resumeFrom` to continue delivery in a later run without gaps or repeats. */
  syncState(): SyncState {
    const cursors = this.sequencer.cursors();
    return this.updatedSince === undefined ? { cursors } : { cursors, updatedSince: this.updatedSince };
  }

  // ------------------------------------------------------------------ messages

  /**
   * Queues a message and resolves to the stored Message once the server has it. Retried with the
   * same `clientMsgId` until acknowledged; rejects (and the entry turns `failed`) on a refusal
   * that retrying cannot fix. Invalid input rejects at once, without an outbox entry.
   */
  send(roomId: string, text: string, options: SendOptions = {}): Promise<Message> {
    const input = {
      roomId,
      clientMsgId: options.clientMsgId ?? newClientMsgId(),
      text,
      ...(options.attachmentIds ? { attachmentIds: [...options.attachmentIds] } : {}),
      ...(options.threadId ? { threadId: options.threadId } : {}),
    };
    const checked = MessageSendInput.safeParse(input);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
      return Promise.reject(new SwitchboardError(ErrorCode.INVALID_ARGUMENT, `${where}${issue?.message ?? 'invalid message'}`));
    }
    return this.queue.add(input);
  }

  /** Sends a failed outbox entry again (same `clientMsgId`). */
  retry(clientMsgId: string): Promise<Message> {
    return this.queue.retry(clientMsgId);
  }

  /** Removes a failed outbox entry; false when there is no such failed entry. */
  discard(clientMsgId: string): boolean {
    return this.queue.discard(clientMsgId);
  }

  async edit(messageId: string, text: string): Promise<Message> {
    return (await this.requests.send('message:edit', { messageId, text })).message;
  }

  async delete(messageId: string): Promise<void> {
    await this.requests.send('message:delete', { messageId });
  }

  /** A page of a room's messages, ascending (`message:history`); does not affect delivery. */
  async history(roomId: string, options: HistoryOptions = {}): Promise<{ messages: Message[]; hasMore: boolean }> {
    const { messages, hasMore } = await this.requests.send('message:history', { roomId, ...options });
    return { messages, hasMore };
  }

  /**
   * A thread (`thread:history`): its root and a page of replies, ascending. Replies also arrive as
   * ordinary `message` events of their room, and the root's new counts as `messageUpdated`.
   */
  async thread(messageId: string, options: ThreadOptions = {}): Promise<{ root: Message; messages: Message[]; hasMore: boolean }> {
    const { root, messages, hasMore } = await this.requests.send('thread:history', { messageId, ...options });
    return { root, messages, hasMore };
  }

  /** Adds (`on`, the default) or takes back the user's reaction; the change arrives as `messageUpdated`. */
  async react(messageId: string, emoji: string, on = true): Promise<void> {
    await this.requests.send('message:react', { messageId, emoji, on });
  }

  /**
   * Finds messages by their words in the user's rooms, newest first (`message:search`). The query
   * is plain text: every word must occur; quotes and operators are searched as text. Each result's
   * `snippet` marks the matches with `«` and `»`. Does not affect delivery.
   */
  async search(query: string, options: SearchOptions = {}): Promise<{ results: SearchResult[]; hasMore: boolean }> {
    const { results, hasMore } = await this.requests.send('message:search', { query, ...options });
    return { results, hasMore };
  }

  /** The raw `sync` request; the client's own delivery does not use this answer (see `resync()`). */
  async sync(input: SyncInput): Promise<{ serverTime: number; rooms: SyncRoomResult[] }> {
    const { serverTime, rooms } = await this.requests.send('sync', input);
    return { serverTime, rooms };
  }

  /** Catches up now (as after a reconnect); resolves once everything missing was delivered. */
  resync(): Promise<void> {
    return this.catchUp();
  }

  async setTyping(roomId: string, typing: boolean): Promise<void> {
    await this.requests.send('typing', { roomId, typing });
  }

  /** Moves the read mark of a room forward to `seq`. */
  async markRead(roomId: string, seq: number): Promise<void> {
    await this.requests.send('read', { roomId, seq });
    const me = this.options.me();
    if (me !== undefined) this.applyRead({ roomId, userId: me, seq });
  }

  // ------------------------------------------------------------------ rooms

  async createRoom(input: RoomCreateInput): Promise<Room> {
    const { room } = await this.requests.send('room:create', input);
    this.addRoom(room);
    return room;
  }

  /** The user's rooms from the server (`room:list`); the client's room list follows it. */
  async listRooms(): Promise<RoomWithReadState[]> {
    const updatesBefore = this.roomUpdates;
    const { rooms } = await this.requests.send('room:list', {});
    this.reconcile(rooms, updatesBefore);
    return rooms;
  }

  async browseRooms(input: RoomBrowseInput = {}): Promise<Room[]> {
    return (await this.requests.send('room:browse', input)).rooms;
  }

  /** Finds users by username or display name (`user:search`), e.g. to invite one or open a DM. */
  async searchUsers(query: string, limit?: number): Promise<UserSummary[]> {
    return (await this.requests.send('user:search', limit === undefined ? { query } : { query, limit })).users;
  }

  async joinRoom(roomId: string): Promise<Room> {
    const { room } = await this.requests.send('room:join', { roomId });
    this.addRoom(room);
    return room;
  }

  async leaveRoom(roomId: string): Promise<void> {
    await this.requests.send('room:leave', { roomId });
    this.removeRoom(roomId);
  }

  async invite(roomId: string, userId: string): Promise<void> {
    await this.requests.send('room:invite', { roomId, userId });
  }

  async members(roomId: string): Promise<RoomMember[]> {
    return (await this.requests.send('room:members', { roomId })).members;
  }

  async openDm(userId: string): Promise<Room> {
    const { room } = await this.requests.send('dm:open', { userId });
    this.addRoom(room);
    return room;
  }

  /** Renames the room and/or sets its topic (its creator or an admin; `room:update`). */
  async updateRoom(roomId: string, changes: { name?: string; topic?: string }): Promise<Room> {
    const { room } = await this.requests.send('room:update', { roomId, ...changes });
    this.applyRoomUpdate(room);
    return room;
  }

  /** Archives (read-only) or unarchives the room (its creator or an admin; `room:archive`). */
  async archiveRoom(roomId: string, archived: boolean): Promise<Room> {
    const { room } = await this.requests.send('room:archive', { roomId, archived });
    this.applyRoomUpdate(room);
    return room;
  }

  /** Removes a member from the room (its creator or an admin; `room:remove`). */
  async removeMember(roomId: string, userId: string): Promise<void> {
    await this.requests.send('room:remove', { roomId, userId });
  }

  /** Turns the room's notifications off (`muted: true`) or on again for this user (`room:mute`). */
  async muteRoom(roomId: string, muted: boolean): Promise<void> {
    await this.requests.send('room:mute', { roomId, muted });
    const known = this.rooms.get(roomId);
    if (!known || known.muted === muted) return;
    known.muted = muted;
    this.emit('roomUpdated', { ...known });
  }

  /** Stops retrying; pending sends reject with `error`. */
  close(error: SwitchboardError): void {
    clearTimeout(this.syncTimer);
    this.queue.close(error);
  }

  // ------------------------------------------------------------------ delivery

  private deliver(message: Message): void {
    const room = this.rooms.get(message.roomId);
    // Messages up to the `lastSeq` of `room:list` are already in its `unread`.
    if (room && message.seq > room.lastSeq) {
      room.lastSeq = message.seq;
      if (message.senderId === this.options.me()) {
        // Sending moves one's own read mark to the message (the server does the same).
        this.setReadState(room, 0, Math.max(room.lastReadSeq, message.seq));
      } else if (message.seq > room.lastReadSeq) {
        this.setReadState(room, room.unread + 1, room.lastReadSeq);
      }
    }
    this.emit('message', message);
  }

  private acceptLive(message: Message): void {
    if (!this.sequencer.has(message.roomId)) {
      // A late event of a room just left: ignore. A room not known yet (joined elsewhere, added
      // during a reconnect): deliver it from the start, and learn the room from `room:list`.
      if (this.sequencer.wasLeft(message.roomId)) return;
      this.sequencer.track(message.roomId, 0);
      this.needRoomList = true;
      // Without a gap nothing else would ask for `room:list`, and the room would stay unlisted.
      this.catchUpInBackground();
    }
    this.sequencer.accept(message);
  }

  private applyRead(event: ReadEvent): void {
    if (event.userId !== this.options.me()) return;
    const room = this.rooms.get(event.roomId);
    if (!room || event.seq <= room.lastReadSeq) return;
    // Exact when reading up to the latest message; otherwise an estimate until the next `room:list`.
    const unread = event.seq >= room.lastSeq ? 0 : Math.max(0, room.unread - (event.seq - room.lastReadSeq));
    this.setReadState(room, unread, event.seq);
  }

  private setReadState(room: RoomWithReadState, unread: number, lastReadSeq: number): void {
    if (room.unread === unread && room.lastReadSeq === lastReadSeq) return;
    room.unread = unread;
    room.lastReadSeq = lastReadSeq;
    this.emit('unread', { roomId: room.id, unread, lastReadSeq });
  }

  /**
   * A room the user now belongs to (created, joined, invited, DM opened): known from here on, its
   * messages delivered from the `lastSeq` it came with. What came before is history (`history()`):
   * joining a public room with a long past must not pull all of it through `sync`.
   */
  private addRoom(room: Room): void {
    const known = this.rooms.get(room.id);
    if (known) {
      Object.assign(known, room, { lastSeq: Math.max(known.lastSeq, room.lastSeq) });
    } else {
      // Nothing read yet in a room one has just entered.
      const state: RoomWithReadState = { ...room, lastReadSeq: 0, unread: room.lastSeq, muted: false };
      this.rooms.set(room.id, state);
      this.emit('roomAdded', { ...state });
    }
    this.sequencer.track(room.id, room.lastSeq);
    if ((this.sequencer.cursor(room.id) ?? 0) < room.lastSeq) this.catchUpInBackground();
  }

  /** A known room as `room:updated` (or an answer) has it now; read state and mute are the client's own. */
  private applyRoomUpdate(room: Room): void {
    const known = this.rooms.get(room.id);
    if (!known) return;
    this.roomUpdates++;
    Object.assign(known, room, { lastSeq: Math.max(known.lastSeq, room.lastSeq) });
    this.emit('roomUpdated', { ...known });
  }

  private removeRoom(roomId: string): void {
    const known = this.rooms.delete(roomId);
    const tracked = this.sequencer.has(roomId);
    this.sequencer.untrack(roomId);
    if (known || tracked) this.emit('roomRemoved', roomId);
  }

  /** Takes in a `room:list` answer: new rooms are added; known ones get the server's read state. */
  private reconcile(rooms: RoomWithReadState[], updatesBefore: number): void {
    // A `room:updated` arrived while the list was on its way: the rooms' own fields we hold are newer.
    const stale = updatesBefore !== this.roomUpdates;
    const first = this.held !== undefined;
    const resume = this.options.resumeFrom?.cursors;
    for (const room of rooms) {
      const known = this.rooms.get(room.id);
      if (!this.sequencer.has(room.id)) {
        this.sequencer.track(room.id, first ? (resume ? (resume[room.id] ?? 0) : room.lastSeq) : 0);
      }
      if (known) {
        // An answer older than what live events already told (it raced them) must not undo it.
        const fresh = room.lastSeq >= known.lastSeq && room.lastReadSeq >= known.lastReadSeq;
        Object.assign(known, stale ? { memberCount: room.memberCount } : room, {
          lastSeq: Math.max(known.lastSeq, room.lastSeq),
          unread: known.unread,
          lastReadSeq: known.lastReadSeq,
        });
        if (fresh) this.setReadState(known, room.unread, room.lastReadSeq);
      } else {
        this.rooms.set(room.id, { ...room });
        this.emit('roomAdded', { ...room });
      }
    }
    if (first) {
      const held = this.held ?? [];
      this.held = undefined;
      for (const { updated, message } of held) {
        if (updated) this.sequencer.update(message);
        else this.acceptLive(message);
      }
    }
  }

  // ------------------------------------------------------------------ sync

  private catchUpInBackground(): void {
    this.catchUp().catch(() => {
      // Offline: the next connect catches up. Online (a timeout, a refusal): try again later.
      if (!this.conn.chat.connected || this.conn.isClosed) return;
      clearTimeout(this.syncTimer);
      this.syncTimer = setTimeout(() => this.catchUpInBackground(), backoffDelay(this.syncFailures++, this.options.backoff));
    });
  }

  /** One catch-up at a time; asking while one runs makes it go round once more. */
  private catchUp(): Promise<void> {
    if (this.syncing) {
      this.syncAgain = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      try {
        do {
          this.syncAgain = false;
          await this.syncOnce();
        } while (this.syncAgain);
      } finally {
        this.syncing = undefined;
      }
      this.syncFailures = 0;
      this.emit('synced');
    })();
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    if (this.needRoomList) {
      const updatesBefore = this.roomUpdates;
      const { rooms } = await this.requests.send('room:list', {});
      this.needRoomList = false;
      this.reconcile(rooms, updatesBefore);
    }
    const since = this.updatedSince;
    let serverTime: number | undefined;
    let cursors = this.sequencer.cursors();
    /** Rooms whose `updated` did not fit one answer, and where it goes on. */
    let changesAfter: Record<string, string> = {};
    for (let round = 0; round === 0 || Object.keys(cursors).length > 0; round++) {
      // Later pages only need edits made after the first page was answered.
      const updatedSince = round === 0 ? since : serverTime;
      const more: Record<string, number> = {};
      const moreChanges: Record<string, string> = {};
      /** Whether this round brought anything: a round that did not would repeat itself. */
      let progressed = false;
      for (const rooms of chunks(cursors)) {
        const updatedAfter = Object.fromEntries(Object.keys(rooms).flatMap((id) => (changesAfter[id] ? [[id, changesAfter[id]]] : [])));
        const answer = await this.requests.send('sync', {
          rooms,
          ...(updatedSince === undefined ? {} : { updatedSince }),
          ...(Object.keys(updatedAfter).length > 0 ? { updatedAfter } : {}),
        });
        if (round === 0) serverTime = Math.min(serverTime ?? Infinity, answer.serverTime);
        for (const result of answer.rooms) {
          if ('error' in result) {
            this.removeRoom(result.roomId);
            continue;
          }
          const before = this.sequencer.cursor(result.roomId);
          for (const message of result.messages) this.sequencer.accept(message);
          // Without a previous answer there is no baseline: what the app holds is current.
          if (updatedSince !== undefined) for (const message of result.updated) this.sequencer.update(message);
          const after = this.sequencer.cursor(result.roomId);
          if (result.messages.length > 0 || result.updated.length > 0) progressed = true;
          // No messages with `hasMore`: the answer's budget (Limits.syncAnswerMax) went to the rooms
          // before this one; ask again. Messages that did not move the cursor: stop, not loop.
          if (result.hasMore && after !== undefined && (after !== before || result.messages.length === 0)) more[result.roomId] = after;
          if (updatedSince !== undefined && result.updatedHasMore && result.updatedCursor && after !== undefined) {
            moreChanges[result.roomId] = result.updatedCursor;
            more[result.roomId] = after;
          }
        }
      }
      cursors = progressed ? more : {};
      changesAfter = moreChanges;
    }
    this.updatedSince = serverTime;
  }
}
