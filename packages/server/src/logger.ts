/** pino JSON logs to stdout (or a given destination), at LOG_LEVEL. */
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * A URL with any `token=` in its query string redacted: SSE readers (`GET /api/events?token=`)
 * and signed file URLs (`/api/files/:id?token=`) carry credentials there, which logs must not keep.
 */
export function redactUrl(url: string | undefined): string | undefined {
  return url?.replace(/([?&]token=)[^&#]*/gi, '$1[redacted]');
}

/** A request as Fastify logs it, its URL redacted. */
function requestForLog(req: { method?: string; url?: string; host?: string; ip?: string; socket?: { remotePort?: number } }) {
  return {
    method: req.method,
    url: redactUrl(req.url),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { pid: process.pid },
    redact: ['req.headers.authorization', '*.password', '*.refreshToken'],
    serializers: { req: requestForLog },
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * Fastify's per-request lines (one when a request arrives, one when it is answered) at debug
 * level instead of info, where on a busy server they would bury everything else. A request that
 * fails while its answer is being sent stays an error.
 */
export class RequestLogController extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}
