/**
 * One node's Redis connection in multi-node mode (REDIS_URL), and the key prefix
 * (REDIS_KEY_PREFIX) that every key, stream and channel carries.
 *
 * Redis being unreachable must never stall a request. The command connection therefore fails
 * commands at once while it is down (`enableOfflineQueue: false`) and callers fall back (rate
 * limits count per node, broadcasts stay on this node, presence is rewritten on return), while
 * ioredis keeps reconnecting in the background. Its duplicates — the stream adapter's blocking
 * readers and subscriber — wait for the connection instead: see `FailFastRedis`.
 */
import { Redis, type Command, type RedisOptions } from 'ioredis';
import type { WriteableStream } from 'ioredis/built/types.js';
import type { Logger } from 'pino';

/** Connection defaults; every delay is in milliseconds. */
export const RedisDefaults = {
  /** First reconnection delay; it doubles with each failed attempt. */
  retryMinMs: 100,
  /** Largest reconnection delay, so a returning Redis is noticed within about this long. */
  retryMaxMs: 2000,
  /** A TCP connection that is not established within this is abandoned and retried. */
  connectTimeoutMs: 5000,
  /** How long startup waits for Redis before the node starts degraded (not ready) and keeps trying. */
  startupWaitMs: 5000,
} as const;

/** Reconnects forever: 100 ms doubling to 2 s, with jitter so nodes do not return in lockstep. */
function retryStrategy(attempt: number): number {
  const base = Math.min(RedisDefaults.retryMinMs * 2 ** Math.min(attempt - 1, 10), RedisDefaults.retryMaxMs);
  return base + Math.floor(Math.random() * 100);
}

/**
 * An ioredis client that rejects commands at once while disconnected, whose duplicates queue
 * them until the connection returns. The Socket.IO streams adapter publishes with the client it
 * is given (a failed publish still reaches this node's own sockets, so failing fast keeps local
 * broadcasts instant during an outage) and reads with duplicates in a loop that retries as soon
 * as a read fails: a duplicate that failed fast would spin that loop without ever yielding.
 */
class FailFastRedis extends Redis {
  override duplicate(override?: Partial<RedisOptions>): Redis {
    return new HandledRedis({ ...this.options, enableOfflineQueue: true, maxRetriesPerRequest: null, ...override });
  }

  override sendCommand(command: Command, stream?: WriteableStream): unknown {
    return markHandled(command, super.sendCommand(command, stream));
  }
}

/** A duplicate for the adapter's readers: queues while disconnected, and never crashes the node. */
class HandledRedis extends Redis {
  constructor(options: RedisOptions) {
    // Switchboard's connections all keep ioredis's default (legacy) reply mapping.
    super(options as RedisOptions & { replyMapping?: 'legacy' });
  }

  override sendCommand(command: Command, stream?: WriteableStream): unknown {
    return markHandled(command, super.sendCommand(command, stream));
  }
}

/**
 * The streams adapter sends some commands without handling their failure (publishes for
 * server-side emits and `fetchSockets`, reads and subscriptions cut short when a node closes while
 * Redis is away): such a rejection would end the process as an unhandled one. Every command's
 * promise is marked handled here; a caller that awaits it still gets the error.
 */
function markHandled(command: Command, sent: unknown): unknown {
  command.promise.catch(() => undefined);
  return sent;
}

/** A command defined from a Lua script: call it with its keys, then its arguments. */
export type RedisScript = (keys: readonly string[], args: readonly (string | number)[]) => Promise<unknown>;

export class RedisConnection {
  /** Commands; rejects at once while Redis is unreachable. */
  readonly client: Redis;
  private readonly readyListeners: (() => void)[] = [];
  private scriptCount = 0;
  private wasReady = false;

  constructor(
    url: string,
    /** Prepended to every key and channel name. */
    readonly prefix: string,
    private readonly log: Logger,
  ) {
    this.client = new FailFastRedis(url, {
      enableOfflineQueue: false,
      // A command already sent when the connection drops fails at the next reconnection attempt
      // instead of being replayed later, when its caller has long given up.
      maxRetriesPerRequest: 0,
      retryStrategy,
      connectTimeout: RedisDefaults.connectTimeoutMs,
      connectionName: 'switchboard',
    });
    this.client.on('error', (err: Error) => log.debug({ err }, 'Redis connection error'));
    this.client.on('close', () => {
      if (!this.wasReady) return;
      this.wasReady = false;
      log.warn('Redis connection lost; serving this node only until it returns');
    });
    this.client.on('ready', () => {
      this.wasReady = true;
      log.info('Redis connection ready');
      for (const listener of this.readyListeners) listener();
    });
  }

  /** `prefix` + the parts joined by `:`. */
  key(...parts: string[]): string {
    return this.prefix + parts.join(':');
  }

  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /** Resolves when connected, or with false after `timeoutMs` (the client keeps trying). */
  async connected(timeoutMs: number = RedisDefaults.startupWaitMs): Promise<boolean> {
    if (this.ready) return true;
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.client.on('ready', onReady);
    });
  }

  /**
   * Calls `listener` every time the command connection becomes ready: the first time and after
   * every outage, when whatever this node wrote meanwhile must be written again.
   */
  onReady(listener: () => void): void {
    this.readyListeners.push(listener);
  }

  /** Throws unless Redis answers a PING now. */
  async ping(): Promise<void> {
    await this.client.ping();
  }

  /** Defines a Lua script as a command (sent by SHA once Redis has it). */
  script(lua: string, numberOfKeys: number): RedisScript {
    const name = `switchboard${this.scriptCount++}`;
    this.client.defineCommand(name, { lua, numberOfKeys });
    const command = (this.client as unknown as Record<string, (...args: (string | number)[]) => Promise<unknown>>)[name];
    if (!command) throw new Error(`ioredis did not define ${name}`);
    return (keys, args) => command.call(this.client, ...keys, ...args);
  }

  async close(): Promise<void> {
    this.readyListeners.length = 0;
    if (this.client.status === 'ready') await this.client.quit().catch(() => undefined);
    this.client.disconnect();
  }
}
