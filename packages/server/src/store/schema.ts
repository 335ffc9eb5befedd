/**
 * Table types for Kysely. Columns are portable between SQLite and PostgreSQL: ids are text,
 * times are bigint milliseconds (parsed to numbers on both), flags are 0/1 integers, JSON is text.
 */
import type { Role } from '@switchboard/protocol';
import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

export interface UsersTable {
  id: string;
  username: string;
  /** Lower-cased username: the case-insensitive unique key. */
  username_lower: string;
  display_name: string;
  password_hash: string;
  role: Role;
  created_at: number;
  last_seen_at: number | null;
  /** Set while an admin has the account deactivated: no login, no connection. */
  deactivated_at: Generated<number | null>;
}

/** An invite link: lets people register (even when registration is closed) and join `room_id`. */
export interface InvitesTable {
  code: string;
  room_id: string | null;
  created_by: string;
  created_at: number;
  expires_at: number;
  /** `null`: unlimited. */
  max_uses: number | null;
  uses: Generated<number>;
}

/** One login: what an access token's `sid` names. Revoked by logout or refresh-token reuse. */
export interface SessionsTable {
  id: string;
  user_id: string;
  created_at: number;
  revoked_at: number | null;
}

export interface RefreshTokensTable {
  /** SHA-256 of the opaque token, hex: the token itself is never stored. */
  token_hash: string;
  session_id: string;
  created_at: number;
  expires_at: number;
  /** Set when the token is exchanged; presenting it again is reuse. */
  used_at: number | null;
}

export interface RoomsTable {
  id: string;
  name: string;
  /** Lower-cased name: public names are unique case-insensitively. */
  name_lower: string;
  /** `nameKey(name)` (NFKC, case-folded): public rooms whose keys are equal have the same name. */
  name_key: string;
  kind: 'public' | 'private' | 'dm';
  topic: string;
  /** null for a room nobody owns (`general`): admins manage it. */
  created_by: string | null;
  created_at: number;
  /** The seq of the room's latest message: the next message takes last_seq + 1. */
  last_seq: Generated<number>;
  member_count: Generated<number>;
  /** For DMs: the two user ids sorted and joined, unique, so a pair has one DM room. */
  dm_key: string | null;
  /** 1: read-only (`room:archive`). */
  archived: Generated<number>;
  /** 1: every new account joins it as it is created (`general`). */
  auto_join: Generated<number>;
}

export interface MembershipsTable {
  room_id: string;
  user_id: string;
  joined_at: number;
  last_read_seq: Generated<number>;
  /** 1: no notifications from this room for this member (`room:mute`). */
  muted: Generated<number>;
}

export interface MessagesTable {
  id: string;
  room_id: string;
  seq: number;
  sender_id: string;
  text: string;
  /** JSON array of `Attachment`. */
  attachments: string;
  client_msg_id: string;
  created_at: number;
  edited_at: number | null;
  deleted: Generated<number>;
  /** Last creation, edit or deletion: what `sync`'s `updatedSince` compares. */
  updated_at: number;
  /** The root message of the thread this one replies in (never itself a reply); null in the room. */
  thread_id: Generated<string | null>;
  reply_count: Generated<number>;
  last_reply_at: Generated<number | null>;
  /** JSON array of `Reaction`, in first-use order. */
  reactions: Generated<string>;
}

export interface NotificationsTable {
  id: string;
  user_id: string;
  kind: string;
  title: string;
  body: string;
  /** JSON object. */
  data: string;
  created_at: number;
  read_at: number | null;
}

/** One upload. The bytes are shared by every row with the same `sha256` (store/blobs.ts). */
export interface FilesTable {
  id: string;
  room_id: string;
  uploader_id: string;
  /** Sanitized original name. */
  name: string;
  size: number;
  /** Detected from the bytes. */
  mime: string;
  /** Hex SHA-256 of the bytes: the blob's address. */
  sha256: string;
  created_at: number;
  /** The message the file is attached to; null until it is sent. */
  message_id: string | null;
  /** Set when its message is deleted: the file is no longer served. */
  deleted_at: number | null;
  /** Pixel size of a PNG, JPEG, GIF or WebP image, read from its header at upload; null otherwise. */
  width: number | null;
  height: number | null;
}

/**
 * The cluster's monitoring history (PROTOCOL §7): one row per metric and point in time, in three
 * tiers — 0: 1 s points kept 1 h, 1: 10 s kept 1 day, 2: 1 min kept 30 days; a coarser point is
 * the mean of the 1 s points of its span.
 */
export interface MonitorPointsTable {
  tier: number;
  metric: string;
  /** Start of the point's span, ms. */
  t: number;
  value: number;
}

export interface AlertRulesTable {
  id: string;
  metric: string;
  op: '>' | '<';
  threshold: number;
  for_seconds: number;
  severity: 'info' | 'warning' | 'critical';
  enabled: number;
  created_at: number;
}

/** An alert that fired; `resolved_at` is null while it is active. */
export interface AlertsTable {
  id: string;
  rule_id: string;
  metric: string;
  value: number;
  threshold: number;
  severity: 'info' | 'warning' | 'critical';
  started_at: number;
  resolved_at: number | null;
}

