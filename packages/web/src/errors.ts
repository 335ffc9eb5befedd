/** Words for the SDK's error codes, for messages shown next to the action that failed. */
import { ErrorCode, SwitchboardError } from '@switchboard/client';

export function describeError(err: unknown, conflict = 'That already exists.'): string {
  if (!(err instanceof SwitchboardError)) return 'Something went wrong. Please try again.';
  switch (err.code) {
    case ErrorCode.CONFLICT:
      return conflict;
    case ErrorCode.FORBIDDEN:
      return 'You are not allowed to do that.';
    case ErrorCode.NOT_FOUND:
      return 'That no longer exists.';
    case ErrorCode.RATE_LIMITED:
      return 'Slow down a little, then try again.';
    case ErrorCode.UNAVAILABLE:
      return 'You are offline. Try again when the connection is back.';
    case ErrorCode.INVALID_ARGUMENT:
      return err.message;
    case ErrorCode.PAYLOAD_TOO_LARGE:
      return 'That is larger than this server accepts.';
    default:
      return 'Something went wrong. Please try again.';
  }
}
