/**
 * The request pipeline every client→server event goes through (PROTOCOL §2): rate limit → schema
 * check → handler → exactly one answer. The answer is the ack when the client gave one, else an
 * `error` event for failures. Unknown events are answered too, never silently dropped, and count
 * against the caller's rate limit like any other request.
 *
 * While a socket's connection is over its send budget (socket-budget.ts) the requests it already
 * sent wait here, in order, until it is back under the limit: "reads no further requests".
 *
 * Handlers are built once per namespace and take the socket as an argument; each socket gets a
 * single packet middleware that dispatches to them. Per-socket listeners and handler closures
 * (one per event, for every socket) were most of an idle connection's memory.
 */
import { ErrorCode, RequestSchemas, type ErrorEvent, type Namespace, type Result, type WireError } from '@switchboard/protocol';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { AppError, toWireError } from '../domain/errors.js';
import type { NodeMetrics } from '../domain/monitoring/metrics.js';
import type { EventClass, RateLimiter } from '../scale/rate-limit.js';
import type { InFlight } from './in-flight.js';
import type { SendBudget } from './send-budget.js';
import { budgetOf } from './socket-budget.js';
import type { SocketData } from './types.js';

type Schemas<N extends Namespace> = (typeof RequestSchemas)[N];

/** The subset of a Socket.IO socket the pipeline needs, whatever its event maps. */
export interface RequestSocket {
  data: SocketData;
  readonly connected: boolean;
  /** The client connection (engine.io), whose send budget gates this socket's requests. */
  conn: object;
  use(fn: (packet: unknown[], next: (err?: Error) => void) => void): unknown;
  emit(event: 'error', payload: ErrorEvent): unknown;
}

/** One handler per request event of namespace N: gets the validated payload and the socket, returns the ack's fields. */
export type Handlers<N extends Namespace, S extends RequestSocket> = {
  [E in keyof Schemas<N>]: (
    payload: Schemas<N>[E] extends z.ZodType ? z.output<Schemas<N>[E]> : never,
    socket: S,
  ) => Promise<object> | object;
};

type Ack = (result: Result) => void;
type AnyHandler<S> = (payload: unknown, socket: S) => Promise<object> | object;

/**
 * Requests whose answers can be large (pages of messages, lists): one socket's run one at a time,
 * each only while its connection is under its send budget. Otherwise a client that sends many of
 * them at once would have them all answered together, past the budget's hard limit, and be closed
 * although it reads. Small requests (sends, typing, reads) are not held back by them.
 */
const LARGE_ANSWERS = new Set(['message:history', 'message:search', 'sync', 'room:list', 'room:browse', 'room:members', 'user:search', 'notification:list']);

/** Event class of a request for rate limiting: sending messages has its own, smaller budget. */
const classOf = (event: string): EventClass => (event === 'message:send' ? 'message' : 'default');

/** What reporting a failed request needs: the log, and the metrics unless monitoring is off. */
export interface FailureDeps {
  log: Logger;
  monitoring?: { metrics: NodeMetrics } | undefined;
}

/**
 * Counts and logs a failed request, on any transport, and returns what its client is told:
 * internal failures are logged with their cause and answered `INTERNAL` without details.
 */
export function reportFailure(deps: FailureDeps, err: unknown, event: string, userId: string): WireError {
  const error = toWireError(err);
  deps.monitoring?.metrics.onError({
    code: error.code,
    event,
    message: error.message,
    stack: error.code === ErrorCode.INTERNAL && err instanceof Error ? err.stack : undefined,
  });
  if (error.code === ErrorCode.INTERNAL) {
    deps.log.error({ err, event, userId }, 'request failed');
  } else if (error.code === ErrorCode.UNAVAILABLE && !(err instanceof AppError)) {
    deps.log.warn({ err, event }, 'request failed: the database is unavailable');
  }
  return error;
}

/**
 * Builds namespace N's request server and returns how to attach a socket to it. Requests of a
 * socket attached with `ready` wait until `ready` settles, in the order they arrived.
 */
