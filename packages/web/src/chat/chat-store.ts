/**
 * The web app's chat state, fed by the SDK's events and read by React through
 * `useSyncExternalStore`: rooms with unread counts, each room's timeline (the messages loaded so
 * far, merged by `seq` so a message can never show twice), the outbox, who is typing, members
 * with their read marks, presence and notifications. Components call its methods for every
 * action; it never talks to the server except through the SDK.
 */
import {
  type ConnectionState,
  type Message,
  type Notification,
  type OutboxEntry,
  type Room,
  type RoomMember,
  type RoomWithReadState,
  type SwitchboardClient,
  type User,
} from '@switchboard/client';
import { Limits } from '@switchboard/protocol';

/** Messages per history page. */
const PAGE = 50;
/** How long "Back online" stays up after a reconnect, ms. */
const BACK_ONLINE_MS = 3000;

export interface Timeline {
  /** Ascending `seq`, each message once. */
  messages: readonly Message[];
  /** Older messages exist on the server. */
  hasMore: boolean;
  /** The latest page was fetched (a room never opened only holds what arrived live). */
  loaded: boolean;
  loadingOlder: boolean;
}

/** An open thread: its root and the replies loaded so far (ascending `seq`). */
export interface ThreadView {
  roomId: string;
  rootId: string;
  root: Message | undefined;
  replies: readonly Message[];
  /** More replies exist after the last one loaded. */
  hasMore: boolean;
  loaded: boolean;
}

export interface TypingUser {
  userId: string;
  displayName: string;
}

/** Someone the signed-in user shares a room with. */
export interface Person {
  id: string;
  username: string;
  displayName: string;
}

export interface NotificationsState {
  items: readonly Notification[];
  unread: number;
  hasMore: boolean;
  loaded: boolean;
}

export interface ChatState {
  me: User;
  connection: ConnectionState;
  /** True for a moment after the connection came back. */
  backOnline: boolean;
  /** The first connect and catch-up are done. */
  ready: boolean;
  rooms: readonly RoomWithReadState[];
  timelines: Readonly<Record<string, Timeline>>;
  /** Pending and failed messages, in send order. */
  outbox: readonly OutboxEntry[];
  typing: Readonly<Record<string, readonly TypingUser[]>>;
  members: Readonly<Record<string, readonly RoomMember[]>>;
  /** userId → online. */
  presence: Readonly<Record<string, boolean>>;
  notifications: NotificationsState;
  /** The thread shown beside the room, if any. */
  thread: ThreadView | undefined;
}

const emptyTimeline: Timeline = { messages: [], hasMore: true, loaded: false, loadingOlder: false };

/**
 * The newer of two copies of a message: a deletion wins, then the later edit; otherwise the one that
 * came last, which carries the latest reactions and reply count.
 */
function fresher(a: Message, b: Message): Message {
  if (a.deleted !== b.deleted) return a.deleted ? a : b;
  return (a.editedAt ?? 0) > (b.editedAt ?? 0) ? a : b;
}

