/**
 * TypingStore: who is typing in which room, one state per (room, user) for the whole deployment,
 * so that tabs of one user on different nodes start and end one indicator, not one each. The
 * memory implementation serves one process, the Redis one several nodes, the cluster one
 * (scale/cluster-typing.ts) the workers of one host without Redis; all pass the same contract
 * suite (test/presence-store.test.ts).
 *
 * Expiry is driven by the node that received the latest renewal: it arms a timer and, when the
 * timer fires, `expire` ends the indicator only if no other node renewed it since. A node that
 * dies takes its timer with it; its key then lapses in Redis without an event, and receivers end
 * the indicator themselves after `Limits.typingExpirySeconds` without renewal (PROTOCOL §4.1).
 */
import { unavailable } from '../domain/errors.js';
import type { RedisConnection, RedisScript } from './redis.js';

export interface TypingStore {
  /** Starts or renews; true when it started (the others must hear `typing: true`). */
  renew(roomId: string, userId: string): Promise<boolean>;
  /** Ends it; true when it was active (the others must hear `typing: false`). */
  end(roomId: string, userId: string): Promise<boolean>;
  /** Ends it if this node renewed it last; true when it ended. */
  expire(roomId: string, userId: string): Promise<boolean>;
}

const key = (roomId: string, userId: string) => `${roomId}|${userId}`;

export class MemoryTypingStore implements TypingStore {
  private readonly active = new Set<string>();

  renew(roomId: string, userId: string): Promise<boolean> {
    const k = key(roomId, userId);
    const started = !this.active.has(k);
    this.active.add(k);
    return Promise.resolve(started);
  }

  end(roomId: string, userId: string): Promise<boolean> {
    return Promise.resolve(this.active.delete(key(roomId, userId)));
  }

  /** One process renews everything itself: the timer that fired belongs to the latest renewal. */
  expire(roomId: string, userId: string): Promise<boolean> {
    return this.end(roomId, userId);
  }
}

/** KEYS: the typing key. ARGV: nodeId. Deletes the key only if this node renewed it last. */
const EXPIRE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`;

/**
 * `typing:<roomId>:<userId>` holds the id of the node that renewed it last. It outlives the
 * expiry by `graceMs`, so that the renewing node's timer always finds its own key: a key that is
 * gone was ended on purpose, and nobody repeats the `typing: false`.
 */
export class RedisTypingStore implements TypingStore {
  private readonly expireScript: RedisScript;

  constructor(
    private readonly redis: RedisConnection,
    private readonly nodeId: string,
    private readonly expiryMs: number,
    private readonly graceMs = 2000,
  ) {
    this.expireScript = redis.script(EXPIRE, 1);
  }

  async renew(roomId: string, userId: string): Promise<boolean> {
    const previous = await this.call(() =>
      this.redis.client.set(this.key(roomId, userId), this.nodeId, 'PX', this.expiryMs + this.graceMs, 'GET'),
    );
    return previous === null;
  }

  async end(roomId: string, userId: string): Promise<boolean> {
    return (await this.call(() => this.redis.client.del(this.key(roomId, userId)))) === 1;
  }

  async expire(roomId: string, userId: string): Promise<boolean> {
    return (await this.call(() => this.expireScript([this.key(roomId, userId)], [this.nodeId]))) === 1;
  }

  private key(roomId: string, userId: string): string {
    return this.redis.key('typing', roomId, userId);
  }

  private async call<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      throw unavailable('typing indicators are unavailable while Redis is unreachable', err);
    }
  }
}
