/**
 * What one process measures each second and hands to the cluster view (PROTOCOL §7): its `Stats`,
 * the acknowledgement times of the last 10 s as bucket counts (so the cluster's p50/p99 are taken
 * over every node's acks, not averaged from each node's percentiles), and the errors it answered
 * since the last sample, grouped.
 *
 * `domain/monitoring/metrics.ts` produces it; `domain/monitoring/cluster.ts` merges the samples of every node into the
 * cluster snapshot, history, alerts and error groups.
 */
import type { Stats } from '@switchboard/protocol';

/**
 * Upper bounds (ms) of the acknowledgement-time buckets, roughly 10% apart from 0.1 ms to 60 s; a
 * last, open bucket holds the rest. Fixed, so every node's counts add up bucket by bucket.
 */
export const ACK_BUCKET_BOUNDS_MS: readonly number[] = (() => {
  const bounds: number[] = [];
  for (let b = 0.1; b < 60_000; b *= 1.1) bounds.push(Number(b.toPrecision(3)));
  bounds.push(60_000);
  return bounds;
})();

/** Index of the bucket `ms` falls in (`ACK_BUCKET_BOUNDS_MS.length` for the open last one). */
export function ackBucketOf(ms: number): number {
  let lo = 0;
  let hi = ACK_BUCKET_BOUNDS_MS.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ms <= (ACK_BUCKET_BOUNDS_MS[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The `q` quantile (0–1) of the times counted in `counts` (one count per bucket, the open bucket
 * last), as the upper bound of the bucket it falls in; 0 when nothing was counted.
 */
export function quantileOfBuckets(counts: readonly (number | null | undefined)[], q: number): number {
  let total = 0;
  for (const c of counts) total += c ?? 0; // a bucket never counted into is a hole
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i] ?? 0;
    if (seen >= rank) return ACK_BUCKET_BOUNDS_MS[Math.min(i, ACK_BUCKET_BOUNDS_MS.length - 1)] as number;
  }
  return ACK_BUCKET_BOUNDS_MS.at(-1) as number;
}

/** Adds bucket counts into `into` (grown as needed, holes counted as 0) and returns it. */
export function addBuckets(into: number[], counts: readonly (number | null | undefined)[]): number[] {
  for (let i = 0; i < counts.length; i++) into[i] = (into[i] ?? 0) + (counts[i] ?? 0);
  return into;
}

/** Errors of one group seen since the previous sample. */
export interface ErrorGroupDelta {
  /** Stable across nodes and restarts: a hash of code, event and the shape of the message or stack. */
  fingerprint: string;
  code: string;
  /** The request event (`unknown` for one outside the contract) or HTTP route (`POST /api/files`). */
  event: string;
  /** The latest message of the group, shortened. */
  message: string;
  count: number;
  firstSeenAt: number;
  lastSeenAt: number;
}

export interface NodeSample {
  at: number;
  /** This node's figures; `ackP50Ms`/`ackP99Ms` are its own, over the last 10 s. */
  stats: Stats;
  /** The last 10 s of acknowledgement times, per bucket of ACK_BUCKET_BOUNDS_MS (+1 open bucket). */
  ackBuckets: number[];
  /** Errors answered or thrown since the previous sample, grouped by fingerprint. */
  errors: ErrorGroupDelta[];
}

/** Produces this process's sample; called once a second by the monitoring service. */
export interface NodeStatsSource {
  sample(): NodeSample;
}
