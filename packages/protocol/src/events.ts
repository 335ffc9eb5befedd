/**
 * Typed event maps for Socket.IO's generics (`Server<ClientToServer, ServerToClient>` on the
 * server, `Socket<ServerToClient, ClientToServer>` on clients), plus the schema registry that
 * ties each request event to the zod schema validating it. Types are not validation: the
 * server runs every inbound payload through its schema.
 */
import type { DocChangedEvent } from './documents.js';
import type { Ack, ErrorEvent } from './errors.js';
import type {
  Message,
  Notification,
  PresenceEvent,
  ReadEvent,
  Room,
  RoomMember,
  RoomMemberEvent,
  RoomWithReadState,
  SyncRoomResult,
  TypingEvent,
  UserSummary,
} from './models.js';
import * as G from './game.js';
import * as M from './monitor.js';
import * as S from './schemas.js';
import * as Search from './search.js';

export const Namespace = {
  chat: '/chat',
  notifications: '/notifications',
  monitor: '/monitor',
  game: '/game',
} as const;
export type Namespace = (typeof Namespace)[keyof typeof Namespace];

/** Events every namespace shares. */
export interface CommonClientToServer {
  'auth:renew': (payload: S.AuthRenewInput, ack: Ack) => void;
}
export interface CommonServerToClient {
  error: (payload: ErrorEvent) => void;
  'auth:expired': (payload: Record<string, never>) => void;
  'server:draining': (payload: Record<string, never>) => void;
}

export interface ChatClientToServer extends CommonClientToServer {
  'room:create': (payload: S.RoomCreateInput, ack: Ack<{ room: Room }>) => void;
  'room:list': (payload: Record<string, never>, ack: Ack<{ rooms: RoomWithReadState[] }>) => void;
  'room:browse': (payload: S.RoomBrowseInput, ack: Ack<{ rooms: Room[] }>) => void;
  'user:search': (payload: S.UserSearchInput, ack: Ack<{ users: UserSummary[] }>) => void;
  'room:join': (payload: S.RoomIdInput, ack: Ack<{ room: Room }>) => void;
  'room:leave': (payload: S.RoomIdInput, ack: Ack) => void;
  'room:invite': (payload: S.RoomInviteInput, ack: Ack) => void;
  'room:members': (payload: S.RoomIdInput, ack: Ack<{ members: RoomMember[] }>) => void;
  'dm:open': (payload: S.DmOpenInput, ack: Ack<{ room: Room }>) => void;
  'room:update': (payload: S.RoomUpdateInput, ack: Ack<{ room: Room }>) => void;
  'room:archive': (payload: S.RoomArchiveInput, ack: Ack<{ room: Room }>) => void;
  'room:remove': (payload: S.RoomRemoveInput, ack: Ack) => void;
  'room:mute': (payload: S.RoomMuteInput, ack: Ack) => void;
  'message:send': (payload: S.MessageSendInput, ack: Ack<{ message: Message }>) => void;
  'message:edit': (payload: S.MessageEditInput, ack: Ack<{ message: Message }>) => void;
  'message:delete': (payload: S.MessageDeleteInput, ack: Ack) => void;
  'message:history': (
    payload: S.MessageHistoryInput,
    ack: Ack<{ messages: Message[]; hasMore: boolean }>,
  ) => void;
  'thread:history': (
    payload: S.ThreadHistoryInput,
    ack: Ack<{ root: Message; messages: Message[]; hasMore: boolean }>,
  ) => void;
  'message:react': (payload: S.MessageReactInput, ack: Ack) => void;
  'message:search': (payload: Search.MessageSearchInput, ack: Ack<{ results: Search.SearchResult[]; hasMore: boolean }>) => void;
  sync: (payload: S.SyncInput, ack: Ack<{ serverTime: number; rooms: SyncRoomResult[] }>) => void;
  typing: (payload: S.TypingInput, ack?: Ack) => void;
  read: (payload: S.ReadInput, ack: Ack) => void;
}

