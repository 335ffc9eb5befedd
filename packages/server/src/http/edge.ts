/**
 * The HTTP edge: which address a request comes from (TRUST_PROXY) and how long a client may take
 * to send it (PROTOCOL §2: headers within 20 s, a body within 30 s, uploads as long as they keep a
 * minimum rate). A client that sends slower ties up a connection and its memory for nothing; this
 * is where it is cut off.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyHttpOptions, FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { redactUrl } from '../logger.js';

/** The route whose body is a streamed upload (http/files.ts): held to a rate, not a deadline. */
const UPLOAD = { method: 'POST', path: '/api/files' };

/**
 * Fastify's `trustProxy` for TRUST_PROXY. A hop count is passed as a function: Fastify turns a
 * bare number into "trust nothing", since hops cannot tell a proxy from a client that reaches the
 * server directly; with hops the operator vouches that no client can (docs/operations.md).
 */
function trustProxy(setting: Config['TRUST_PROXY']): FastifyServerOptions['trustProxy'] {
  if (setting === false) return false;
  if (typeof setting === 'number') return (_address: string, hop: number) => hop < setting;
  return setting;
}

/** Fastify and Node server options for the client address and the connection timeouts. */
export function edgeOptions(config: Config): FastifyHttpOptions<Server> {
  return {
    trustProxy: trustProxy(config.TRUST_PROXY),
    keepAliveTimeout: config.HTTP_KEEPALIVE_TIMEOUT_MS,
    // Socket inactivity while a request or response is under way. WebSockets turn it off on
    // upgrade; long-polling answers within Socket.IO's 25 s ping interval.
    connectionTimeout: config.HTTP_IDLE_TIMEOUT_MS,
    http: {
      headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS,
      // Node checks the headers deadline only this often (30 s by default, longer than the deadline).
      connectionsCheckingInterval: Math.min(1000, Math.ceil(config.HTTP_HEADERS_TIMEOUT_MS / 4)),
    },
  };
}

const hasBody = (req: IncomingMessage) =>
  req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

const isUpload = (req: IncomingMessage) => req.method === UPLOAD.method && req.url?.split('?')[0] === UPLOAD.path;

/** Closes the connection of a request that is too slow, answering 408 first unless an answer has begun (as Node does for slow headers). */
function cut(req: IncomingMessage, res: ServerResponse, log: Logger, why: string): void {
  const socket = req.socket;
  if (socket.destroyed) return;
  // Info, not error: a slow client is the client's affair, and clients must not be able to raise alarms.
  log.info({ method: req.method, url: redactUrl(req.url), remoteAddress: socket.remoteAddress }, why);
  if (!res.headersSent && socket.writable) socket.write('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
  socket.destroy();
}

/**
 * Holds every request body on `server` (Fastify routes and Socket.IO's long-polling alike) to
 * HTTP_BODY_TIMEOUT_MS, and uploads to UPLOAD_MIN_BYTES_PER_S per UPLOAD_RATE_WINDOW_MS instead.
 * Node's own `requestTimeout` cannot do this: it has one deadline for every request, which would
 * cut a large upload on a slow link however steadily it progresses. Call after Socket.IO is
 * attached: it replaces the server's request listeners with its own.
 */
export function limitBodyTime(server: Server, config: Config, log: Logger): void {
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.complete || !hasBody(req)) return;
    let timer: NodeJS.Timeout;
    if (isUpload(req)) {
      // The socket's count, not a 'data' listener: listening would start the body flowing before the route reads it.
      const socket = req.socket;
      const minBytes = Math.ceil((config.UPLOAD_MIN_BYTES_PER_S * config.UPLOAD_RATE_WINDOW_MS) / 1000);
      let seen = socket.bytesRead;
      timer = setInterval(() => {
        if (!req.complete && socket.bytesRead - seen < minBytes) {
          clearInterval(timer);
          cut(req, res, log, `upload slower than ${config.UPLOAD_MIN_BYTES_PER_S} bytes/s: connection closed`);
        }
        seen = socket.bytesRead;
      }, config.UPLOAD_RATE_WINDOW_MS);
    } else {
      timer = setTimeout(() => {
        if (!req.complete) cut(req, res, log, `request body not received within ${config.HTTP_BODY_TIMEOUT_MS} ms: connection closed`);
      }, config.HTTP_BODY_TIMEOUT_MS);
    }
    timer.unref();
    const done = () => clearTimeout(timer);
    req.once('end', done);
    req.once('close', done);
  });
}
