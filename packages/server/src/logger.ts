/** pino JSON logs to stdout, at LOG_LEVEL. */
import { pino, type Logger } from 'pino';

/**
 * A request as Fastify logs it, with any `token=` in its query string redacted: SSE readers
 * (`GET /api/events?token=`) and signed file URLs carry credentials there, which logs must not keep.
 */
function requestForLog(req: { method?: string; url?: string; host?: string; ip?: string; socket?: { remotePort?: number } }) {
  return {
    method: req.method,
    url: req.url?.replace(/([?&]token=)[^&#]*/gi, '$1[redacted]'),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { pid: process.pid },
    redact: ['req.headers.authorization', '*.password', '*.refreshToken'],
    serializers: { req: requestForLog },
  });
}