export interface ChatServerToClient extends CommonServerToClient {
  'message:new': (message: Message) => void;
  'message:updated': (message: Message) => void;
  typing: (event: TypingEvent) => void;
  read: (event: ReadEvent) => void;
  presence: (event: PresenceEvent) => void;
  'room:added': (room: Room) => void;
  'room:member': (event: RoomMemberEvent) => void;
  /** A room's name, topic or archived state changed (`room:update`, `room:archive`). */
  'room:updated': (room: Room) => void;
  /** A document of one of the user's rooms was created, renamed or deleted (PROTOCOL §5). */
  'doc:changed': (event: DocChangedEvent) => void;
}

export interface NotificationsClientToServer extends CommonClientToServer {
  'notification:list': (
    payload: S.NotificationListInput,
    ack: Ack<{ notifications: Notification[]; unread: number; hasMore: boolean }>,
  ) => void;
  'notification:read': (payload: S.NotificationReadInput, ack: Ack<{ unread: number }>) => void;
}

export interface NotificationsServerToClient extends CommonServerToClient {
  'notification:unread': (payload: { count: number }) => void;
  'notification:new': (notification: Notification) => void;
}

export interface MonitorClientToServer extends CommonClientToServer, M.MonitorRequests {}
export interface MonitorServerToClient extends CommonServerToClient, M.MonitorEvents {}

export interface GameClientToServer extends CommonClientToServer, G.GameRequests {}
export interface GameServerToClient extends CommonServerToClient, G.GameEvents {}

/** The schema of every request event, by namespace: the server's single validation table. */
export const RequestSchemas = {
  '/chat': {
    'auth:renew': S.AuthRenewInput,
    'room:create': S.RoomCreateInput,
    'room:list': S.RoomListInput,
    'room:browse': S.RoomBrowseInput,
    'user:search': S.UserSearchInput,
    'room:join': S.RoomJoinInput,
    'room:leave': S.RoomLeaveInput,
    'room:invite': S.RoomInviteInput,
    'room:members': S.RoomMembersInput,
    'dm:open': S.DmOpenInput,
    'room:update': S.RoomUpdateInput,
    'room:archive': S.RoomArchiveInput,
    'room:remove': S.RoomRemoveInput,
    'room:mute': S.RoomMuteInput,
    'message:send': S.MessageSendInput,
    'message:edit': S.MessageEditInput,
    'message:delete': S.MessageDeleteInput,
    'message:history': S.MessageHistoryInput,
    'thread:history': S.ThreadHistoryInput,
    'message:react': S.MessageReactInput,
    'message:search': Search.MessageSearchInput,
    sync: S.SyncInput,
    typing: S.TypingInput,
    read: S.ReadInput,
  },
  '/notifications': {
    'auth:renew': S.AuthRenewInput,
    'notification:list': S.NotificationListInput,
    'notification:read': S.NotificationReadInput,
  },
  '/monitor': {
    'auth:renew': S.AuthRenewInput,
    'monitor:history': M.MonitorHistoryInput,
    'alert:rules': M.AlertRulesInput,
    'alert:rule:set': M.AlertRuleSetInput,
    'alert:rule:delete': M.AlertRuleDeleteInput,
    'errors:list': M.ErrorsListInput,
  },
  '/game': {
    'auth:renew': S.AuthRenewInput,
    'match:queue': G.MatchQueueInput,
    'match:cancel': G.MatchCancelInput,
    'game:create': G.GameCreateInput,
    'game:join': G.GameJoinInput,
    'game:input': G.GameInputInput,
    'game:watch': G.GameIdInput,
    'game:leave': G.GameIdInput,
    'game:list': G.GameListInput,
    'game:ticks': G.GameTicksInput,
  },
} as const satisfies Record<Namespace, Record<string, unknown>>;
