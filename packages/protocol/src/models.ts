/**
 * Objects that travel on the wire (PROTOCOL §3, §4.1, §4.2). Times are milliseconds since the
 * epoch; ids are opaque, URL-safe, time-sortable strings.
 */

/** `bot`: an account driven by a program through a bot token (PROTOCOL §8). */
export type Role = 'admin' | 'user' | 'bot';

export interface User {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  createdAt: number;
}

/** What anyone may see of another user (`user:search`): never a role, login or secret. */
export type UserSummary = Pick<User, 'id' | 'username' | 'displayName'>;

export interface Session {
  user: User;
  accessToken: string;
  refreshToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
}

export type RoomKind = 'public' | 'private' | 'dm';

export interface Room {
  id: string;
  name: string;
  kind: RoomKind;
  topic: string;
  /** null for a room nobody owns (`general`): admins manage it. */
  createdBy: string | null;
  createdAt: number;
  lastSeq: number;
  memberCount: number;
  /** Archived: read-only (no sends, edits, reactions or document edits) until unarchived. */
  archived: boolean;
}

/** A room as `room:list` returns it: with the caller's read mark and unread count. */
export interface RoomWithReadState extends Room {
  lastReadSeq: number;
  unread: number;
  /** The caller gets no notifications from this room (`room:mute`). */
  muted: boolean;
}

export interface Attachment {
  id: string;
  name: string;
  size: number;
  mime: string;
  /**
   * Pixel size of a PNG, JPEG, GIF or WebP image (EXIF rotation applied), so a client can reserve
   * its box before it loads; absent for other files and for images stored before it was recorded.
   */
  width?: number;
  height?: number;
}

export interface Message {
  id: string;
  roomId: string;
  seq: number;
  senderId: string;
  senderName: string;
  text: string;
  attachments: Attachment[];
  clientMsgId: string;
  createdAt: number;
  editedAt: number | null;
  deleted: boolean;
  /** The root message of the thread this message replies in; null for a message of the room itself (PROTOCOL §4.3). */
  threadId: string | null;
  /** Replies in this message's thread, deleted ones included; 0 for a reply. */
  replyCount: number;
  lastReplyAt: number | null;
  /** In the order each emoji was first used; `userIds` in the order they reacted. */
  reactions: Reaction[];
}

/** One emoji (or `:shortcode:`) on a message and who chose it. */
export interface Reaction {
  emoji: string;
  userIds: string[];
}

export interface RoomMember {
  id: string;
  username: string;
  displayName: string;
  online: boolean;
  lastReadSeq: number;
}

export type NotificationKind = 'mention' | 'dm' | 'invite' | (string & {});

export interface Notification {
  id: string;
  kind: NotificationKind;
  title: string;
  body: string;
  data: Record<string, unknown>;
  createdAt: number;
  readAt: number | null;
}

export interface TypingEvent {
  roomId: string;
  userId: string;
  displayName: string;
  typing: boolean;
}

export interface ReadEvent {
  roomId: string;
  userId: string;
  seq: number;
}

export type PresenceStatus = 'online' | 'offline';

export interface PresenceEvent {
  userId: string;
  status: PresenceStatus;
  lastSeenAt: number;
}

export interface RoomMemberEvent {
  roomId: string;
  userId: string;
  action: 'joined' | 'left';
}

/** One room of a `sync` answer: either its news or the reason it cannot be read. */
export type SyncRoomResult =
  | {
      roomId: string;
      messages: Message[];
      updated: Message[];
      hasMore: boolean;
      /** More changes than one answer holds (`Limits.syncPageMax`): ask again with `updatedAfter: { [roomId]: updatedCursor }`. */
      updatedHasMore: boolean;
      updatedCursor?: string;
    }
  | { roomId: string; error: { code: string } };
