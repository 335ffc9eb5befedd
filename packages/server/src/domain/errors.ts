/**
 * AppError: the one error type the product raises on purpose. It carries a stable wire `code`,
 * a human `message` and the `cause`; `toWireError` maps any thrown value to what a client sees,
 * so internal details never leak.
 */
import { ErrorCode, HttpStatus, type WireError } from '@switchboard/protocol';
import type { ZodError } from 'zod';
import { isUnavailable } from '../store/errors.js';

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.retryAfterMs = options?.retryAfterMs;
  }

  get httpStatus(): number {
    return HttpStatus[this.code];
  }

  toWire(): WireError {
    return this.retryAfterMs === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, retryAfterMs: this.retryAfterMs };
  }

  /**
   * The first issue, where it is and what is wrong. Zod's messages name the expected and received
   * types, never the value; the path is made of the client's own keys, so it is shortened.
   */
  static invalid(error: ZodError): AppError {
    const first = error.issues[0];
    const path = first ? first.path.map((key) => (typeof key === 'symbol' ? '?' : String(key))).join('.') : '';
    const where = path.length > 0 ? `${path.length > 80 ? `${path.slice(0, 80)}…` : path}: ` : '';
    return new AppError(ErrorCode.INVALID_ARGUMENT, `${where}${first?.message ?? 'invalid input'}`, {
      cause: error,
    });
  }
}

export const notFound = (what: string) => new AppError(ErrorCode.NOT_FOUND, `${what} not found`);
export const forbidden = (message: string) => new AppError(ErrorCode.FORBIDDEN, message);
export const conflict = (message: string) => new AppError(ErrorCode.CONFLICT, message);
export const invalid = (message: string) => new AppError(ErrorCode.INVALID_ARGUMENT, message);
export const unauthenticated = (message = 'authentication required') =>
  new AppError(ErrorCode.UNAUTHENTICATED, message);
export const unavailable = (message: string, cause?: unknown) =>
  new AppError(ErrorCode.UNAVAILABLE, message, { cause });

/**
 * What a client is told about any thrown value: AppErrors as they are, a database that cannot be
 * reached as UNAVAILABLE (the request may be retried), anything else as INTERNAL.
 */
export function toWireError(err: unknown): WireError {
  if (err instanceof AppError) return err.toWire();
  if (isUnavailable(err)) return { code: ErrorCode.UNAVAILABLE, message: 'the database is unavailable; try again shortly' };
  return { code: ErrorCode.INTERNAL, message: 'internal error' };
}
