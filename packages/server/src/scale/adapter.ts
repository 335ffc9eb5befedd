/**
 * Which Socket.IO adapter carries broadcasts, room joins/leaves and `disconnectSockets()` to the
 * other processes of a deployment:
 *
 * - REDIS_URL set: `@socket.io/redis-streams-adapter`, across processes and machines;
 * - a cluster worker (WORKERS > 1) without Redis: `@socket.io/cluster-adapter`, between the
 *   workers of one host over the Node cluster IPC (the primary runs its `setupPrimary()`);
 * - otherwise the in-memory adapter of a single process.
 *
 * Switchboard does not turn on Socket.IO's connection state recovery: the SDK catches up by
 * `seq` with `sync`, which also covers a node that died. The adapter still gets a prefixed session
 * key so the option could be turned on without sharing keys between deployments.
 */
import { createAdapter as createClusterAdapter } from '@socket.io/cluster-adapter';
import { createAdapter as createRedisStreamsAdapter } from '@socket.io/redis-streams-adapter';
import type { ServerOptions } from 'socket.io';
import type { RedisConnection } from './redis.js';

/** Redis streams adapter settings. */
export const StreamAdapterDefaults = {
  /**
   * Entries the stream keeps (approximately: `MAXLEN ~`). Readers only need what they have not
   * read yet, so this bounds Redis memory; a node that falls further behind than this misses
   * broadcasts, and its clients catch up by `sync` on the next gap.
   */
  maxLen: 10_000,
  /** Entries fetched per XREAD: large enough that a busy stream is read in few round trips. */
  readCount: 500,
} as const;

export type AdapterChoice = NonNullable<Partial<ServerOptions>['adapter']>;

/** The adapter for this process; undefined means Socket.IO's in-memory default. */
export function chooseAdapter(options: { redis?: RedisConnection | undefined; clusterWorker: boolean }): AdapterChoice | undefined {
  const { redis } = options;
  if (redis) {
    return createRedisStreamsAdapter(redis.client, {
      streamName: redis.key('socket.io'),
      channelPrefix: redis.key('socket.io'),
      sessionKeyPrefix: redis.key('socket.io', 'session', ''),
      maxLen: StreamAdapterDefaults.maxLen,
      readCount: StreamAdapterDefaults.readCount,
    });
  }
  if (options.clusterWorker) return createClusterAdapter();
  return undefined;
}
