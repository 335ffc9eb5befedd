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
  '0010_threads_reactions': {
    async up(db: Kysely<unknown>) {
      // Reply counts and reactions live on the message row, like its attachments: every page of
      // history carries them, and one row update changes them together with `updated_at`.
      await db.schema.alterTable('messages').addColumn('thread_id', 'text', (c) => c.references('messages.id')).execute();
      await db.schema.alterTable('messages').addColumn('reply_count', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('messages').addColumn('last_reply_at', 'bigint').execute();
      await db.schema.alterTable('messages').addColumn('reactions', 'text', (c) => c.notNull().defaultTo('[]')).execute();
      await db.schema
        .createIndex('messages_thread_seq')
        .on('messages')
        .columns(['thread_id', 'seq'])
        .where(sql.ref('thread_id'), 'is not', null)
        .execute();
    },
  },
  '0011_room_management': {
    async up(db: Kysely<unknown>) {
      const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
      // `general` is owned by nobody (admins manage it): `created_by` becomes nullable.
      if (postgres) await sql`alter table rooms alter column created_by drop not null`.execute(db);
      else await dropRoomsCreatorNotNullOnSqlite(db);
      await inTransaction(db, async (trx) => {
        await trx.schema.alterTable('rooms').addColumn('archived', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        await trx.schema.alterTable('rooms').addColumn('auto_join', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        await trx.schema.alterTable('memberships').addColumn('muted', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        // A public room already named `general` becomes the room new accounts join, members kept
        // as they are (who left it chose to). Otherwise `general` is created with every existing
        // person (not bots) in it, as if each had joined it on sign-up.
        const existing = await sql<{ id: string }>`
          select id from rooms where kind = 'public' and name_key = ${nameKey(GENERAL_ROOM_NAME)}`.execute(trx);
        const adopted = existing.rows[0];
        if (adopted) {
          await sql`update rooms set auto_join = 1 where id = ${adopted.id}`.execute(trx);
          return;
        }
        const id = v7();
        const now = Date.now();
        const people = await sql<{ id: string }>`select id from users where role <> 'bot'`.execute(trx);
        await sql`
          insert into rooms (id, name, name_lower, name_key, kind, topic, created_by, created_at, last_seq, member_count, dm_key, archived, auto_join)
          values (${id}, ${GENERAL_ROOM_NAME}, ${GENERAL_ROOM_NAME}, ${nameKey(GENERAL_ROOM_NAME)}, 'public', '', null, ${now}, 0, ${people.rows.length}, null, 0, 1)`.execute(trx);
        for (const user of people.rows) {
          await sql`insert into memberships (room_id, user_id, joined_at) values (${id}, ${user.id}, ${now})`.execute(trx);
        }
      });
    },
  },
  '0012_accounts_admin': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('users').addColumn('deactivated_at', 'bigint').execute();
      await db.schema
        .createTable('invites')
        .addColumn('code', 'text', (c) => c.primaryKey())
        .addColumn('room_id', 'text', (c) => c.references('rooms.id'))
        .addColumn('created_by', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('max_uses', 'integer')
        .addColumn('uses', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
  '0013_message_search': {
    async up(db: Kysely<unknown>) {
      // Full-text search over messages (store/search.ts). The index follows every insert, edit and
      // delete by itself, so no write path has to remember it, and this migration fills it from
      // the messages stored so far.
      if (db.getExecutor().adapter instanceof PostgresAdapter) {
        // An expression index rather than a stored tsvector column: the column would ride along in
        // every `messages.*` read (each history page and sync) for nothing. The 'simple'
        // configuration lowercases but neither stems nor drops stop words, which suits a team
        // writing in several languages (an English stemmer mangles German or French words) and
        // matches what SQLite's unicode61 tokenizer does. Building the index reads every message.
        await sql`create index messages_search on messages using gin (to_tsvector('simple', text))`.execute(db);
        return;
      }
      await inTransaction(db, async (trx) => {
        // FTS5 rows are keyed by an integer rowid. The messages table has none of its own (its key
        // is a text id), and an implicit rowid may change on VACUUM, which would silently point the
        // index at other messages; this table gives each message a stable integer key instead.
        await sql`create table message_search_keys (
          key integer primary key,
          message_id text not null unique references messages(id)
        )`.execute(trx);
        // remove_diacritics 2: "cafe" finds "café". The table keeps its own copy of each text, which
        // snippet() reads.
        await sql`create virtual table message_search using fts5(text, tokenize = 'unicode61 remove_diacritics 2')`.execute(trx);
        await sql`create trigger message_search_insert after insert on messages begin
          insert into message_search_keys (message_id) values (new.id);
          insert into message_search (rowid, text)
            select key, new.text from message_search_keys where message_id = new.id and new.deleted = 0;
        end`.execute(trx);
        await sql`create trigger message_search_update after update of text, deleted on messages begin
          delete from message_search where rowid = (select key from message_search_keys where message_id = old.id);
          insert into message_search (rowid, text)
            select key, new.text from message_search_keys where message_id = new.id and new.deleted = 0;
        end`.execute(trx);
        await sql`create trigger message_search_delete before delete on messages begin
          delete from message_search where rowid = (select key from message_search_keys where message_id = old.id);
          delete from message_search_keys where message_id = old.id;
        end`.execute(trx);
        await sql`insert into message_search_keys (message_id) select id from messages order by id`.execute(trx);
        await sql`insert into message_search (rowid, text)
          select k.key, m.text from message_search_keys k join messages m on m.id = k.message_id where m.deleted = 0`.execute(trx);
      });
    },
  },
  '0014_file_dimensions': {
    // Images' pixel size, read from their header at upload (store/image-size.ts), so clients can
    // reserve an image's box before it loads. Files stored before stay null: shown without one.
    async up(db: Kysely<unknown>) {
      // One column per statement: SQLite's ALTER TABLE adds one at a time.
      await db.schema.alterTable('files').addColumn('width', 'integer').execute();
      await db.schema.alterTable('files').addColumn('height', 'integer').execute();
    },
  },
  '0015_webhook_deliveries': {
    // Each room webhook's recent delivery attempts (store/webhooks.ts keeps the newest 100 of each).
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('webhook_id', 'text', (c) => c.notNull().references('room_webhooks.id'))
        .addColumn('message_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('attempted_at', 'bigint', (c) => c.notNull())
        .addColumn('duration_ms', 'integer', (c) => c.notNull())
        .addColumn('ok', 'integer', (c) => c.notNull())
        .addColumn('status', 'integer')
        .addColumn('error_code', 'text')
        .addColumn('error_message', 'text')
        .execute();
      // Pages, the latest attempt and pruning all walk one webhook's attempts by id.
      await db.schema.createIndex('webhook_deliveries_webhook').on('webhook_deliveries').columns(['webhook_id', 'id']).execute();
    },
  },
};

/** The room every new account joins (PROTOCOL §4.3). */
export const GENERAL_ROOM_NAME = 'general';

/**
 * SQLite cannot drop a NOT NULL constraint in place: the table is rebuilt as SQLite's documentation
 * prescribes (https://www.sqlite.org/lang_altertable.html#otheralter) — foreign keys off, a copy
 * created from the stored definition without the constraint, filled, swapped in, its indexes and
 * triggers recreated from their stored definitions, the foreign keys checked, all in one
 * transaction. Working from the stored definitions keeps every column and index the table has.
 */
async function dropRoomsCreatorNotNullOnSqlite(db: Kysely<unknown>): Promise<void> {
  const table = await sql<{ sql: string }>`select sql from sqlite_master where type = 'table' and name = 'rooms'`.execute(db);
  const ddl = table.rows[0]?.sql ?? '';
  const column = /"created_by" text not null/i;
  if (!column.test(ddl)) throw new Error('rooms.created_by is not defined as expected; migration stopped');
  const copy = ddl.replace(column, '"created_by" text').replace(/^create table "rooms"/i, 'create table "rooms_rebuilt"');
  const dependents = await sql<{ sql: string }>`
    select sql from sqlite_master where tbl_name = 'rooms' and type in ('index', 'trigger') and sql is not null`.execute(db);
  // Cannot change inside a transaction, so it is switched off around it (the migration has the only connection).
  await sql`pragma foreign_keys = off`.execute(db);
  try {
    await inTransaction(db, async (trx) => {
      await sql.raw(copy).execute(trx);
      await sql`insert into rooms_rebuilt select * from rooms`.execute(trx);
      await sql`drop table rooms`.execute(trx);
      await sql`alter table rooms_rebuilt rename to rooms`.execute(trx);
      for (const { sql: statement } of dependents.rows) await sql.raw(statement).execute(trx);
      const broken = await sql`pragma foreign_key_check`.execute(trx);
      if (broken.rows.length > 0) throw new Error('rebuilding rooms broke a foreign key; migration stopped');
    });
  } finally {
    await sql`pragma foreign_keys = on`.execute(db);
  }
}

/** Runs `work` in a transaction: the one the migrator opened (PostgreSQL), or a new one (SQLite). */
function inTransaction(db: Kysely<unknown>, work: (trx: Kysely<unknown>) => Promise<void>): Promise<void> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
