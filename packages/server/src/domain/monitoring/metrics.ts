/**
 * What one process measures (PROTOCOL §7): the Prometheus families `GET /metrics` serves
 * (prom-client, one registry per server) and, once a second, the `NodeSample` this node hands the
 * cluster view (node-sample.ts). The transports report what happens through the `on…` methods;
 * nothing here knows Socket.IO or Fastify.
 *
 * Labels stay bounded whatever clients send: an event outside the contract counts as `unknown`,
 * a namespace outside the product's as `other`, and no label carries a user, room or message id.
 */
import { createHash } from 'node:crypto';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { ErrorCode, GatewayRequestSchemas, Namespace, RequestSchemas, type Stats } from '@switchboard/protocol';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ackBucketOf, addBuckets, quantileOfBuckets, type ErrorGroupDelta, type NodeSample, type NodeStatsSource } from './node-sample.js';

/** Every request event of the contract (`/ws` requests as `ws:<type>`); anything else is counted as `unknown`. */
const KNOWN_EVENTS = new Set<string>([
  ...Object.values(RequestSchemas).flatMap((schemas) => Object.keys(schemas)),
  ...['auth', 'ping', ...Object.keys(GatewayRequestSchemas)].map((type) => `ws:${type}`),
]);
/** Transports whose every connection is one client (a Socket.IO client's namespaces share one). */
const PLAIN_TRANSPORTS = new Set(['/ws', '/collab', '/sse']);
/** Namespaces counted by name: the product's Socket.IO namespaces and the other transports (PROTOCOL §7). */
const KNOWN_NAMESPACES = new Set<string>(['/', ...Object.values(Namespace), ...PLAIN_TRANSPORTS]);

export const eventLabel = (event: string): string => (KNOWN_EVENTS.has(event) ? event : 'unknown');
const namespaceLabel = (namespace: string): string => (KNOWN_NAMESPACES.has(namespace) ? namespace : 'other');
const codeLabel = (code: string): string => (Object.hasOwn(ErrorCode, code) ? code : 'INTERNAL');

/** Seconds: from a tenth of a millisecond (an in-memory answer) to 10 s (a database that stalls). */
const ACK_SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const QUERY_SECONDS_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];

/** Seconds of acknowledgement times `Stats.ackP50Ms`/`ackP99Ms` cover: one ring slot per sample. */
const ACK_WINDOW_SLOTS = 10;
/** Interval of the event-loop delay probe, ms; what it records includes the interval itself. */
const LOOP_PROBE_MS = 10;
/** Distinct error groups one sample carries; more in one second are counted but not grouped. */
const ERROR_GROUPS_PER_SAMPLE = 100;
/** Characters of an error message kept in its group. */
const ERROR_MESSAGE_MAX = 300;

/** An error answered to a client, or thrown by a handler. */
export interface ErrorReport {
  code: string;
  /** The request event, or the HTTP route (`POST /api/files`). */
  event: string;
  message: string;
  /** For unexpected errors (INTERNAL): the stack, which the fingerprint follows instead of the message. */
  stack?: string | undefined;
}

/**
 * A group's identity: the code, the event and the message's shape (numbers, ids and quoted text
 * taken out), or for an unexpected error the top of its stack without line numbers and paths. The
 * same failure gets the same fingerprint on every node and across restarts and upgrades.
 */
export function errorFingerprint(report: ErrorReport): string {
  const shape =
    report.stack !== undefined
      ? report.stack
          .split('\n')
          .filter((line) => line.trimStart().startsWith('at '))
          .slice(0, 5)
          .map((line) => line.trim().replace(/\(?(?:file:\/\/)?[^\s()]*[/\\]([^/\\\s()]+?)(?::\d+)*\)?$/, '$1'))
          .join('|')
      : report.message
          .replace(/"(?:[^"\\]|\\.)*"|'[^']*'/g, '"…"')
          .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<id>')
          .replace(/\d+(\.\d+)?/g, '<n>');
  return createHash('sha256').update(`${report.code}\n${report.event}\n${shape}`).digest('hex').slice(0, 16);
}

