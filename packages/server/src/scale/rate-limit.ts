/**
 * Rate limits (PROTOCOL §2), per user and per event class, on rate-limiter-flexible. This node's
 * memory holds the counters in single-node mode; multi-node mode swaps in the Redis store, and a
 * cluster without Redis the cluster primary's memory, so a flood cannot be spread across nodes or
 * workers.
 *
 * "A burst of B then R per second" is a BurstyRateLimiter: a main limiter of R points per second,
 * and a burst limiter of B − R points refilled over (B − R) / R seconds, which the main one draws
 * on when it is empty. A sustained flood therefore gets R/s plus a trickle, close to a token bucket.
 */
import {
  BurstyRateLimiter,
  RateLimiterCluster,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import { ErrorCode } from '@switchboard/protocol';
import { AppError } from '../domain/errors.js';
import { ClusterIpcDefaults } from './cluster-ipc.js';
import type { RedisConnection } from './redis.js';

/** Event classes with their own budgets (`upload`: `POST /api/files`). */
export type EventClass = 'message' | 'default' | 'upload';

export const RateLimitDefaults = {
  message: { burst: 30, perSecond: 10 },
  default: { burst: 60, perSecond: 30 },
  upload: { burst: 10, perSecond: 1 },
  /** Failed logins per (username, IP) in `loginWindowSeconds`. */
  loginFailures: 10,
  loginWindowSeconds: 15 * 60,
} as const;

export interface RateLimiter {
  /** Counts one request of `cls` by `userId`; throws `RATE_LIMITED` (with `retryAfterMs`) past the budget. */
  consume(userId: string, cls: EventClass): Promise<void>;
  /** Throws `RATE_LIMITED` while `key` (username + IP) has used up its failed logins. */
  checkLogin(key: string): Promise<void>;
  loginFailed(key: string): Promise<void>;
  loginSucceeded(key: string): Promise<void>;
}

/** Makes one counter of a limiter: where its points are kept. */
export type LimiterStore = (opts: { keyPrefix: string; points: number; duration: number }) => RateLimiterAbstract;

/**
 * Counters in Redis, shared by every node, so a flood spread over several nodes meets one budget.
 * While Redis is unreachable each counter falls back at once (not after a timeout) to its
 * insurance, a memory counter of this node: limits then hold per node instead of failing requests.
 */
export function redisLimiterStore(redis: RedisConnection): LimiterStore {
  return (opts) =>
    new RateLimiterRedis({
      ...opts,
      keyPrefix: redis.key(opts.keyPrefix),
      storeClient: redis.client,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(opts),
    });
}

/**
 * Counters in the memory of the cluster primary, shared by the workers of one host without Redis:
 * each counter asks the primary's `RateLimiterClusterMaster` (set up by scale/cluster.ts before
 * any worker starts) over the cluster IPC, which keeps one memory counter per `keyPrefix`.
 */
export function clusterLimiterStore(): LimiterStore {
  return (opts) => new RateLimiterCluster({ ...opts, timeoutMs: ClusterIpcDefaults.requestTimeoutMs });
}

function bursty(cls: EventClass, store: LimiterStore) {
  const { burst, perSecond } = RateLimitDefaults[cls];
  const extra = burst - perSecond;
  return new BurstyRateLimiter(
    store({ keyPrefix: `rl:${cls}`, points: perSecond, duration: 1 }),
    store({ keyPrefix: `rl:${cls}:burst`, points: extra, duration: Math.ceil(extra / perSecond) * 2 }),
  );
}

function limited(res: unknown): AppError {
  const retryAfterMs = res instanceof RateLimiterRes ? Math.max(1, Math.ceil(res.msBeforeNext)) : 1000;
  return new AppError(ErrorCode.RATE_LIMITED, 'too many requests; slow down', { retryAfterMs });
}

export function createRateLimiter(options: {
  enabled: boolean;
  /** Where counters are kept; this node's memory by default. */
  store?: LimiterStore;
}): RateLimiter {
  if (!options.enabled) {
    const pass = () => Promise.resolve();
    return { consume: pass, checkLogin: pass, loginFailed: pass, loginSucceeded: pass };
  }
  const store = options.store ?? ((opts) => new RateLimiterMemory(opts));
  const events = { message: bursty('message', store), default: bursty('default', store), upload: bursty('upload', store) };
  const logins = store({
    keyPrefix: 'rl:login',
    points: RateLimitDefaults.loginFailures,
    duration: RateLimitDefaults.loginWindowSeconds,
  });
  return {
    async consume(userId, cls) {
      try {
        await events[cls].consume(userId);
      } catch (res) {
        // A store that cannot count (the cluster primary did not answer in time) is an outage, not a bug.
        if (res instanceof Error) throw new AppError(ErrorCode.UNAVAILABLE, 'rate limits cannot be checked right now', { cause: res });
        throw limited(res);
      }
    },
    async checkLogin(key) {
      const res = await logins.get(key);
      if (res && res.consumedPoints >= RateLimitDefaults.loginFailures) throw limited(res);
    },
    async loginFailed(key) {
      await logins.penalty(key, 1);
    },
    async loginSucceeded(key) {
      await logins.delete(key);
    },
  };
}
