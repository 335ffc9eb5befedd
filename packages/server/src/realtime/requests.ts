/**
 * The request pipeline every client→server event goes through (PROTOCOL §2): rate limit → schema
 * check → handler → exactly one answer. The answer is the ack when the client gave one, else an
 * `error` event for failures. Unknown events are answered too, never silently dropped.
 */
import { ErrorCode, RequestSchemas, type ErrorEvent, type Namespace, type Result } from '@switchboard/protocol';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { AppError, toWireError } from '../domain/errors.js';
import type { EventClass, RateLimiter } from '../scale/rate-limit.js';
import type { InFlight } from './in-flight.js';
import type { SocketData } from './types.js';

type Schemas<N extends Namespace> = (typeof RequestSchemas)[N];

/** One handler per request event of namespace N: gets the validated payload, returns the ack's fields. */
export type Handlers<N extends Namespace> = {
  [E in keyof Schemas<N>]: (
    payload: Schemas<N>[E] extends z.ZodType ? z.output<Schemas<N>[E]> : never,
  ) => Promise<object> | object;
};

type Ack = (result: Result) => void;

/** The subset of a Socket.IO socket the pipeline needs, whatever its event maps. */
interface RequestSocket {
  data: SocketData;
  use(fn: (packet: unknown[], next: (err?: Error) => void) => void): unknown;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  emit(event: 'error', payload: ErrorEvent): unknown;
}

/** Event class of a request for rate limiting: sending messages has its own, smaller budget. */
const classOf = (event: string): EventClass => (event === 'message:send' ? 'message' : 'default');

export function serveRequests<N extends Namespace>(
  namespace: N,
  socket: RequestSocket,
  handlers: Handlers<N>,
  deps: { limiter: RateLimiter; log: Logger; inFlight: InFlight },
): void {
  const schemas = RequestSchemas[namespace] as Record<string, z.ZodType>;

  const answer = (event: string, ack: Ack | undefined, err: unknown) => {
    const error = toWireError(err);
    if (error.code === ErrorCode.INTERNAL) {
      deps.log.error({ err, event, userId: socket.data.userId }, 'request failed');
    }
    if (ack) ack({ ok: false, error });
    else socket.emit('error', { code: error.code, message: error.message, event });
  };

  // Unknown events never reach a listener: answer them here.
  socket.use((packet, next) => {
    const event = packet[0];
    if (typeof event === 'string' && Object.hasOwn(schemas, event)) return next();
    const ack = typeof packet.at(-1) === 'function' ? (packet.at(-1) as Ack) : undefined;
    answer(String(event), ack, new AppError(ErrorCode.INVALID_ARGUMENT, `unknown event "${String(event)}"`));
  });

  for (const [event, schema] of Object.entries(schemas)) {
    const handler = (handlers as Record<string, (payload: unknown) => Promise<object> | object>)[event];
    if (!handler) throw new Error(`no handler for ${namespace} ${event}`);
    socket.on(event, (...args: unknown[]) => {
      const ack = typeof args.at(-1) === 'function' ? (args.pop() as Ack) : undefined;
      void deps.inFlight.track(async () => {
        try {
          await deps.limiter.consume(socket.data.userId, classOf(event));
          const parsed = schema.safeParse(args[0]);
          if (!parsed.success) throw AppError.invalid(parsed.error);
          const result = await handler(parsed.data);
          ack?.({ ok: true, ...result });
        } catch (err) {
          answer(event, ack, err);
        }
      });
    });
  }
}
