/**
 * SwitchboardError: the one error type the SDK throws and reports. It carries the protocol's
 * stable `code` (PROTOCOL §2), so apps branch on codes, never on message text.
 */
import { ErrorCode, isErrorCode } from '@switchboard/protocol';

export class SwitchboardError extends Error {
  readonly code: ErrorCode;
  /** Present on `RATE_LIMITED`: how long to wait before the next attempt. */
  readonly retryAfterMs: number | undefined;
  /**
   * True when the SDK raised the error itself because no answer came (ack timeout, lost
   * connection, unreachable server): the request may or may not have been applied.
   */
  readonly local: boolean;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; retryAfterMs?: number; local?: boolean } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SwitchboardError';
    this.code = code;
    this.retryAfterMs = options.retryAfterMs;
    this.local = options.local ?? false;
  }

  /** The error of a failed acknowledgement or HTTP body; tolerant of malformed answers. */
  static fromWire(error: unknown, fallbackMessage: string): SwitchboardError {
    const e = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
    const code = isErrorCode(e.code) ? e.code : ErrorCode.INTERNAL;
    const message = typeof e.message === 'string' && e.message.length > 0 ? e.message : fallbackMessage;
    const retryAfterMs = typeof e.retryAfterMs === 'number' ? e.retryAfterMs : undefined;
    return new SwitchboardError(code, message, retryAfterMs === undefined ? {} : { retryAfterMs });
  }

  /** No answer arrived: the server may be unreachable, slow, or the connection dropped. */
  static noAnswer(what: string, cause: unknown): SwitchboardError {
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new SwitchboardError(ErrorCode.UNAVAILABLE, `${what}: ${reason}`, { cause, local: true });
  }
}

