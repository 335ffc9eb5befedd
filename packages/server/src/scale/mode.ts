/**
 * What differs between one Switchboard process and one node of many, built in one place: the
 * Socket.IO adapter, and where presence, typing indicators and rate-limit counters live. With
 * REDIS_URL every piece is shared through Redis; without it, a worker of a cluster (WORKERS > 1)
 * shares them through its primary's memory over the cluster IPC, and a single process keeps them
 * in its own memory.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { RoomRow } from '../store/schema.js';
import { chooseAdapter, type AdapterChoice } from './adapter.js';
import { PrimaryLink, processTransport } from './cluster-ipc.js';
import { ClusterPresenceStore } from './cluster-presence.js';
import type { ClusterStateLink } from './cluster-state.js';
import { ClusterTypingStore } from './cluster-typing.js';
import { MembershipCache } from './membership-cache.js';
import { MemoryPresenceStore, RedisPresenceStore, type PresenceStore } from './presence-store.js';
import { clusterLimiterStore, redisLimiterStore, type LimiterStore } from './rate-limit.js';
import { RedisConnection } from './redis.js';
import { MemoryTypingStore, RedisTypingStore, type TypingStore } from './typing-store.js';

export interface ScaleMode {
  /** This process among the nodes of a deployment: host, pid and a random part, new at every start. */
  nodeId: string;
  /** The Redis connections, in multi-node mode. */
  redis: RedisConnection | undefined;
  /** Undefined: Socket.IO's in-memory adapter. */
  adapter: AdapterChoice | undefined;
  presence: PresenceStore;
  typing: TypingStore;
  /** Undefined: rate-limit counters in this process's memory. */
  limiterStore: LimiterStore | undefined;
  memberships: MembershipCache<RoomRow>;
  /** Throws unless every shared store (Redis, or the cluster primary) answers now. */
  ping(): Promise<void>;
  /** After the sockets are gone: withdraws this node from presence and closes Redis. */
  close(): Promise<void>;
}

export async function createScaleMode(options: {
  config: Config;
  log: Logger;
  /** A worker of a Node cluster (WORKERS > 1): its siblings share the host's sockets. */
  clusterWorker: boolean;
  /** `typing: true` lasts this long without renewal, in milliseconds. */
  typingExpiryMs: number;
}): Promise<ScaleMode> {
  const { config, log, clusterWorker } = options;
  const nodeId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const memberships = new MembershipCache<RoomRow>();
  if (!config.REDIS_URL && clusterWorker) {
    const link: ClusterStateLink = new PrimaryLink(processTransport());
    const presence = new ClusterPresenceStore(link, log);
    return {
      nodeId,
      redis: undefined,
      adapter: chooseAdapter({ clusterWorker }),
      presence,
      typing: new ClusterTypingStore(link),
      limiterStore: clusterLimiterStore(),
      memberships,
      ping: async () => {
        await link.request('ping', {});
      },
      close: () => presence.close(),
    };
  }
  if (!config.REDIS_URL) {
    const presence = new MemoryPresenceStore();
    return {
      nodeId,
      redis: undefined,
      adapter: chooseAdapter({ clusterWorker }),
      presence,
      typing: new MemoryTypingStore(),
      limiterStore: undefined,
      memberships,
      ping: () => Promise.resolve(),
      close: () => presence.close(),
    };
  }

  const redis = new RedisConnection(config.REDIS_URL, config.REDIS_KEY_PREFIX, log.child({ component: 'redis' }));
  if (!(await redis.connected())) {
    log.warn('Redis does not answer; starting without it (not ready) and connecting as soon as it does');
  }
  // Drops sent while Redis was unreachable were lost.
  redis.onReady(() => memberships.clear());
  const presence = new RedisPresenceStore(redis, nodeId, log);
  return {
    nodeId,
    redis,
    adapter: chooseAdapter({ redis, clusterWorker }),
    presence,
    typing: new RedisTypingStore(redis, nodeId, options.typingExpiryMs),
    limiterStore: redisLimiterStore(redis),
    memberships,
    ping: () => redis.ping(),
    async close() {
      await presence.close();
      await redis.close();
    },
  };
}
