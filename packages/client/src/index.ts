/**
 * @switchboard/client — the Switchboard SDK for browsers and Node.js: one connection for every
 * namespace, tokens kept fresh, an outbox that never loses or doubles a message, and delivery of
 * every message exactly once and in order across reconnects.
 */
export { createClient, ClientDefaults, SwitchboardClient, type ClientEvents, type ClientOptions } from './client.js';
export { login, logout, refresh, register } from './http.js';
export { SwitchboardError } from './errors.js';
export { GameTickDecoder } from './game-ticks.js';
export {
  NativeSocket,
  NativeSocketDefaults,
  NativeSocketState,
  type DisconnectInfo,
  type NativeRequestFields,
  type NativeSocketEvents,
  type NativeSocketOptions,
  type WebSocketConstructor,
  type WebSocketLike,
} from './native-socket.js';
export type { ConnectionState } from './connection.js';
export type { Credentials } from './tokens.js';
export type {
  ChatApi,
  ChatEvents,
  HistoryOptions,
  SearchOptions,
  SendOptions,
  SyncState,
  ThreadOptions,
  UnreadEvent,
} from './chat.js';
export type { OutboxEntry, OutboxStatus } from './outbox.js';
export type { NotificationEvents, NotificationListOptions, NotificationsApi } from './notifications.js';
export type { MonitorApi, MonitorApiEvents, MonitorHistory } from './monitor.js';
export type { DocsApi, DocsApiEvents } from './docs.js';
export type { GameApi, GameApiEvents } from './game.js';
export type { IntegrationsApi } from './integrations.js';
export type { AccountsApi } from './accounts.js';
export type { CollabApi, CollabOpenOptions, CollabSession, CollabSessionEvents } from './collab.js';
export { FilesDefaults, type FilesApi, type UploadOptions } from './files.js';
export { ErrorCode } from '@switchboard/protocol';
export type {
  Alert,
  AlertRule,
  AlertRuleSetInput,
  AdminRoom,
  AdminUser,
  AlertSeverity,
  Attachment,
  BotCreated,
  BotInfo,
  ClusterStats,
  CompactTick,
  Cycle,
  Direction,
  Doc,
  DocChangedEvent,
  DocVersion,
  DownNode,
  ErrorGroup,
  FileInfo,
  FileUrl,
  GameMode,
  GameOverEvent,
  GamePhase,
  GamePlayer,
  GameRecord,
  GameRoundEvent,
  GameState,
  GameTick,
  Invite,
  LeaderboardEntry,
  LiveGame,
  MatchFoundEvent,
  Message,
  MonitorMetric,
  MonitorSnapshot,
  NodeSnapshot,
  Notification,
  PresenceEvent,
  RatingChange,
  Reaction,
  ReadEvent,
  Room,
  RoomMember,
  RoomMemberEvent,
  RoomWithReadState,
  SearchResult,
  Session,
  Stats,
  Turn,
  TypingEvent,
  User,
  WebhookCreated,
  WebhookDelivery,
  WebhookDeliveryError,
  WebhookInfo,
} from '@switchboard/protocol';
