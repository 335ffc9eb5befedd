/**
 * Fan-out: N clients in one room, S of them sending R messages a second for T seconds, every
 * message delivered to every client (the senders' own sockets included, as PROTOCOL §4.1 says).
 * Measures deliveries per second, end-to-end latency, lost and duplicated deliveries, Switchboard's
 * seq continuity, and the server's memory and CPU time.
 */
import { randomUUID } from 'node:crypto';
import { nowUs } from './clock.js';
import { Histogram } from './histogram.js';
import { sleep, type ServerProcess } from './procs.js';
import { WorkerPool } from './worker-pool.js';
import type { ClientSpec, SeqCheck, Target } from './worker-messages.js';

export interface FanoutSize {
  clients: number;
  senders: number;
  /** Messages per second per sender. */
  rate: number;
  seconds: number;
  /** Load worker processes the clients are spread over. */
  workers: number;
  /** How long after the last send deliveries may still arrive before they count as lost. */
  drainSeconds: number;
  textLength: number;
}

export interface FanoutResult {
  clients: number;
  messages: number;
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

const MB = 1024 * 1024;
const round = (value: number, digits = 2) => Number(value.toFixed(digits));

/**
 * Runs one fan-out against a running server whose bench room is `roomId`. `urlOf` places client
 * `i` (senders are `0 … senders − 1`) on one node of several; by default every client uses `server.url`.
 */
export async function runFanout(
  server: ServerProcess,
  kind: Target['kind'],
  roomId: string,
  tokens: readonly string[],
  size: FanoutSize,
  log: (line: string) => void,
  urlOf?: (client: number) => string,
): Promise<FanoutResult> {
  const clients: ClientSpec[] = Array.from({ length: size.clients }, (_, i) => ({
    ...(kind === 'switchboard' ? { token: tokens[i] } : {}),
    ...(i < size.senders ? { sender: i } : {}),
    ...(urlOf ? { url: urlOf(i) } : {}),
  }));
  log(`${server.name}: connecting ${size.clients} clients and joining the room`);
  const opened = await WorkerPool.open(size.workers, { kind, url: server.url, roomId }, clients, {
    concurrency: 25,
    join: true,
    timeoutMs: 120_000,
  });
  const { pool } = opened;
  try {
    if (opened.failed > 0) {
      throw new Error(`${opened.failed} of ${size.clients} clients could not connect: ${opened.firstError}`);
    }
    // Let the joins' side effects (membership broadcasts, presence) settle before measuring.
    await sleep(1000);
    const before = server.sample();
    const messages = size.senders * size.rate * size.seconds;
    const expectedDeliveries = messages * size.clients;
    const startAtUs = nowUs() + 500_000;
    const plan = {
      startAtUs,
      perSender: size.rate * size.seconds,
      intervalUs: 1e6 / size.rate,
      senders: size.senders,
      deadlineUs: startAtUs + (size.seconds + size.drainSeconds) * 1e6,
      textLength: size.textLength,
      runId: randomUUID().slice(0, 8),
    };
    log(`${server.name}: ${size.senders} senders × ${size.rate} msg/s for ${size.seconds} s → ${expectedDeliveries.toLocaleString('en-US')} deliveries expected`);

    let peakRss = before.rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, server.sample().rss);
      log(`${server.name}: ${pool.received.toLocaleString('en-US')} deliveries`);
    }, 1000);
    const results = await pool.run(plan, (size.seconds + size.drainSeconds + 30) * 1000).finally(() => clearInterval(sampler));
    const after = server.sample();
    peakRss = Math.max(peakRss, after.rss);

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
      clients: size.clients,
      messages,
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
        workers: size.workers,
        cpuSeconds: results.map((r) => round(r.cpuSeconds)),
        maxSendLagMs: ms(Math.max(...results.map((r) => r.maxSendLagUs))),
      },
    };
  } finally {
    await pool.close();
  }
}
