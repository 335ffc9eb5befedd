/**
 * Opens the durable store: SQLite (better-sqlite3, WAL) in DATA_DIR by default, PostgreSQL when
 * DATABASE_URL is set; runs the migrations; returns the Kysely handle and a readiness probe.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { DB } from './schema.js';
import { migrationProvider } from './migrations.js';

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
}

const INT8_OID = 20;

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const { db, dialect } = options.databaseUrl
    ? { db: postgres(options.databaseUrl, options.poolSize ?? 10), dialect: 'postgres' as const }
    : { db: sqlite(options.dataDir), dialect: 'sqlite' as const };
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

function sqlite(dataDir: string): Kysely<DB> {
  mkdirSync(dataDir, { recursive: true });
  const file = new SQLite(join(dataDir, 'switchboard.db'));
  // WAL lets readers run beside the writer; synchronous=FULL fsyncs every commit so an
  // acknowledged message survives a power cut, not only a process crash.
  file.pragma('journal_mode = WAL');
  file.pragma('synchronous = FULL');
  file.pragma('foreign_keys = ON');
  file.pragma('busy_timeout = 5000');
  return new Kysely<DB>({ dialect: new SqliteDialect({ database: file }) });
}

function postgres(connectionString: string, max: number): Kysely<DB> {
  const pool = new pg.Pool({
    connectionString,
    max,
    // bigint columns hold millisecond times and seqs, all below 2^53: read them as numbers.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client's error (the server restarted) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
}