/** Errors grouped by fingerprint (domain/monitoring/metrics.ts), with their count and first/last sighting. */
export interface ErrorGroupsTable {
  fingerprint: string;
  code: string;
  event: string;
  message: string;
  count: number;
  first_seen_at: number;
  last_seen_at: number;
  node_id: string;
}

/**
 * A collaborative document (PROTOCOL §5). Its Yjs state is `snapshot` (the compacted state, or
 * null before the first compaction) plus every row of `doc_updates` for it; applying an update
 * twice changes nothing, so a row already merged into the snapshot is harmless.
 */
export interface DocsTable {
  id: string;
  room_id: string;
  title: string;
  created_by: string;
  created_at: number;
  updated_at: number;
  /** Set when deleted: the document is no longer served; its rows stay. */
  deleted_at: number | null;
  /** Yjs update holding the compacted state (a blob on SQLite, bytea on PostgreSQL). */
  snapshot: Uint8Array | null;
  /** Bumped by every compaction: a compaction that read an older one does not write. */
  snapshot_rev: Generated<number>;
  /** The latest automatic version, ms; one node wins the right to take the next one. */
  auto_version_at: Generated<number>;
}

/** The update log: every update a client sent, appended before anyone else sees it. */
export interface DocUpdatesTable {
  /** Increasing (SQLite autoincrement, PostgreSQL identity). */
  seq: Generated<number>;
  doc_id: string;
  data: Uint8Array;
  created_at: number;
}

/** A version: the whole Yjs state at one moment. */
export interface DocVersionsTable {
  id: string;
  doc_id: string;
  /** Null for an automatic version. */
  name: string | null;
  created_at: number;
  /** Null for an automatic version. */
  created_by: string | null;
  state: Uint8Array;
}

/** A bot's token, by hash (PROTOCOL §8); the row goes when the bot is deleted. */
export interface BotTokensTable {
  token_hash: string;
  user_id: string;
  session_id: string;
  created_by: string;
  created_at: number;
}

/**
 * A room's outgoing webhook (PROTOCOL §8). Deliveries follow the room's messages by seq:
 * `delivered_seq` is the last one done with; the head message's attempts and next try are kept
 * here, and a node holds `lease_until` while it delivers, so two nodes never deliver at once.
 */
export interface RoomWebhooksTable {
  id: string;
  room_id: string;
  url: string;
  secret: string;
  created_by: string;
  created_at: number;
  deleted_at: number | null;
  delivered_seq: number;
  attempts: number;
  next_attempt_at: number;
  lease_until: number;
  last_status: number | null;
  last_error: string | null;
  last_delivered_at: number | null;
}

/**
 * One delivery attempt of a room webhook (PROTOCOL §8, delivery history): the newest
 * `WebhookLimits.deliveriesKept` per webhook are kept, older ones are dropped as new ones are
 * written, and a removed webhook's go with it. `id` is a UUIDv7, so it orders attempts by time.
 */
export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  message_id: string;
  seq: number;
  attempt: number;
  attempted_at: number;
  duration_ms: number;
  /** 1 for a 2xx answer, else 0. */
  ok: number;
  status: number | null;
  error_code: string | null;
  error_message: string | null;
}

/** A finished game (PROTOCOL §6); live games are held in memory by the node running them. */
export interface GamesTable {
  id: string;
  mode: string;
  started_at: number;
  finished_at: number;
  winner_seat: number | null;
  reason: string;
  /** JSON array of `{ seat, userId, name, bot }`. */
  players: string;
}

/** The people (never bots) of a finished game, to find a user's games. */
export interface GamePlayersTable {
  game_id: string;
  user_id: string;
  seat: number;
  finished_at: number;
}

/** Elo per user and mode; a user without a row has the initial rating. */
export interface RatingsTable {
  user_id: string;
  mode: string;
  rating: number;
  games: number;
  wins: number;
}

export interface DB {
  users: UsersTable;
  sessions: SessionsTable;
  invites: InvitesTable;
  refresh_tokens: RefreshTokensTable;
  rooms: RoomsTable;
  memberships: MembershipsTable;
  messages: MessagesTable;
  notifications: NotificationsTable;
  files: FilesTable;
  monitor_points: MonitorPointsTable;
  alert_rules: AlertRulesTable;
  alerts: AlertsTable;
  error_groups: ErrorGroupsTable;
  bot_tokens: BotTokensTable;
  room_webhooks: RoomWebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  docs: DocsTable;
  doc_updates: DocUpdatesTable;
  doc_versions: DocVersionsTable;
  games: GamesTable;
  game_players: GamePlayersTable;
  ratings: RatingsTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type RoomRow = Selectable<RoomsTable>;
export type MessageRow = Selectable<MessagesTable>;
export type MessageUpdate = Updateable<MessagesTable>;
export type NotificationRow = Selectable<NotificationsTable>;
export type FileRow = Selectable<FilesTable>;
export type AlertRuleRow = Selectable<AlertRulesTable>;
export type AlertRow = Selectable<AlertsTable>;
export type ErrorGroupRow = Selectable<ErrorGroupsTable>;
export type DocRow = Selectable<DocsTable>;
export type DocVersionRow = Selectable<DocVersionsTable>;
export type RoomWebhookRow = Selectable<RoomWebhooksTable>;
export type WebhookDeliveryRow = Selectable<WebhookDeliveriesTable>;
