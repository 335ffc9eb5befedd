/**
 * The measured load: clients in rooms, messages sent on a fixed schedule to one room each and
 * delivered to every client of that room (the sender's own socket included, as PROTOCOL §4.1
 * says). `runFanout` is the one-room shape: N clients in one room, S of them sending R messages a
 * second each. Measures deliveries per second, end-to-end latency, lost and duplicated deliveries,
 * Switchboard's seq continuity, and the server's memory and CPU time.
 */
import { randomUUID } from 'node:crypto';
import { nowUs } from './clock.js';
import { Histogram } from './histogram.js';
import { sleep, type ServerProcess } from './procs.js';
import { WorkerPool } from './worker-pool.js';
import type { ClientSpec, SeqCheck, Target } from './worker-messages.js';

/** How long a load lasts and how its clients are spread, whatever its shape. */
export interface LoadTiming {
  seconds: number;
  /** Load worker processes the clients are spread over. */
  workers: number;
  /** How long after the last send deliveries may still arrive before they count as lost. */
  drainSeconds: number;
  textLength: number;
}

export interface FanoutSize extends LoadTiming {
  clients: number;
  senders: number;
  /** Messages per second per sender. */
  rate: number;
}

/** One run of any shape: who is where, and which message goes from whom to which room. */
export interface Load extends LoadTiming {
  roomIds: string[];
  clients: ClientSpec[];
  /** Messages per second, all senders together. */
  rate: number;
  /** Per message, in send order: the `sender` index of the client sending it, and its room's index. */
  senderOf: number[];
  roomOf: number[];
  /** Handshakes in flight at once per worker. */
  connectConcurrency: number;
}

export interface LoadResult {
  clients: number;
  rooms: number;
  messages: number;
  /** Messages per second the senders offered, all together. */
  offeredPerSecond: number;
  expectedDeliveries: number;
  deliveries: number;
  lost: number;
  duplicates: number;
  foreign: number;
  /** From the first send to the last delivery. */
  seconds: number;
  deliveriesPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  ackMs: { p50: number; p99: number };
  acked: number;
  ackFailed: number;
  seq: SeqCheck | null;
  disconnects: number;
  /** Bytes the clients received per delivery (acks and pings included): what compression saves. */
  wireBytesPerDelivery: number;
  server: {
    rssBeforeMb: number;
    rssPeakMb: number;
    rssAfterMb: number;
    /** CPU time the server process spent from the first send to the end of the run. */
    cpuSeconds: number;
  };
  loadGenerator: { workers: number; cpuSeconds: number[]; maxSendLagMs: number };
}

/** Called right before the first send and right after the last delivery (or the deadline). */
export interface LoadProbe {
  before(): Promise<void>;
  after(): Promise<void>;
}

const MB = 1024 * 1024;
const round = (value: number, digits = 2) => Number(value.toFixed(digits));

/**
 * Runs one fan-out against a running server whose bench room is `roomId`. `urlOf` places client
 * `i` (senders are `0 … senders − 1`) on one node of several; by default every client uses `server.url`.
 */
export function runFanout(
  server: ServerProcess,
  kind: Target['kind'],
  roomId: string,
  tokens: readonly string[],
  size: FanoutSize,
  log: (line: string) => void,
  options: { urlOf?: (client: number) => string; probe?: LoadProbe } = {},
): Promise<LoadResult> {
  const { urlOf } = options;
  const clients: ClientSpec[] = Array.from({ length: size.clients }, (_, i) => ({
    ...(kind === 'switchboard' || kind === 'gateway' ? { token: tokens[i] } : {}),
    ...(i < size.senders ? { sender: i } : {}),
    ...(urlOf ? { url: urlOf(i) } : {}),
  }));
  const messages = size.senders * size.rate * size.seconds;
  log(`${server.name}: ${size.senders} senders × ${size.rate} msg/s for ${size.seconds} s to ${size.clients} clients in one room`);
  return runLoad(
    server,
    kind,
    {
      ...size,
      roomIds: [roomId],
      clients,
      rate: size.senders * size.rate,
      // Round-robin over the senders: each sends every `senders`-th message, at its own steady rate.
      senderOf: Array.from({ length: messages }, (_, k) => k % size.senders),
      roomOf: new Array<number>(messages).fill(0),
      connectConcurrency: 25,
    },
    log,
    options.probe,
  );
}

