/**
 * Versioned schema migrations, run on start by Kysely's Migrator (which takes a lock, so nodes
 * starting together migrate once). Migrations are append-only: a released one is never edited.
 */
import { nameKey } from '@switchboard/protocol';
import { PostgresAdapter, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { v7 } from 'uuid';

const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('username_lower', 'text', (c) => c.notNull().unique())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint')
        .execute();

      await db.schema
        .createTable('sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();

      await db.schema
        .createTable('refresh_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute();
      await db.schema.createIndex('refresh_tokens_session').on('refresh_tokens').column('session_id').execute();

      await db.schema
        .createTable('rooms')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('name_lower', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('topic', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('created_by', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seq', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('member_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('dm_key', 'text', (c) => c.unique())
        .execute();
      await db.schema
        .createIndex('rooms_public_name')
        .unique()
        .on('rooms')
        .column('name_lower')
        .where(sql.ref('kind'), '=', 'public')
        .execute();

      await db.schema
        .createTable('memberships')
        .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('joined_at', 'bigint', (c) => c.notNull())
        .addColumn('last_read_seq', 'bigint', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('memberships_pk', ['room_id', 'user_id'])
        .execute();
      await db.schema.createIndex('memberships_user').on('memberships').column('user_id').execute();

      await db.schema
        .createTable('messages')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id'))
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('sender_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('attachments', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('client_msg_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('edited_at', 'bigint')
        .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('messages_room_seq', ['room_id', 'seq'])
        .addUniqueConstraint('messages_sender_client_msg', ['sender_id', 'client_msg_id'])
        .execute();
      await db.schema.createIndex('messages_room_updated').on('messages').columns(['room_id', 'updated_at']).execute();

      await db.schema
        .createTable('notifications')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('read_at', 'bigint')
        .execute();
      await db.schema.createIndex('notifications_user').on('notifications').columns(['user_id', 'id']).execute();
    },
  },
  '0002_files': {
    async up(db: Kysely<unknown>) {
      // The bytes live in DATA_DIR/files under their SHA-256 (store/blobs.ts); a row is one upload.
      await db.schema
        .createTable('files')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id'))
        .addColumn('uploader_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('mime', 'text', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('message_id', 'text', (c) => c.references('messages.id'))
        .addColumn('deleted_at', 'bigint')
        .execute();
      await db.schema.createIndex('files_sha256').on('files').column('sha256').execute();
      await db.schema.createIndex('files_message').on('files').column('message_id').execute();
    },
  },
  '0003_room_name_keys': {
    async up(db: Kysely<unknown>) {
      // Filling the keys takes many statements: on SQLite, whose migrations Kysely runs outside a
      // transaction, one transaction keeps a crash from leaving the column half filled.
      await inTransaction(db, async (trx) => {
        await trx.schema.alterTable('rooms').addColumn('name_key', 'text', (c) => c.notNull().defaultTo('')).execute();
        const rooms = await sql<{ id: string; name: string; kind: string }>`
          select id, name, kind from rooms order by created_at, id`.execute(trx);
        const taken = new Set<string>();
        for (const room of rooms.rows) {
          let key = nameKey(room.name);
          // Public rooms named alike before this rule keep their names; the oldest keeps the key,
          // the others get one no name can produce (names hold no line breaks), so the index holds.
          if (room.kind === 'public' && taken.has(key)) key = `${key}\n${room.id}`;
          if (room.kind === 'public') taken.add(key);
          await sql`update rooms set name_key = ${key} where id = ${room.id}`.execute(trx);
        }
        await trx.schema
          .createIndex('rooms_public_name_key')
          .unique()
          .on('rooms')
          .column('name_key')
          .where(sql.ref('kind'), '=', 'public')
          .execute();
      });
    },
  },
  '0004_file_quota_and_orphans': {
    async up(db: Kysely<unknown>) {
      // The per-user quota sums the live files of one uploader; the orphan sweep looks for old
      // files never attached. Both read only a small part of the table.
      await db.schema
        .createIndex('files_uploader_live')
        .on('files')
        .column('uploader_id')
        .where(sql.ref('deleted_at'), 'is', null)
        .execute();
      await db.schema
        .createIndex('files_unattached')
        .on('files')
        .column('created_at')
        .where(sql.ref('message_id'), 'is', null)
        .where(sql.ref('deleted_at'), 'is', null)
        .execute();
    },
  },
  '0005_monitoring': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('monitor_points')
        .addColumn('tier', 'integer', (c) => c.notNull())
        .addColumn('metric', 'text', (c) => c.notNull())
        .addColumn('t', 'bigint', (c) => c.notNull())
        .addColumn('value', 'double precision', (c) => c.notNull())
        .addPrimaryKeyConstraint('monitor_points_pk', ['tier', 'metric', 't'])
        .execute();
      await db.schema
        .createTable('alert_rules')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('metric', 'text', (c) => c.notNull())
        .addColumn('op', 'text', (c) => c.notNull())
        .addColumn('threshold', 'double precision', (c) => c.notNull())
        .addColumn('for_seconds', 'integer', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('alerts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('rule_id', 'text', (c) => c.notNull())
        .addColumn('metric', 'text', (c) => c.notNull())
        .addColumn('value', 'double precision', (c) => c.notNull())
        .addColumn('threshold', 'double precision', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('resolved_at', 'bigint')
        .execute();
      await db.schema.createIndex('alerts_started').on('alerts').column('started_at').execute();
      await db.schema
        .createTable('error_groups')
        .addColumn('fingerprint', 'text', (c) => c.primaryKey())
        .addColumn('code', 'text', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .addColumn('first_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('node_id', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('error_groups_last_seen').on('error_groups').column('last_seen_at').execute();
      // The default rules (PROTOCOL §7): slow answers, errors, a stalled event loop, memory, a node down.
      const now = Date.now();
      const defaults = [
        { metric: 'ackP99Ms', op: '>', threshold: 1000, for_seconds: 60, severity: 'warning' },
        { metric: 'errorsPerSec', op: '>', threshold: 5, for_seconds: 60, severity: 'warning' },
        { metric: 'eventLoopLagMs', op: '>', threshold: 500, for_seconds: 30, severity: 'warning' },
        { metric: 'rssBytes', op: '>', threshold: 2 * 1024 ** 3, for_seconds: 300, severity: 'warning' },
        { metric: 'nodesDown', op: '>', threshold: 0, for_seconds: 0, severity: 'critical' },
      ];
      await db
        .insertInto('alert_rules' as never)
        .values(defaults.map((rule, i) => ({ id: v7(), ...rule, enabled: 1, created_at: now + i })) as never)
        .execute();
    },
  },
  '0006_documents': {
    async up(db: Kysely<unknown>) {
      // Yjs states and updates are binary: bytea on PostgreSQL, blob on SQLite.
      const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
      const binary = postgres ? 'bytea' : 'blob';
      await db.schema
        .createTable('docs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id'))
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('deleted_at', 'bigint')
        .addColumn('snapshot', sql.raw(binary))
        .addColumn('snapshot_rev', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('auto_version_at', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('docs_room_created').on('docs').columns(['room_id', 'created_at']).execute();
      await db.schema
        .createTable('doc_updates')
        .addColumn('seq', postgres ? 'bigserial' : 'integer', (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('doc_id', 'text', (c) => c.notNull().references('docs.id'))
        .addColumn('data', sql.raw(binary), (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('doc_updates_doc').on('doc_updates').columns(['doc_id', 'seq']).execute();
      await db.schema
        .createTable('doc_versions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('doc_id', 'text', (c) => c.notNull().references('docs.id'))
        .addColumn('name', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.references('users.id'))
        .addColumn('state', sql.raw(binary), (c) => c.notNull())
        .execute();
      await db.schema.createIndex('doc_versions_doc').on('doc_versions').columns(['doc_id', 'created_at']).execute();
    },
  },
  '0007_bots': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('bot_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().unique().references('users.id'))
        .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id'))
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0008_games': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('games')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint', (c) => c.notNull())
        .addColumn('winner_seat', 'integer')
        .addColumn('reason', 'text', (c) => c.notNull())
        // JSON: [{ seat, userId, name, bot }], as the history answers it.
        .addColumn('players', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('game_players')
        .addColumn('game_id', 'text', (c) => c.notNull().references('games.id'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('seat', 'integer', (c) => c.notNull())
        .addColumn('finished_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('game_players_pk', ['game_id', 'seat'])
        .execute();
      await db.schema.createIndex('game_players_user').on('game_players').columns(['user_id', 'finished_at']).execute();
      await db.schema
        .createTable('ratings')
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('rating', 'integer', (c) => c.notNull())
        .addColumn('games', 'integer', (c) => c.notNull())
        .addColumn('wins', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('ratings_pk', ['user_id', 'mode'])
        .execute();
      await db.schema.createIndex('ratings_mode_rating').on('ratings').columns(['mode', 'rating']).execute();
    },
  },
  '0009_room_webhooks': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('room_webhooks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id'))
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('deleted_at', 'bigint')
        .addColumn('delivered_seq', 'bigint', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('lease_until', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('last_status', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('last_delivered_at', 'bigint')
        .execute();
      await db.schema.createIndex('room_webhooks_room').on('room_webhooks').column('room_id').execute();
    },
  },
  '0016_file_dimensions': {
    // Images' pixel size, read from their header at upload (store/image-size.ts), so clients can
    // reserve an image's box before it loads. Files stored before stay null: shown without one.
    async up(db: Kysely<unknown>) {
      // One column per statement: SQLite's ALTER TABLE adds one at a time.
      await db.schema.alterTable('files').addColumn('width', 'integer').execute();
      await db.schema.alterTable('files').addColumn('height', 'integer').execute();
    },
  },
};

/** Runs `work` in a transaction: the one the migrator opened (PostgreSQL), or a new one (SQLite). */
function inTransaction(db: Kysely<unknown>, work: (trx: Kysely<unknown>) => Promise<void>): Promise<void> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