/** `existing` and `incoming` as one ascending list without duplicate `seq`s. */
export function mergeMessages(existing: readonly Message[], incoming: readonly Message[]): Message[] {
  const last = existing.at(-1);
  // The common case, a live message after the newest one, needs no sorting.
  if (incoming.length === 1 && (last === undefined || incoming[0]!.seq > last.seq)) return [...existing, incoming[0]!];
  const bySeq = new Map(existing.map((m) => [m.seq, m]));
  for (const m of incoming) {
    const known = bySeq.get(m.seq);
    bySeq.set(m.seq, known ? fresher(known, m) : m);
  }
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

const fresherOf = (known: Message | undefined, incoming: Message) => (known ? fresher(known, incoming) : incoming);

const byName = (a: Room, b: Room) => a.name.localeCompare(b.name, undefined, { sensitivity: 'base' });

export class ChatStore {
  private current: ChatState;
  private readonly listeners = new Set<() => void>();
  private readonly offs: (() => void)[] = [];
  private readonly typingTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly notificationListeners = new Set<(n: Notification) => void>();
  private readonly marking = new Map<string, number>();
  private readonly membersLoading = new Set<string>();
  private backOnlineTimer: ReturnType<typeof setTimeout> | undefined;
  private wasReconnecting = false;
  private disposed = false;

  constructor(
    readonly client: SwitchboardClient,
    me: User,
  ) {
    this.current = {
      me,
      connection: client.state,
      backOnline: false,
      ready: false,
      rooms: [],
      timelines: {},
      outbox: client.chat.outbox,
      typing: {},
      members: {},
      presence: { [me.id]: true },
      notifications: { items: [], unread: client.notifications.unread ?? 0, hasMore: false, loaded: false },
      thread: undefined,
    };
    this.listen();
    client.ready().then(
      () => {
        this.set({ ready: true });
        this.refreshRooms();
      },
      () => undefined, // closed first, or the login ended: the app signs out
    );
  }

  // ------------------------------------------------------------------ React binding

  get state(): ChatState {
    return this.current;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): ChatState => this.current;

  /** Hears every new notification (for browser notifications). */
  onNotification(listener: (n: Notification) => void): () => void {
    this.notificationListeners.add(listener);
    return () => this.notificationListeners.delete(listener);
  }

  dispose(): void {
    this.disposed = true;
    for (const off of this.offs.splice(0)) off();
    for (const timer of this.typingTimers.values()) clearTimeout(timer);
    clearTimeout(this.backOnlineTimer);
    this.listeners.clear();
  }

  private set(patch: Partial<ChatState>): void {
    if (this.disposed) return;
    this.current = { ...this.current, ...patch };
    for (const listener of [...this.listeners]) listener();
  }

  private setTimeline(roomId: string, update: (t: Timeline) => Timeline): void {
    const before = this.current.timelines[roomId] ?? emptyTimeline;
    this.set({ timelines: { ...this.current.timelines, [roomId]: update(before) } });
  }

  // ------------------------------------------------------------------ SDK events

  private listen(): void {
    const { client } = this;
    const { chat, notifications } = client;
    this.offs.push(
      client.on('state', (state) => this.onState(state)),
      chat.on('roomAdded', (room) => {
        this.refreshRooms();
        // The sidebar shows the other person's presence for every DM.
        if (room.kind === 'dm') this.loadMembers(room.id);
      }),
      chat.on('roomRemoved', () => this.refreshRooms()),
      chat.on('roomUpdated', () => this.refreshRooms()),
      chat.on('unread', () => this.refreshRooms()),
      chat.on('message', (message) => {
        this.mergeIntoThread(message);
        this.setTimeline(message.roomId, (t) => ({ ...t, messages: mergeMessages(t.messages, [message]) }));
        this.stopTyping(message.roomId, message.senderId);
        this.refreshRooms();
      }),
      chat.on('messageUpdated', (message) => {
        this.mergeIntoThread(message);
        const t = this.current.timelines[message.roomId];
        if (t?.messages.some((m) => m.seq === message.seq)) {
          this.setTimeline(message.roomId, (tl) => ({ ...tl, messages: mergeMessages(tl.messages, [message]) }));
        }
      }),
      chat.on('outbox', (entry, entries) => {
        const patch: Partial<ChatState> = { outbox: entries };
        if (entry.status === 'sent' && entry.message) {
          // Shown as stored at once, whether `message:new` comes before or after the ack.
          const message = entry.message;
          const t = this.current.timelines[message.roomId] ?? emptyTimeline;
          patch.timelines = { ...this.current.timelines, [message.roomId]: { ...t, messages: mergeMessages(t.messages, [message]) } };
        }
        this.set(patch);
        if (entry.status === 'sent' && entry.message) this.mergeIntoThread(entry.message);
      }),
      chat.on('typing', (event) => {
        if (event.userId === this.current.me.id) return;
        if (event.typing) this.startTyping(event.roomId, { userId: event.userId, displayName: event.displayName });
        else this.stopTyping(event.roomId, event.userId);
      }),
      chat.on('presence', (event) => {
        this.set({ presence: { ...this.current.presence, [event.userId]: event.status === 'online' } });
      }),
      chat.on('read', (event) => {
        const list = this.current.members[event.roomId];
        if (!list) return;
        this.set({
          members: {
            ...this.current.members,
            [event.roomId]: list.map((m) => (m.id === event.userId && event.seq > m.lastReadSeq ? { ...m, lastReadSeq: event.seq } : m)),
          },
        });
      }),
      chat.on('member', (event) => {
        const list = this.current.members[event.roomId];
        if (!list) return;
        if (event.action === 'left') {
          this.set({ members: { ...this.current.members, [event.roomId]: list.filter((m) => m.id !== event.userId) } });
        } else {
          this.loadMembers(event.roomId);
        }
        this.refreshRooms();
      }),
      notifications.on('unread', (count) => this.set({ notifications: { ...this.current.notifications, unread: count } })),
      notifications.on('notification', (n) => {
        const state = this.current.notifications;
        if (!state.items.some((i) => i.id === n.id)) this.set({ notifications: { ...state, items: [n, ...state.items] } });
        for (const listener of [...this.notificationListeners]) listener(n);
      }),
    );
  }

  private onState(state: ConnectionState): void {
    if (state === 'reconnecting') {
      this.wasReconnecting = true;
      clearTimeout(this.backOnlineTimer);
      this.set({ connection: state, backOnline: false });
      return;
    }
    if (state === 'connected' && this.wasReconnecting) {
      this.wasReconnecting = false;
      clearTimeout(this.backOnlineTimer);
      this.backOnlineTimer = setTimeout(() => this.set({ backOnline: false }), BACK_ONLINE_MS);
      this.set({ connection: state, backOnline: true });
      // Presence and read marks moved while away: ask again for what is on screen.
      void this.client.ready().then(() => {
        for (const roomId of Object.keys(this.current.members)) this.loadMembers(roomId);
        if (this.current.notifications.loaded) void this.loadNotifications();
      }, () => undefined);
      return;
    }
    this.set({ connection: state });
  }

  private refreshRooms(): void {
    this.set({ rooms: this.client.chat.roomList.sort(byName) });
  }

  private startTyping(roomId: string, user: TypingUser): void {
    const key = `${roomId}\n${user.userId}`;
    clearTimeout(this.typingTimers.get(key));
    // The server forgets a `typing: true` that is not renewed within this time; so does the app.
    this.typingTimers.set(key, setTimeout(() => this.stopTyping(roomId, user.userId), Limits.typingExpirySeconds * 1000));
    const list = this.current.typing[roomId] ?? [];
    if (list.some((u) => u.userId === user.userId)) return;
    this.set({ typing: { ...this.current.typing, [roomId]: [...list, user] } });
  }

  private stopTyping(roomId: string, userId: string): void {
    const key = `${roomId}\n${userId}`;
    clearTimeout(this.typingTimers.get(key));
    this.typingTimers.delete(key);
    const list = this.current.typing[roomId];
    if (!list?.some((u) => u.userId === userId)) return;
    this.set({ typing: { ...this.current.typing, [roomId]: list.filter((u) => u.userId !== userId) } });
  }

  // ------------------------------------------------------------------ rooms

  /** Loads what a room needs on screen: its latest messages and its members. */
  openRoom(roomId: string): void {
    const t = this.current.timelines[roomId];
    if (!t?.loaded) void this.loadLatest(roomId);
    if (!this.current.members[roomId]) this.loadMembers(roomId);
  }

  private async loadLatest(roomId: string): Promise<void> {
    try {
      const { messages, hasMore } = await this.client.chat.history(roomId, { limit: PAGE });
      this.setTimeline(roomId, (t) => ({ ...t, messages: mergeMessages(t.messages, messages), hasMore, loaded: true }));
    } catch {
      // Offline or no longer a member: the timeline stays unloaded and is asked for again next time.
    }
  }

  /** Fetches the page (of `limit`) before the oldest loaded message; resolves false when nothing is left. */
  async loadOlder(roomId: string, limit = PAGE): Promise<boolean> {
    const t = this.current.timelines[roomId];
    if (!t?.loaded || !t.hasMore || t.loadingOlder) return false;
    const oldest = t.messages[0];
    if (!oldest) {
      this.setTimeline(roomId, (tl) => ({ ...tl, hasMore: false }));
      return false;
    }
    this.setTimeline(roomId, (tl) => ({ ...tl, loadingOlder: true }));
    try {
      const { messages, hasMore } = await this.client.chat.history(roomId, { beforeSeq: oldest.seq, limit });
      this.setTimeline(roomId, (tl) => ({ ...tl, messages: mergeMessages(tl.messages, messages), hasMore, loadingOlder: false }));
      return hasMore;
    } catch {
      this.setTimeline(roomId, (tl) => ({ ...tl, loadingOlder: false }));
      return false;
    }
  }

  /**
   * Loads older pages until message `seq` of the room is on hand, with some of the messages before
   * it for context (for jumping to a notification or a search result). Pages are as large as the
   * server allows, so even a message thousands back arrives in a few requests.
   */
  async loadUntil(roomId: string, seq: number): Promise<void> {
    for (let i = 0; i < 40; i++) {
      const t = this.current.timelines[roomId];
      if (!t?.loaded) {
        await this.loadLatest(roomId);
        if (!this.current.timelines[roomId]?.loaded) return;
        continue;
      }
      const oldest = t.messages[0]?.seq ?? 0;
      if (oldest <= seq || !t.hasMore) return;
      const limit = Math.min(Limits.pageMax, Math.max(PAGE, oldest - seq + PAGE / 2));
      if (!(await this.loadOlder(roomId, limit)) && (this.current.timelines[roomId]?.messages[0]?.seq ?? 0) > seq) return;
    }
  }

  loadMembers(roomId: string): void {
    if (this.membersLoading.has(roomId)) return;
    this.membersLoading.add(roomId);
    this.client.chat.members(roomId).then(
      (members) => {
        this.membersLoading.delete(roomId);
        const presence = { ...this.current.presence };
        for (const m of members) presence[m.id] = m.online;
        this.set({ members: { ...this.current.members, [roomId]: members }, presence });
      },
      () => this.membersLoading.delete(roomId),
    );
  }

  /** Everyone the user shares a room with, for invitations and new direct messages. */
  async people(): Promise<Person[]> {
    const rooms = this.current.rooms.slice(0, 100);
    const lists = await Promise.all(rooms.map((r) => this.client.chat.members(r.id).catch(() => [] as RoomMember[])));
    const found = new Map<string, Person>();
    for (const list of lists) {
      for (const m of list) if (m.id !== this.current.me.id) found.set(m.id, { id: m.id, username: m.username, displayName: m.displayName });
    }
    return [...found.values()].sort((a, b) => a.displayName.localeCompare(b.displayName, undefined, { sensitivity: 'base' }));
  }

  /** Anyone on the server whose username or display name contains `query` (the user excepted). */
  async searchPeople(query: string): Promise<Person[]> {
    const users = await this.client.chat.searchUsers(query);
    return users.filter((u) => u.id !== this.current.me.id);
  }

  async createRoom(input: { name: string; kind: 'public' | 'private'; topic?: string; memberIds?: string[] }): Promise<Room> {
    const room = await this.client.chat.createRoom(input);
    this.refreshRooms();
    return room;
  }

  browseRooms(query: string): Promise<Room[]> {
    return this.client.chat.browseRooms(query.trim() ? { query: query.trim(), limit: 100 } : { limit: 100 });
  }

  async joinRoom(roomId: string): Promise<Room> {
    const room = await this.client.chat.joinRoom(roomId);
    this.refreshRooms();
    return room;
  }

  /** Renames the room and/or sets its topic (its creator or an admin). */
  async updateRoom(roomId: string, changes: { name?: string; topic?: string }): Promise<void> {
    await this.client.chat.updateRoom(roomId, changes);
  }

  /** Archives (read-only) or unarchives the room (its creator or an admin). */
  async archiveRoom(roomId: string, archived: boolean): Promise<void> {
    await this.client.chat.archiveRoom(roomId, archived);
  }

  /** Removes a member (its creator or an admin); the member list follows `room:member`. */
  async removeMember(roomId: string, userId: string): Promise<void> {
    await this.client.chat.removeMember(roomId, userId);
  }

  async muteRoom(roomId: string, muted: boolean): Promise<void> {
    await this.client.chat.muteRoom(roomId, muted);
  }

  async leaveRoom(roomId: string): Promise<void> {
    await this.client.chat.leaveRoom(roomId);
    const { [roomId]: _t, ...timelines } = this.current.timelines;
    const { [roomId]: _m, ...members } = this.current.members;
    this.set({ timelines, members });
    this.refreshRooms();
  }

  async invite(roomId: string, userIds: readonly string[]): Promise<void> {
    for (const id of userIds) await this.client.chat.invite(roomId, id);
    this.loadMembers(roomId);
  }

  async openDm(userId: string): Promise<Room> {
    const room = await this.client.chat.openDm(userId);
    this.refreshRooms();
    this.loadMembers(room.id);
    return room;
  }

  // ------------------------------------------------------------------ messages

  /** Queues a message in the SDK outbox; failures show on the entry (retry/discard), not here. */
  send(roomId: string, text: string, attachmentIds?: readonly string[]): void {
    this.client.chat.send(roomId, text, attachmentIds && attachmentIds.length > 0 ? { attachmentIds } : {}).catch(() => undefined);
  }

  retry(clientMsgId: string): void {
    this.client.chat.retry(clientMsgId).catch(() => undefined);
  }

  discard(clientMsgId: string): void {
    this.client.chat.discard(clientMsgId);
  }

  async edit(messageId: string, text: string): Promise<void> {
    const message = await this.client.chat.edit(messageId, text);
    this.setTimeline(message.roomId, (t) => ({ ...t, messages: mergeMessages(t.messages, [message]) }));
  }

  async delete(message: Message): Promise<void> {
    await this.client.chat.delete(message.id);
    const gone: Message = { ...message, deleted: true, text: '', attachments: [], editedAt: Date.now() };
    this.setTimeline(message.roomId, (t) => ({ ...t, messages: mergeMessages(t.messages, [gone]) }));
  }

  /** Moves the read mark forward to `seq` (once per mark, however often the view asks). */
  markRead(roomId: string, seq: number): void {
    const room = this.current.rooms.find((r) => r.id === roomId);
    if (!room || seq <= room.lastReadSeq || (this.marking.get(roomId) ?? 0) >= seq) return;
    this.marking.set(roomId, seq);
    this.client.chat.markRead(roomId, seq).then(
      () => this.refreshRooms(),
      () => this.marking.delete(roomId),
    );
  }

  setTyping(roomId: string, typing: boolean): void {
    this.client.chat.setTyping(roomId, typing).catch(() => undefined);
  }

  // ------------------------------------------------------------------ threads and reactions

  /** Shows a thread beside its room and loads its first replies. */
  openThread(roomId: string, rootId: string): void {
    if (this.current.thread?.rootId === rootId) return;
    const root = this.current.timelines[roomId]?.messages.find((m) => m.id === rootId);
    this.set({ thread: { roomId, rootId, root, replies: [], hasMore: true, loaded: false } });
    void this.loadReplies();
  }

  closeThread(): void {
    this.set({ thread: undefined });
  }

  /** The next page of the open thread's replies (after the last one loaded). */
  async loadReplies(): Promise<void> {
    const thread = this.current.thread;
    if (!thread?.hasMore) return;
    try {
      const afterSeq = thread.replies.at(-1)?.seq;
      const page = await this.client.chat.thread(thread.rootId, afterSeq === undefined ? { limit: Limits.pageMax } : { afterSeq, limit: Limits.pageMax });
      const now = this.current.thread;
      if (now?.rootId !== thread.rootId) return;
      this.set({
        thread: { ...now, root: fresherOf(now.root, page.root), replies: mergeMessages(now.replies, page.messages), hasMore: page.hasMore, loaded: true },
      });
    } catch {
      // Offline, or the room was left: the panel says it could not load, and opening it again retries.
      const now = this.current.thread;
      if (now?.rootId === thread.rootId) this.set({ thread: { ...now, loaded: true, hasMore: false } });
    }
  }

  /** Queues a reply in the open thread through the SDK outbox, like any message. */
  sendReply(roomId: string, rootId: string, text: string): void {
    this.client.chat.send(roomId, text, { threadId: rootId }).catch(() => undefined);
  }

  /** Adds or takes back the user's reaction; the change shows when the server announces it. */
  react(messageId: string, emoji: string, on: boolean): Promise<void> {
    return this.client.chat.react(messageId, emoji, on);
  }

  /** A new or changed message that belongs to the open thread (its root or a reply). */
  private mergeIntoThread(message: Message): void {
    const thread = this.current.thread;
    if (!thread) return;
    if (message.id === thread.rootId) this.set({ thread: { ...thread, root: fresherOf(thread.root, message) } });
    // A reply past replies not loaded yet comes with their page instead, so the list has no hole.
    else if (message.threadId === thread.rootId && (!thread.hasMore || thread.replies.some((r) => r.seq === message.seq))) {
      this.set({ thread: { ...thread, replies: mergeMessages(thread.replies, [message]) } });
    }
  }

  // ------------------------------------------------------------------ notifications

  async loadNotifications(): Promise<void> {
    const { notifications, unread, hasMore } = await this.client.notifications.list({ limit: 50 });
    this.set({ notifications: { items: notifications, unread, hasMore, loaded: true } });
  }

  async loadMoreNotifications(): Promise<void> {
    const state = this.current.notifications;
    const last = state.items.at(-1);
    if (!state.hasMore || !last) return;
    const { notifications, unread, hasMore } = await this.client.notifications.list({ before: last.id, limit: 50 });
    const known = new Set(state.items.map((n) => n.id));
    this.set({ notifications: { items: [...state.items, ...notifications.filter((n) => !known.has(n.id))], unread, hasMore, loaded: true } });
  }

  async markNotificationsRead(which: readonly string[] | 'all'): Promise<void> {
    const unread = await this.client.notifications.markRead(which);
    const now = Date.now();
    const ids = which === 'all' ? undefined : new Set(which);
    const items = this.current.notifications.items.map((n) => (n.readAt === null && (!ids || ids.has(n.id)) ? { ...n, readAt: now } : n));
    this.set({ notifications: { ...this.current.notifications, items, unread } });
  }
}