/** Connects and joins the load's clients, runs its schedule, and measures. */
export async function runLoad(
  server: ServerProcess,
  kind: Target['kind'],
  load: Load,
  log: (line: string) => void,
  probe?: LoadProbe,
): Promise<LoadResult> {
  log(`${server.name}: connecting ${load.clients.length} clients and joining ${load.roomIds.length === 1 ? 'the room' : `${load.roomIds.length} rooms`}`);
  let reported = 0;
  const opened = await WorkerPool.open(load.workers, { kind, url: server.url, roomIds: load.roomIds }, load.clients, {
    concurrency: load.connectConcurrency,
    join: true,
    timeoutMs: 300_000,
    onProgress: (connected) => {
      if (connected - reported < 1000) return;
      reported = connected;
      log(`${server.name}: ${connected} connected`);
    },
  });
  const { pool } = opened;
  try {
    if (opened.failed > 0) {
      throw new Error(`${opened.failed} of ${load.clients.length} clients could not connect: ${opened.firstError}`);
    }
    // Let the joins' side effects (membership broadcasts, presence) settle before measuring.
    await sleep(1000);
    const members = new Array<number>(load.roomIds.length).fill(0);
    for (const client of load.clients) members[client.room ?? 0] = (members[client.room ?? 0] ?? 0) + 1;
    const messages = load.roomOf.length;
    const expectedDeliveries = load.roomOf.reduce((sum, room) => sum + (members[room] ?? 0), 0);
    await probe?.before();
    const before = server.sample();
    const startAtUs = nowUs() + 500_000;
    const plan = {
      startAtUs,
      intervalUs: 1e6 / load.rate,
      senderOf: load.senderOf,
      roomOf: load.roomOf,
      deadlineUs: startAtUs + (load.seconds + load.drainSeconds) * 1e6,
      textLength: load.textLength,
      runId: randomUUID().slice(0, 8),
    };
    log(`${server.name}: ${messages.toLocaleString('en-US')} messages at ${load.rate} msg/s → ${expectedDeliveries.toLocaleString('en-US')} deliveries expected`);

    let peakRss = before.rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, server.sample().rss);
      log(`${server.name}: ${pool.received.toLocaleString('en-US')} deliveries`);
    }, 1000);
    const results = await pool.run(plan, (load.seconds + load.drainSeconds + 30) * 1000).finally(() => clearInterval(sampler));
    const after = server.sample();
    peakRss = Math.max(peakRss, after.rss);
    await probe?.after();

    const latency = new Histogram();
    const ack = new Histogram();
    for (const r of results) {
      latency.merge(r.latency);
      ack.merge(r.ackLatency);
    }
    const sum = (pick: (r: (typeof results)[number]) => number) => results.reduce((total, r) => total + pick(r), 0);
    const firstSend = Math.min(...results.map((r) => r.firstSendUs ?? Infinity));
    const lastDelivery = Math.max(...results.map((r) => r.lastDeliveryUs ?? -Infinity));
    const seconds = Number.isFinite(firstSend) && Number.isFinite(lastDelivery) ? (lastDelivery - firstSend) / 1e6 : 0;
    const deliveries = sum((r) => r.deliveries);
    const seqs = results.map((r) => r.seq).filter((s) => s !== null);
    const ms = (us: number) => round(us / 1000, 3);

    return {
      clients: load.clients.length,
      rooms: load.roomIds.length,
      messages,
      offeredPerSecond: load.rate,
      expectedDeliveries,
      deliveries,
      lost: expectedDeliveries - deliveries,
      duplicates: sum((r) => r.duplicates),
      foreign: sum((r) => r.foreign),
      seconds: round(seconds, 3),
      deliveriesPerSecond: seconds > 0 ? Math.round(deliveries / seconds) : 0,
      latencyMs: {
        p50: ms(latency.percentile(50)),
        p90: ms(latency.percentile(90)),
        p99: ms(latency.percentile(99)),
        max: ms(latency.max),
      },
      ackMs: { p50: ms(ack.percentile(50)), p99: ms(ack.percentile(99)) },
      acked: sum((r) => r.acked),
      ackFailed: sum((r) => r.ackFailed),
      seq:
        seqs.length > 0
          ? {
              gapFreeReceivers: seqs.reduce((t, s) => t + s.gapFreeReceivers, 0),
              gaps: seqs.reduce((t, s) => t + s.gaps, 0),
              outOfOrder: seqs.reduce((t, s) => t + s.outOfOrder, 0),
            }
          : null,
      disconnects: sum((r) => r.disconnects),
      wireBytesPerDelivery: deliveries > 0 ? Math.round(sum((r) => r.bytesReceived) / deliveries) : 0,
      server: {
        rssBeforeMb: round(before.rss / MB, 1),
        rssPeakMb: round(peakRss / MB, 1),
        rssAfterMb: round(after.rss / MB, 1),
        cpuSeconds: round(after.cpuSeconds - before.cpuSeconds),
      },
      loadGenerator: {
        workers: load.workers,
        cpuSeconds: results.map((r) => round(r.cpuSeconds)),
        maxSendLagMs: ms(Math.max(...results.map((r) => r.maxSendLagUs))),
      },
    };
  } finally {
    await pool.close();
  }
}
