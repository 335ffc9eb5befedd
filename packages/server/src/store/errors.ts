/** Recognises database errors by meaning, the same way on SQLite and PostgreSQL. */

/** A unique constraint or primary key was violated. */
export function isUniqueViolation(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * The transaction lost a race with a concurrent one and running it again may succeed: a unique
 * violation (the other inserted the same key first), a deadlock or a serialization failure.
 */
export function isRetryableConflict(err: unknown): boolean {
  if (isUniqueViolation(err)) return true;
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return code === '40P01' || code === '40001';
}

/** Node socket errors of a connection that could not be made or was lost. */
const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * node-postgres reports a lost or unobtainable connection by message only (no code). These are
 * the ones pg and pg-pool raise; see `pg/lib/client.js` and `pg-pool/index.js`.
 */
const PG_CONNECTION_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
];

/**
 * The database cannot be reached or is not accepting work right now — trying again later may
 * succeed: a connection refused, lost or timed out; PostgreSQL's connection exceptions (SQLSTATE
 * class 08), shutdown and startup (57P01–57P03), too many connections (53300); SQLite busy
 * beyond its busy timeout.
 */
export function isUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (CONNECTION_ERRNOS.has(code) || code.startsWith('08')) return true;
    if (code === '57P01' || code === '57P02' || code === '57P03' || code === '53300') return true;
    if (code === 'SQLITE_BUSY') return true;
  }
  if (typeof message === 'string' && PG_CONNECTION_MESSAGES.some((m) => message.startsWith(m))) return true;
  // Every address of a host name refused (Node tries them all and reports them together).
  if (err instanceof AggregateError) return err.errors.some(isUnavailable);
  // A transaction's rollback failing on the same lost connection wraps or follows the first error.
  const cause = (err as { cause?: unknown }).cause;
  return cause !== undefined && cause !== err && isUnavailable(cause);
}
