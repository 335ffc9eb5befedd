/**
 * Permissions of DATA_DIR: the database, uploaded files and the generated JWT secret are readable
 * by whoever can read them on disk, so what Switchboard creates there is private to its user
 * (directory 0700, files 0600), and what it finds readable by others is reported at start. Modes
 * it finds are left as they are: an operator may have chosen them (a backup group, say).
 */
import { closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';

/** The SQLite database file; SQLite gives its `-wal` and `-shm` files the same mode as this one. */
const DATABASE_FILE = 'switchboard.db';

/** Anything DATA_DIR holds that must not be readable by other users of the host. */
const PRIVATE_FILES = [DATABASE_FILE, `${DATABASE_FILE}-wal`, `${DATABASE_FILE}-shm`, 'jwt-secret'];

/** Permission bits for the group and for others. */
const SHARED_BITS = 0o077;

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * Creates DATA_DIR (0700) and, for SQLite, an empty database file (0600) before SQLite opens it:
 * SQLite would create it with 0644, and copies the database's mode to its `-wal` and `-shm` files.
 */
export function prepareDataDir(dataDir: string, options: { sqlite: boolean }): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (!options.sqlite) return;
  try {
    // 'wx': never touches a database that is already there.
    closeSync(openSync(join(dataDir, DATABASE_FILE), 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/** Paths in DATA_DIR that the group or others may access, with their modes (octal). */
function sharedPaths(dataDir: string): { path: string; mode: string }[] {
  const found: { path: string; mode: string }[] = [];
  for (const path of [dataDir, join(dataDir, 'files'), ...PRIVATE_FILES.map((name) => join(dataDir, name))]) {
    try {
      const mode = statSync(path).mode & 0o777;
      if (mode & SHARED_BITS) found.push({ path, mode: mode.toString(8).padStart(4, '0') });
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }
  return found;
}

/** Logs a warning naming every path in DATA_DIR that other users of the host may read. */
export function warnIfShared(dataDir: string, log: Logger): void {
  const shared = sharedPaths(dataDir);
  if (shared.length > 0) {
    log.warn(
      { paths: shared },
      'DATA_DIR holds the database, uploaded files and secrets, but other users of this host may read some of it: chmod 700 the directory and 600 the files',
    );
  }
}
