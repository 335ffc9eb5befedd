/** What the orchestrator (run.ts) and its load workers (load-worker.ts) say to each other over IPC. */
import type { HistogramData } from './histogram.js';

/**
 * `switchboard`: Socket.IO `/chat`; `baseline`: the bare Socket.IO server; `gateway`: Switchboard's
 * plain-WebSocket `/ws`; `ws-baseline`: the bare `ws` relay (bench/src/ws-baseline-server.ts).
 */
export type TargetKind = 'switchboard' | 'baseline' | 'gateway' | 'ws-baseline';

export interface Target {
  kind: TargetKind;
  /** `http://127.0.0.1:<port>`; clients connect to `<url>/chat`. */
  url: string;
  /** The rooms of the run; each client joins one of them (idle clients none). */
  roomIds: string[];
}

export interface ClientSpec {
  /** Switchboard access token (`switchboard`, `gateway`); the baselines need none. */
  token?: string;
  /** Index among all senders of the run (0-based) when this client sends. */
  sender?: number;
  /** Index into `Target.roomIds` of the room this client joins and receives from; 0 by default. */
  room?: number;
  /** The server this client connects to, when not the target's (several nodes of one deployment). */
  url?: string;
}

/**
 * Load pattern of one run, shared by every worker: message `k` goes out at `startAtUs + k ×
 * intervalUs`, from the client whose `sender` is `senderOf[k]`, to the room `roomOf[k]` (an index
 * into `Target.roomIds`). Times are CLOCK_MONOTONIC microseconds.
 */
export interface LoadPlan {
  startAtUs: number;
  /** Time between two consecutive messages of the whole run (across senders and workers). */
  intervalUs: number;
  senderOf: number[];
  roomOf: number[];
  /** Receivers still missing messages at this time give up. */
  deadlineUs: number;
  /** Length of each message text, in characters. */
  textLength: number;
  /** Unique per run, so client message ids never repeat across runs. */
  runId: string;
}

export type Command =
  | { type: 'connect'; target: Target; clients: ClientSpec[]; concurrency: number; join: boolean }
  | { type: 'start'; plan: LoadPlan }
  | { type: 'close' };

export interface SeqCheck {
  /** Receivers that saw every seq of their room exactly once, in order, from the first to the last. */
  gapFreeReceivers: number;
  /** Times a receiver's next seq skipped forward. */
  gaps: number;
  /** Times a receiver's next seq went backwards (repeated or late). */
  outOfOrder: number;
}

export interface LoadWorkerResult {
  receivers: number;
  /** Distinct (message, receiver) pairs received. */
  deliveries: number;
  /** Messages received more than once by the same client (each extra copy counts once). */
  duplicates: number;
  /** Expected deliveries that never arrived before the deadline. */
  lost: number;
  /** Deliveries that were not bench messages, or unparsable ones. */
  foreign: number;
  latency: { buckets: HistogramData; max: number };
  sent: number;
  acked: number;
  ackFailed: number;
  ackLatency: { buckets: HistogramData; max: number };
  /** Worst lateness of a send against its schedule: above a few ms the load generator fell behind. */
  maxSendLagUs: number;
  firstSendUs: number | null;
  lastDeliveryUs: number | null;
  /** Switchboard only: per-receiver `seq` continuity. */
  seq: SeqCheck | null;
  /** Sockets that dropped during the run (they do not reconnect: what they miss counts as lost). */
  disconnects: number;
  /** CPU time this worker spent during the run, seconds. */
  cpuSeconds: number;
  /** Bytes its sockets received during the run (WebSocket frames as sent, compressed or not). */
  bytesReceived: number;
}

export type WorkerEvent =
  | { type: 'progress'; connected: number; received: number }
  | { type: 'connected'; connected: number; failed: number; firstError: string | null }
  | { type: 'result'; result: LoadWorkerResult }
  | { type: 'closed' };
