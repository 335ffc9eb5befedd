/**
 * @switchboard/client — the Switchboard SDK for browsers and Node.js: one connection for every
 * namespace, tokens kept fresh, an outbox that never loses or doubles a message, and delivery of
 * every message exactly once and in order across reconnects.
 */
export { createClient, ClientDefaults, SwitchboardClient, type ClientEvents, type ClientOptions } from './client.js';
export { login, logout, refresh, register } from './http.js';
export { SwitchboardError } from './errors.js';
export type { ConnectionState } from './connection.js';
export type { Credentials } from './tokens.js';
export type {
  ChatApi,
  ChatEvents,
  HistoryOptions,
  SearchOptions,
  SendOptions,
  SyncState,
  UnreadEvent,
} from './chat.js';
export type { OutboxEntry, OutboxStatus } from './outbox.js';
export type { NotificationEvents, NotificationListOptions, NotificationsApi } from './notifications.js';
export type { MonitorApi, MonitorApiEvents, MonitorHistory } from './monitor.js';
export type { DocsApi, DocsApiEvents } from './docs.js';
export type { CollabApi, CollabOpenOptions, CollabSession, CollabSessionEvents } from './collab.js';
export { FilesDefaults, type FilesApi, type UploadOptions } from './files.js';
export { ErrorCode } from '@switchboard/protocol';
export type {
  Alert,
  AlertRule,
  AlertRuleSetInput,
  AlertSeverity,
  Attachment,
  ClusterStats,
  Doc,
  DocChangedEvent,
  DocVersion,
  DownNode,
  ErrorGroup,
  FileInfo,
  FileUrl,
  Message,
  MonitorMetric,
  MonitorSnapshot,
  NodeSnapshot,
  Notification,
  PresenceEvent,
  ReadEvent,
  Room,
  RoomMember,
  RoomMemberEvent,
  RoomWithReadState,
  SearchResult,
  Session,
  Stats,
  TypingEvent,
  User,
} from '@switchboard/protocol';
