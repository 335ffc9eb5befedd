/**
 * One mapping from failures to HTTP answers: `{ error: { code, message } }` with the status of
 * the code (PROTOCOL §2). Fastify's own errors (bad JSON, body too large) map onto the same codes.
 * Only INTERNAL is logged as an error: whatever a client sends, it cannot raise an alarm.
 */
import { ErrorCode, HttpStatus, type WireError } from '@switchboard/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodType, z } from 'zod';
import { AppError, toWireError } from '../domain/errors.js';

function fromFastify(err: { statusCode?: number; code?: string; message: string }): WireError | undefined {
  // @fastify/static refuses paths that leave its root or hold a NUL byte: as far as the client
  // is told, there is simply no such file.
  if (err.code === 'FST_STATIC_FORBIDDEN_PATH') return { code: ErrorCode.NOT_FOUND, message: 'not found' };
  switch (err.statusCode) {
    case 413:
      return { code: ErrorCode.PAYLOAD_TOO_LARGE, message: 'request body is too large' };
    case 404:
      return { code: ErrorCode.NOT_FOUND, message: err.message };
    default:
      // Any other refusal of the request by Fastify or a plugin (bad JSON, unsupported media type, …).
      return err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500
        ? { code: ErrorCode.INVALID_ARGUMENT, message: err.message }
        : undefined;
  }
}

/** Fastify's `frameworkErrors`: a URL that cannot be decoded, or an oversized path parameter. */
export function frameworkErrors(err: Error, _req: FastifyRequest, reply: FastifyReply): void {
  void reply.status(HttpStatus.INVALID_ARGUMENT).send({ error: { code: ErrorCode.INVALID_ARGUMENT, message: err.message } });
}

/** Hears every error answered over HTTP (monitoring's error tracking). */
export type HttpErrorListener = (report: { code: string; event: string; message: string; stack?: string | undefined }) => void;

/** The route an answer belongs to, as an error group's event: its method and URL pattern, never the URL itself. */
const routeOf = (req: FastifyRequest) => `${req.method} ${req.routeOptions.url ?? '(no route)'}`;

export function registerErrorHandling(app: FastifyInstance, onError?: HttpErrorListener): void {
  app.setErrorHandler((err, req, reply) => {
    const wire =
      err instanceof AppError ? err.toWire() : (fromFastify(err as { statusCode?: number; code?: string; message: string }) ?? toWireError(err));
    onError?.({
      code: wire.code,
      event: routeOf(req),
      message: wire.message,
      stack: wire.code === ErrorCode.INTERNAL && err instanceof Error ? err.stack : undefined,
    });
    if (wire.code === ErrorCode.INTERNAL) req.log.error({ err }, 'request failed');
    // RATE_LIMITED carries retryAfterMs in the body (PROTOCOL §2) and, for generic HTTP clients, as Retry-After.
    if (wire.retryAfterMs !== undefined) reply.header('retry-after', Math.ceil(wire.retryAfterMs / 1000));
    return reply.status(HttpStatus[wire.code]).send({ error: wire });
  });
  app.setNotFoundHandler((req, reply) => {
    onError?.({ code: ErrorCode.NOT_FOUND, event: routeOf(req), message: 'no such route' });
    return reply.status(404).send({ error: { code: ErrorCode.NOT_FOUND, message: `${req.method} ${req.url} not found` } });
  });
}

/** Validates a request part with its protocol schema; `INVALID_ARGUMENT` when it does not fit. */
export function parse<S extends ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw AppError.invalid(result.error);
  return result.data;
}