export function serveRequests<N extends Namespace, S extends RequestSocket>(
  namespace: N,
  handlers: Handlers<N, S>,
  deps: { limiter: RateLimiter; log: Logger; inFlight: InFlight; monitoring?: { metrics: NodeMetrics } | undefined },
): (socket: S, ready?: Promise<unknown>) => void {
  const metrics = deps.monitoring?.metrics;
  const schemas = RequestSchemas[namespace] as Record<string, z.ZodType>;
  const table = handlers as Record<string, AnyHandler<S>>;
  for (const event of Object.keys(schemas)) {
    if (!table[event]) throw new Error(`no handler for ${namespace} ${event}`);
  }

  const answer = (socket: S, event: string, ack: Ack | undefined, err: unknown) => {
    const error = reportFailure(deps, err, event, socket.data.userId);
    if (ack) ack({ ok: false, error });
    else socket.emit('error', { ...error, event });
  };

  const handle = async (socket: S, event: string, payload: unknown, ack: Ack | undefined, arrived: number) => {
    try {
      await deps.limiter.consume(socket.data.userId, classOf(event));
      const parsed = (schemas[event] as z.ZodType).safeParse(payload);
      if (!parsed.success) throw AppError.invalid(parsed.error);
      const result = await (table[event] as AnyHandler<S>)(parsed.data, socket);
      ack?.({ ok: true, ...result });
    } catch (err) {
      answer(socket, event, ack, err);
    }
    metrics?.onAnswered(event, performance.now() - arrived);
  };

  const unknown = async (socket: S, event: string, ack: Ack | undefined) => {
    try {
      await deps.limiter.consume(socket.data.userId, 'default');
      // The name is echoed as JSON (quoted, escaped) and shortened: it is the client's text.
      throw new AppError(ErrorCode.INVALID_ARGUMENT, `unknown event ${JSON.stringify(event.slice(0, 64))}`);
    } catch (err) {
      answer(socket, event, ack, err);
    }
  };

  /** Per socket, the last large-answer request queued (see LARGE_ANSWERS). */
  const largeTurns = new WeakMap<S, Promise<void>>();

  const dispatch = (socket: S, packet: unknown[], budget: SendBudget | undefined) => {
    const arrived = performance.now();
    const [event, payload] = packet;
    const ack = typeof packet.at(-1) === 'function' ? (packet.at(-1) as Ack) : undefined;
    metrics?.onRequest(String(event));
    if (typeof event !== 'string' || !Object.hasOwn(schemas, event)) {
      // Socket.IO's parser lets only strings and numbers through as event names.
      void unknown(socket, String(event), ack);
      return;
    }
    if (deps.inFlight.refusing) {
      // Draining: the transport closes once what is in flight is answered; the client sends this
      // again after reconnecting (elsewhere).
      answer(socket, event, ack, new AppError(ErrorCode.UNAVAILABLE, 'this server is shutting down; reconnect and retry'));
      return;
    }
    // A payload-less request with a callback arrives as [event, ack]: the ack is not the payload.
    const run = () => handle(socket, event, payload === ack ? undefined : payload, ack, arrived);
    if (!LARGE_ANSWERS.has(event)) {
      void deps.inFlight.track(run);
      return;
    }
    const turn = (largeTurns.get(socket) ?? Promise.resolve())
      .then(() => budget?.whenReadable())
      .then(() => (socket.connected ? run() : undefined));
    largeTurns.set(socket, turn);
    void deps.inFlight.track(() => turn);
  };

  return (socket, ready) => {
    const budget = budgetOf(socket.conn);
    const open = (): void => {
      gate = undefined;
    };
    let gate: Promise<void> | undefined = ready?.then(open, open);
    // The middleware answers every packet itself and never passes it on to listeners.
    socket.use((packet) => {
      if (!gate && budget?.paused) gate = budget.whenReadable().then(open);
      // A request that waited for a socket gone meanwhile could not be answered: its client
      // sends it again after reconnecting, as it does for any request left without an answer.
      if (gate) void gate.then(() => socket.connected && dispatch(socket, packet, budget));
      else dispatch(socket, packet, budget);
    });
  };
}
