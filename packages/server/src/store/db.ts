/**
 * Opens the durable store: SQLite (better-sqlite3, WAL) in DATA_DIR by default, PostgreSQL when
 * DATABASE_URL is set; runs the migrations; returns the Kysely handle and a readiness probe.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  Migrator,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  sql,
  type DatabaseConnection,
  type Driver,
  type LogEvent,
  type Logger,
  type SqliteDatabase,
  type SqliteDialectConfig,
} from 'kysely';
import pg from 'pg';
import type { DB } from './schema.js';
import { migrationProvider } from './migrations.js';

/** `%`, `_` and the escape character itself match literally in a LIKE pattern (`escape '\\'`) after this. */
export const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export type Dialect = 'sqlite' | 'postgres';

export interface Database {
  db: Kysely<DB>;
  dialect: Dialect;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  dataDir: string;
  databaseUrl?: string | undefined;
  poolSize?: number;
  /** Hears every statement's duration and whether it failed (monitoring). */
  onQuery?: ((ms: number, ok: boolean) => void) | undefined;
}

const INT8_OID = 20;

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const { onQuery } = options;
  const log = onQuery && ((event: LogEvent) => onQuery(event.queryDurationMillis, event.level === 'query'));
  const { db, dialect } = options.databaseUrl
    ? { db: postgres(options.databaseUrl, options.poolSize ?? 10, log), dialect: 'postgres' as const }
    : { db: sqlite(options.dataDir, log), dialect: 'sqlite' as const };
  try {
    const { error } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
    if (error) throw error;
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return {
    db,
    dialect,
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}

function sqlite(dataDir: string, log: Logger | undefined): Kysely<DB> {
  mkdirSync(dataDir, { recursive: true });
  const file = new SQLite(join(dataDir, 'switchboard.db'));
  // First, so that every later statement (the pragmas included) waits for a lock held by another
  // process of a cluster instead of failing with SQLITE_BUSY.
  file.pragma('busy_timeout = 5000');
  // WAL lets readers run beside the writer; synchronous=FULL fsyncs every commit so an
  // acknowledged message survives a power cut, not only a process crash.
  file.pragma('journal_mode = WAL');
  file.pragma('synchronous = FULL');
  file.pragma('foreign_keys = ON');
  return new Kysely<DB>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(file) }), ...(log ? { log } : {}) });
}

/** Distinct SQL texts kept prepared; batches vary their IN lists, so the set is bounded, not fixed. */
const STATEMENT_CACHE_SIZE = 256;

/**
 * Kysely's SQLite driver prepares every statement anew on each call, which cost about a tenth of
 * the server's CPU on the send path. better-sqlite3 statements are reusable (each call binds new
 * parameters, and SQLite re-prepares one transparently after a schema change), so keeping the
 * most recently used ones prepared (least recently used dropped first) is safe. Written here
 * because Kysely has no statement cache of its own; the driver never holds two statements open at
 * once (it streams only on `.stream()`, which Switchboard does not use).
 */
function withStatementCache(file: SQLite.Database): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => file.close(),
    prepare(sqlText) {
      let statement = cache.get(sqlText);
      if (statement) cache.delete(sqlText);
      else statement = file.prepare(sqlText);
      cache.set(sqlText, statement);
      if (cache.size > STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      return statement;
    },
  };
}

/**
 * SQLite transactions that take the write lock when they begin (`BEGIN IMMEDIATE`). Several
 * processes share the file in cluster mode (WORKERS > 1); a deferred transaction that reads and
 * then writes (`messages.append` looks up the client id before taking the seq) fails at once with
 * SQLITE_BUSY when another process committed in between, because the busy timeout does not
 * apply to a read lock that must be upgraded. An immediate one waits its turn instead.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: SqliteDialectConfig) {
    super(settings);
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.settings);
  }
}

function postgres(connectionString: string, max: number, log: Logger | undefined): Kysely<DB> {
  const pool = new pg.Pool({
    connectionString,
    max,
    // While PostgreSQL does not answer, a request fails (UNAVAILABLE) after this long instead of
    // waiting for a connection forever; the pool keeps opening new ones when it returns.
    connectionTimeoutMillis: 5000,
    // bigint columns hold millisecond times and seqs, all below 2^53: read them as numbers.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client's error (the server restarted) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  // The pool listens for errors of idle clients only. A connection lost while its client is
  // checked out (inside a transaction) would otherwise be an uncaught exception; its queries fail
  // (UNAVAILABLE) and the pool discards it when it is released.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool }), ...(log ? { log } : {}) });
}
