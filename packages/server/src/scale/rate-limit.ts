/**
 * Rate limits (PROTOCOL §2) on rate-limiter-flexible: per user and event class, per client IP on the
 * account routes, and failed logins per (username, IP). This node's memory holds the counters in
 * single-node mode; multi-node mode swaps in the Redis store, and a cluster without Redis the
 * cluster primary's memory, so a flood cannot be spread across nodes or workers.
 *
 * "A burst of B then R per T seconds" is a BurstyRateLimiter: a main limiter of R points per T
 * seconds, and a burst limiter of B − R points refilled over twice the time R/T takes to earn them,
 * which the main one draws on when it is empty. A sustained flood therefore gets R per T plus a
 * trickle, close to a token bucket.
 */
import {
  BurstyRateLimiter,
  RateLimiterCluster,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import ipaddr from 'ipaddr.js';
import { ErrorCode } from '@switchboard/protocol';
import { AppError } from '../domain/errors.js';
import { ClusterIpcDefaults } from './cluster-ipc.js';
import type { RedisConnection } from './redis.js';

/** Event classes with their own budgets (`upload`: `POST /api/files`). */
export type EventClass = 'message' | 'default' | 'upload';

/**
 * Per-IP budgets of the account routes, before any account is known: `register` counts every
 * registration attempt, `auth` every login and refresh together.
 */
export type IpClass = 'register' | 'auth';

/**
 * What "per IP" counts by: an IPv4 address (also when it arrives IPv4-mapped, `::ffff:a.b.c.d`),
 * or an IPv6 address's /64 network. One subscriber line or host usually gets a whole /64, so
 * counting single IPv6 addresses would hand one client 2^64 budgets.
 */
export function ipKey(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  const address = ipaddr.process(ip);
  if (address.kind() === 'ipv4') return address.toString();
  const network = (address as ipaddr.IPv6).parts.slice(0, 4).map((part) => part.toString(16));
  return `${network.join(':')}::/64`;
}

/** `burst` requests at once, then `points` per `seconds`. */
export interface Budget {
  burst: number;
  points: number;
  seconds: number;
}

export const RateLimitDefaults = {
  message: { burst: 30, points: 10, seconds: 1 },
  default: { burst: 60, points: 30, seconds: 1 },
  upload: { burst: 10, points: 1, seconds: 1 },
  /** Failed logins per (username, IP) in `loginWindowSeconds`. */
  loginFailures: 10,
  loginWindowSeconds: 15 * 60,
} as const;

export interface RateLimiter {
  /** Counts one request of `cls` by `userId`; throws `RATE_LIMITED` (with `retryAfterMs`) past the budget. */
  consume(userId: string, cls: EventClass): Promise<void>;
  /** Counts one request of `cls` from `ip` (as `ipKey` gives it); throws `RATE_LIMITED` past the budget. */
  consumeIp(ip: string, cls: IpClass): Promise<void>;
  /**
   * Counts one login attempt of `key` (username + IP) as failed before its password is checked, so
   * parallel guesses cannot overtake the count; throws `RATE_LIMITED` once the failures are used up.
   */
  loginAttempt(key: string): Promise<void>;
  /** The password was right: the failures of `key` are forgotten. */
  loginSucceeded(key: string): Promise<void>;
  /** The password of a counted attempt was never checked (the server was busy): the attempt is given back. */
  loginNotChecked(key: string): Promise<void>;
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

function bursty(name: string, { burst, points, seconds }: Budget, store: LimiterStore): Pick<RateLimiterAbstract, 'consume'> {
  const main = store({ keyPrefix: `rl:${name}`, points, duration: seconds });
  const extra = burst - points;
  if (extra <= 0) return main;
  return new BurstyRateLimiter(
    main,
    store({ keyPrefix: `rl:${name}:burst`, points: extra, duration: Math.ceil(extra / points) * seconds * 2 }),
  );
}

function limited(res: unknown): AppError {
  const retryAfterMs = res instanceof RateLimiterRes ? Math.max(1, Math.ceil(res.msBeforeNext)) : 1000;
  return new AppError(ErrorCode.RATE_LIMITED, 'too many requests; slow down', { retryAfterMs });
}

/** Counts one point of `key`; `RATE_LIMITED` past the budget. */
async function take(limiter: Pick<RateLimiterAbstract, 'consume'>, key: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (res) {
    // A store that cannot count (the cluster primary did not answer in time) is an outage, not a bug.
    if (res instanceof Error) throw new AppError(ErrorCode.UNAVAILABLE, 'rate limits cannot be checked right now', { cause: res });
    throw limited(res);
  }
}

export function createRateLimiter(options: {
  enabled: boolean;
  /** Where counters are kept; this node's memory by default. */
  store?: LimiterStore;
  /** Per-IP budgets of the account routes (config: REGISTER_IP_*, LOGIN_IP_*). */
  perIp: Record<IpClass, Budget>;
}): RateLimiter {
  if (!options.enabled) {
    const pass = () => Promise.resolve();
    return { consume: pass, consumeIp: pass, loginAttempt: pass, loginSucceeded: pass, loginNotChecked: pass };
  }
  const store = options.store ?? ((opts) => new RateLimiterMemory(opts));
  const events = {
    message: bursty('message', RateLimitDefaults.message, store),
    default: bursty('default', RateLimitDefaults.default, store),
    upload: bursty('upload', RateLimitDefaults.upload, store),
  };
  const ips = {
    register: bursty('ip:register', options.perIp.register, store),
    auth: bursty('ip:auth', options.perIp.auth, store),
  };
  const logins = store({
    keyPrefix: 'rl:login',
    points: RateLimitDefaults.loginFailures,
    duration: RateLimitDefaults.loginWindowSeconds,
  });
  return {
    consume: (userId, cls) => take(events[cls], userId),
    consumeIp: (ip, cls) => take(ips[cls], ip),
    loginAttempt: (key) => take(logins, key),
    async loginSucceeded(key) {
      await logins.delete(key);
    },
    async loginNotChecked(key) {
      await logins.reward(key, 1);
    },
  };
}
