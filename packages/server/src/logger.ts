/** pino JSON logs to stdout, at LOG_LEVEL. */
import { pino, type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({ level, base: { pid: process.pid }, redact: ['req.headers.authorization', '*.password', '*.refreshToken'] });
}
