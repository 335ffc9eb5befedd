/**
 * The request/response protocol between the workers of a cluster (WORKERS > 1) and their primary,
 * over the Node cluster IPC channel, for the state the primary keeps for the whole host when there
 * is no Redis (scale/cluster-state.ts). Written by hand because no library does this:
 * `@socket.io/cluster-adapter` relays broadcasts only, and rate-limiter-flexible's
 * `RateLimiterCluster` serves its own counters only.
 *
 * Every message carries `channel: CLUSTER_STATE_CHANNEL` and no `type`, so the other users of the
 * same channel ignore it and it ignores theirs: `@socket.io/sticky` switches on `type`
 * (`sticky:…`), the cluster adapter keeps messages whose `source` is its own, and
 * `RateLimiterCluster` those whose `channel` is `rate_limiter_flexible`. A worker's request has an
 * `id`; the primary answers with the same id, and a request left unanswered for `requestTimeoutMs`
 * fails. The primary may also send a worker a notice (no id, no answer).
 */
import type { Logger } from 'pino';
import { unavailable } from '../domain/errors.js';

export const CLUSTER_STATE_CHANNEL = 'switchboard:cluster-state';

export const ClusterIpcDefaults = {
  /**
   * How long a worker waits for the primary's answer. The primary answers from memory at once;
   * only a primary that is gone or stuck takes this long.
   */
  requestTimeoutMs: 5000,
} as const;

/** The operations the primary serves: each one's arguments and result (structured-clone values). */
export type Operations = Record<string, { args: object; result: unknown }>;
/** The notices the primary may send: each one's data. */
export type Notices = Record<string, object>;

interface RequestMessage {
  channel: typeof CLUSTER_STATE_CHANNEL;
  id: number;
  op: string;
  args: object;
}

type AnswerMessage = { channel: typeof CLUSTER_STATE_CHANNEL; id: number } & (
  | { ok: true; result: unknown }
  | { ok: false; error: string }
);

interface NoticeMessage {
  channel: typeof CLUSTER_STATE_CHANNEL;
  notice: string;
  data: object;
}

const ours = (message: unknown): message is Record<string, unknown> =>
  typeof message === 'object' && message !== null && (message as { channel?: unknown }).channel === CLUSTER_STATE_CHANNEL;

/** How a worker's messages reach its primary, and the primary's messages reach it. */
export interface PrimaryTransport {
  /** Resolves once the message is handed to the channel; rejects when the channel is closed. */
  send(message: object): Promise<void>;
  onMessage(listener: (message: unknown) => void): void;
}

/** The IPC channel of this process, a cluster worker. */
export function processTransport(): PrimaryTransport {
  const send = process.send?.bind(process);
  if (!send) throw new Error('not a cluster worker: this process has no IPC channel to a primary');
  return {
    send: (message) =>
      new Promise((resolve, reject) => {
        send(message, undefined, {}, (err) => (err ? reject(err) : resolve()));
      }),
    onMessage: (listener) => {
      process.on('message', listener);
    },
  };
}

/** Worker side: sends requests to the primary and receives its answers and notices. */
export class PrimaryLink<Ops extends Operations, N extends Notices = Record<never, object>> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (result: unknown) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();
  private readonly noticeListeners = new Map<string, (data: object) => void>();

  constructor(
    private readonly transport: PrimaryTransport,
    private readonly timeoutMs: number = ClusterIpcDefaults.requestTimeoutMs,
  ) {
    transport.onMessage((message) => this.receive(message));
  }

  /** Asks the primary to run `op`; rejects with UNAVAILABLE when it does not answer in time. */
  request<K extends keyof Ops & string>(op: K, args: Ops[K]['args']): Promise<Ops[K]['result']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(unavailable(`the cluster primary did not answer "${op}" in time`));
      }, this.timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve: resolve as (result: unknown) => void, reject, timer });
      const message: RequestMessage = { channel: CLUSTER_STATE_CHANNEL, id, op, args };
      this.transport.send(message).catch((err: unknown) => this.settle(id, () => unavailable('the cluster primary is unreachable', err)));
    });
  }

  /** Sets the listener for `notice` (one per notice). */
  onNotice<K extends keyof N & string>(notice: K, listener: (data: N[K]) => void): void {
    this.noticeListeners.set(notice, listener as (data: object) => void);
  }

  private receive(message: unknown): void {
    if (!ours(message)) return;
    if (typeof message.notice === 'string') {
      const { notice, data } = message as unknown as NoticeMessage;
      this.noticeListeners.get(notice)?.(data);
      return;
    }
    const answer = message as unknown as AnswerMessage;
    if (answer.ok) this.settle(answer.id, undefined, answer.result);
    else this.settle(answer.id, () => new Error(`the cluster primary refused a request: ${answer.error}`));
  }

  private settle(id: number, failure: (() => Error) | undefined, result?: unknown): void {
    const waiting = this.pending.get(id);
    if (!waiting) return; // timed out already
    this.pending.delete(id);
    clearTimeout(waiting.timer);
    if (failure) waiting.reject(failure());
    else waiting.resolve(result);
  }
}

/** What the primary needs of a worker: its cluster id and its IPC channel (`cluster.Worker` fits). */
export interface WorkerPort {
  readonly id: number;
  send(message: object, sendHandle: undefined, options: object, callback: (error: Error | null) => void): unknown;
}

/** The primary's handler of each operation: given the asking worker's id, answers at once. */
export type Handlers<Ops extends Operations> = { [K in keyof Ops]: (workerId: number, args: Ops[K]['args']) => Ops[K]['result'] };

/** Primary side: answers the workers' requests and sends them notices. */
export class WorkerRequests<Ops extends Operations, N extends Notices = Record<never, object>> {
  constructor(
    private readonly handlers: Handlers<Ops>,
    private readonly log: Logger,
  ) {}

  /** Answers `message` from `worker` if it is a request of this protocol; ignores anything else. */
  receive(worker: WorkerPort, message: unknown): void {
    if (!ours(message) || typeof message.id !== 'number' || typeof message.op !== 'string') return;
    const { id, op, args } = message as unknown as RequestMessage;
    const handler = Object.hasOwn(this.handlers, op) ? (this.handlers[op] as (workerId: number, args: object) => unknown) : undefined;
    let answer: AnswerMessage;
    if (!handler) {
      answer = { channel: CLUSTER_STATE_CHANNEL, id, ok: false, error: `unknown operation "${op}"` };
    } else {
      try {
        answer = { channel: CLUSTER_STATE_CHANNEL, id, ok: true, result: handler(worker.id, args) };
      } catch (err) {
        this.log.error({ err, op, workerId: worker.id }, 'cluster state request failed');
        answer = { channel: CLUSTER_STATE_CHANNEL, id, ok: false, error: err instanceof Error ? err.message : String(err) };
      }
    }
    this.send(worker, answer);
  }

  notify<K extends keyof N & string>(worker: WorkerPort, notice: K, data: N[K]): void {
    const message: NoticeMessage = { channel: CLUSTER_STATE_CHANNEL, notice, data };
    this.send(worker, message);
  }

  private send(worker: WorkerPort, message: AnswerMessage | NoticeMessage): void {
    // With a callback, a worker whose channel has closed reports it here instead of as an
    // 'error' event, which would bring the primary down.
    worker.send(message, undefined, {}, (err) => {
      if (err) this.log.debug({ err, workerId: worker.id }, 'cluster state message not delivered');
    });
  }
}
