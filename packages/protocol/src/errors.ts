/**
 * Stable error codes of the wire contract (PROTOCOL §2). A code is never reused for another
 * meaning; new failure kinds get new codes.
 */
export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  CONFLICT: 'CONFLICT',
  RATE_LIMITED: 'RATE_LIMITED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNAVAILABLE: 'UNAVAILABLE',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** HTTP status for each error code; the body is always `{ error: { code, message } }`. */
export const HttpStatus: Record<ErrorCode, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  INVALID_ARGUMENT: 400,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  PAYLOAD_TOO_LARGE: 413,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

/** The error object carried by a failed acknowledgement or an HTTP error body. */
export interface WireError {
  code: ErrorCode;
  message: string;
  /** Present on `RATE_LIMITED`: how long to wait before the next attempt. */
  retryAfterMs?: number;
}

/** Sent as the `error` event when a request without an ack callback fails. */
export interface ErrorEvent {
  code: ErrorCode;
  message: string;
  event: string;
  /** Present on `RATE_LIMITED`: wait this long before sending that event again. */
  retryAfterMs?: number;
}

/** Every acknowledgement: `{ ok: true, ...result }` or `{ ok: false, error }`. */
export type Result<T extends object = object> = ({ ok: true } & T) | { ok: false; error: WireError };

/** The acknowledgement callback that every client→server request takes as its last argument. */
export type Ack<T extends object = object> = (result: Result<T>) => void;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ErrorCode, value);
}