export class NodeMetrics implements NodeStatsSource {
  readonly registry = new Registry();
  private readonly connectionsGauge: Gauge<'namespace'>;
  private readonly eventsReceived: Counter<'event'>;
  private readonly ackDuration: Histogram<'event'>;
  private readonly errorsTotal: Counter<'code'>;
  private readonly messagesStored: Counter;
  private readonly deliveries: Counter;
  private readonly handshakes: Counter<'namespace' | 'result'>;
  private readonly rateLimited: Counter<'class'>;
  private readonly queryDuration: Histogram<'outcome'>;
  private readonly uploadBytes: Counter;
  private readonly adapterLatency: Histogram;

  /** Sockets per user on this node, for `usersOnline`. */
  private readonly userSockets = new Map<string, number>();
  private readonly ackRing: number[][] = Array.from({ length: ACK_WINDOW_SLOTS }, () => []);
  private ackSlot = 0;
  private readonly errorDeltas = new Map<string, ErrorGroupDelta>();
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: LOOP_PROBE_MS });
  private counts = { messages: 0, deliveries: 0, errors: 0 };
  private last = { at: Date.now(), cpu: process.cpuUsage(), counts: { messages: 0, deliveries: 0, errors: 0 } };
  /** Socket.IO connections (a client's namespaces share one); set by the transport layer. */
  private connectionCount: () => number = () => 0;
  /** Plain WebSocket and SSE connections: each is one client. */
  private plainConnections = 0;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.connectionsGauge = new Gauge({
      name: 'switchboard_connections',
      help: 'Connected sockets, per namespace',
      labelNames: ['namespace'],
      registers,
    });
    this.eventsReceived = new Counter({
      name: 'switchboard_events_received_total',
      help: 'Requests received from clients, per event (unknown: an event outside the contract)',
      labelNames: ['event'],
      registers,
    });
    this.ackDuration = new Histogram({
      name: 'switchboard_ack_duration_seconds',
      help: 'Time from receiving a request to sending its answer, per event',
      labelNames: ['event'],
      buckets: ACK_SECONDS_BUCKETS,
      registers,
    });
    this.errorsTotal = new Counter({
      name: 'switchboard_errors_total',
      help: 'Error answers sent to clients (their own mistakes included) and errors thrown by handlers, per code',
      labelNames: ['code'],
      registers,
    });
    this.messagesStored = new Counter({ name: 'switchboard_messages_stored_total', help: 'Chat messages stored', registers });
    this.deliveries = new Counter({
      name: 'switchboard_broadcast_deliveries_total',
      help: 'message:new packets written to sockets of this node',
      registers,
    });
    this.handshakes = new Counter({
      name: 'switchboard_handshakes_total',
      help: 'Socket handshakes per namespace and result (ok, or the error code that refused it)',
      labelNames: ['namespace', 'result'],
      registers,
    });
    this.rateLimited = new Counter({
      name: 'switchboard_rate_limited_total',
      help: 'Requests refused with RATE_LIMITED, per limit class',
      labelNames: ['class'],
      registers,
    });
    this.queryDuration = new Histogram({
      name: 'switchboard_db_query_duration_seconds',
      help: 'Database statement time, per outcome (ok or error)',
      labelNames: ['outcome'],
      buckets: QUERY_SECONDS_BUCKETS,
      registers,
    });
    this.uploadBytes = new Counter({ name: 'switchboard_upload_bytes_total', help: 'Bytes of files uploaded and stored', registers });
    this.adapterLatency = new Histogram({
      name: 'switchboard_adapter_latency_seconds',
      help: "Time other nodes' once-a-second reports take to arrive through the adapter (Redis or the cluster primary); across hosts it includes their clock difference",
      buckets: QUERY_SECONDS_BUCKETS,
      registers,
    });
    this.loopDelay.enable();
  }

  /** How many Socket.IO connections this node holds (Engine.IO clients); plain ones are counted here. */
  countConnectionsWith(count: () => number): void {
    this.connectionCount = count;
  }

  onSocketConnected(namespace: string, userId: string): void {
    this.connectionsGauge.inc({ namespace: namespaceLabel(namespace) });
    if (PLAIN_TRANSPORTS.has(namespace)) this.plainConnections++;
    this.userSockets.set(userId, (this.userSockets.get(userId) ?? 0) + 1);
  }

  onSocketDisconnected(namespace: string, userId: string): void {
    this.connectionsGauge.dec({ namespace: namespaceLabel(namespace) });
    if (PLAIN_TRANSPORTS.has(namespace)) this.plainConnections--;
    const left = (this.userSockets.get(userId) ?? 1) - 1;
    if (left > 0) this.userSockets.set(userId, left);
    else this.userSockets.delete(userId);
  }

  onHandshake(namespace: string, result: string): void {
    this.handshakes.inc({ namespace: namespaceLabel(namespace), result: result === 'ok' ? 'ok' : codeLabel(result) });
  }

  onRequest(event: string): void {
    this.eventsReceived.inc({ event: eventLabel(event) });
  }

  /** A request was answered (successfully or not) `ms` after it arrived. */
  onAnswered(event: string, ms: number): void {
    this.ackDuration.observe({ event: eventLabel(event) }, ms / 1000);
    const slot = this.ackRing[this.ackSlot] as number[];
    const bucket = ackBucketOf(ms);
    slot[bucket] = (slot[bucket] ?? 0) + 1;
  }

  onError(report: ErrorReport, at = Date.now()): void {
    const code = codeLabel(report.code);
    this.errorsTotal.inc({ code });
    if (code === ErrorCode.RATE_LIMITED) this.rateLimited.inc({ class: report.event === 'message:send' ? 'message' : 'default' });
    this.counts.errors++;
    const fingerprint = errorFingerprint(report);
    const message = report.message.slice(0, ERROR_MESSAGE_MAX);
    const group = this.errorDeltas.get(fingerprint);
    if (group) {
      group.count++;
      group.lastSeenAt = at;
      group.message = message;
    } else if (this.errorDeltas.size < ERROR_GROUPS_PER_SAMPLE) {
      const event = KNOWN_EVENTS.has(report.event) || /^[A-Z]+ \//.test(report.event) ? report.event : 'unknown';
      this.errorDeltas.set(fingerprint, { fingerprint, code, event, message, count: 1, firstSeenAt: at, lastSeenAt: at });
    }
  }

  onMessagesStored(count: number): void {
    this.messagesStored.inc(count);
    this.counts.messages += count;
  }

  onDeliveries(count: number): void {
    this.deliveries.inc(count);
    this.counts.deliveries += count;
  }

  onQuery(ms: number, ok: boolean): void {
    this.queryDuration.observe({ outcome: ok ? 'ok' : 'error' }, ms / 1000);
  }

  /** A report another node stamped at `sentAt` (its clock) arrived now. */
  onPeerReport(sentAt: number): void {
    this.adapterLatency.observe(Math.max(0, Date.now() - sentAt) / 1000);
  }

  onUpload(bytes: number): void {
    this.uploadBytes.inc(bytes);
  }

  /** Prometheus text of this process's families. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  /** This node's figures since the previous call (one call a second), and its errors since then. */
  sample(): NodeSample {
    const at = Date.now();
    const seconds = Math.max(0.001, (at - this.last.at) / 1000);
    const cpu = process.cpuUsage(this.last.cpu);
    const ackBuckets = this.ackRing.reduce<number[]>((sum, slot) => addBuckets(sum, slot), []);
    const perSecond = (now: number, before: number) => (now - before) / seconds;
    const stats: Stats = {
      connections: this.connectionCount() + this.plainConnections,
      usersOnline: this.userSockets.size,
      messagesInPerSec: perSecond(this.counts.messages, this.last.counts.messages),
      deliveriesPerSec: perSecond(this.counts.deliveries, this.last.counts.deliveries),
      ackP50Ms: quantileOfBuckets(ackBuckets, 0.5),
      ackP99Ms: quantileOfBuckets(ackBuckets, 0.99),
      errorsPerSec: perSecond(this.counts.errors, this.last.counts.errors),
      // The worst delay of the last second beyond the probe's own interval (ns → ms).
      eventLoopLagMs: this.loopDelay.count > 0 ? Math.max(0, this.loopDelay.max / 1e6 - LOOP_PROBE_MS) : 0,
      rssBytes: process.memoryUsage.rss(),
      cpuPercent: ((cpu.user + cpu.system) / 1000 / (seconds * 1000)) * 100,
    };
    const errors = [...this.errorDeltas.values()];
    this.errorDeltas.clear();
    this.loopDelay.reset();
    this.ackSlot = (this.ackSlot + 1) % ACK_WINDOW_SLOTS;
    this.ackRing[this.ackSlot] = [];
    this.last = { at, cpu: process.cpuUsage(), counts: { ...this.counts } };
    return { at, stats, ackBuckets, errors };
  }

  close(): void {
    this.loopDelay.disable();
  }
}
