/**
 * PresenceStore: which users have at least one connected socket. The memory implementation
 * serves one process; the Redis one serves a deployment of several nodes, with per-node
 * heartbeats so that a node that dies without a word takes its users offline; the cluster one
 * (scale/cluster-presence.ts) serves the workers of one host without Redis. All pass the same
 * contract suite (test/presence-store.test.ts).
 *
 * Contract: `connect`/`disconnect` are called once per socket; `connect` answers true when the
 * user had no socket before, anywhere (came online), `disconnect` true when the last one went
 * (offline). Transitions the store notices by itself go to the `onTransition` listener.
 */
import type { Logger } from 'pino';
import type { RedisConnection, RedisScript } from './redis.js';

export type PresenceStatus = 'online' | 'offline';

/** Called for a transition that no `connect`/`disconnect` call reported. */
export type PresenceListener = (userId: string, status: PresenceStatus) => Promise<void>;

export interface PresenceStore {
  connect(userId: string, socketId: string): Promise<boolean>;
  disconnect(userId: string, socketId: string): Promise<boolean>;
  /** The subset of `userIds` that is online. */
  online(userIds: readonly string[]): Promise<Set<string>>;
  /**
   * Sets the listener for transitions found outside `connect`/`disconnect`: the users of a dead
   * node going offline, and this node's users coming back after a Redis outage.
   */
  onTransition(listener: PresenceListener): void;
  /** Stops background work and withdraws this process's sockets. */
  close(): Promise<void>;
}

/** Sockets per user in this process: what each store knows for sure, whatever the shared state. */
export class LocalSockets {
  private readonly sockets = new Map<string, Set<string>>();

  /** The user's socket count here after adding this one. */
  add(userId: string, socketId: string): number {
    let set = this.sockets.get(userId);
    if (!set) this.sockets.set(userId, (set = new Set()));
    set.add(socketId);
    return set.size;
  }

  /** The user's socket count here after removing this one; undefined when it was not known. */
  remove(userId: string, socketId: string): number | undefined {
    const set = this.sockets.get(userId);
    if (!set?.delete(socketId)) return undefined;
    if (set.size === 0) this.sockets.delete(userId);
    return set.size;
  }

  has(userId: string): boolean {
    return this.sockets.has(userId);
  }

  count(userId: string): number {
    return this.sockets.get(userId)?.size ?? 0;
  }

  userIds(): string[] {
    return [...this.sockets.keys()];
  }
}

export class MemoryPresenceStore implements PresenceStore {
  private readonly local = new LocalSockets();

  connect(userId: string, socketId: string): Promise<boolean> {
    return Promise.resolve(this.local.add(userId, socketId) === 1);
  }

  disconnect(userId: string, socketId: string): Promise<boolean> {
    return Promise.resolve(this.local.remove(userId, socketId) === 0);
  }

  online(userIds: readonly string[]): Promise<Set<string>> {
    return Promise.resolve(new Set(userIds.filter((id) => this.local.has(id))));
  }

  /** One process sees every socket come and go, so nothing happens behind its back. */
  onTransition(): void {}

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Heartbeat timing of the Redis presence store, in milliseconds. */
export const PresenceDefaults = {
  /** How often a node renews its heartbeat and looks for dead nodes. */
  heartbeatMs: 5000,
  /**
   * A node whose heartbeat is older than this is dead and its sockets are forgotten, so its users
   * go offline for everyone within `ttlMs + heartbeatMs` (20 s) of its death.
   */
  ttlMs: 15_000,
} as const;

/*
 * Keys (all under REDIS_KEY_PREFIX):
 *   presence:<userId>      hash   nodeId → that node's socket count for the user (no field: none)
 *   node:<nodeId>:users    set    users with a field from that node, for sweeping it when it dies
 *   node:<nodeId>:alive    string the node's heartbeat, expiring after `ttlMs`
 *   nodes                  set    nodes that may hold fields
 * A user is online while their hash exists. Every change is one Lua script, so two nodes can
 * never both announce the same transition. The scripts that sweep compute key names from the
 * prefix, which needs a single Redis (or Sentinel), not Redis Cluster.
 */

/** KEYS: presence hash, node's user set. ARGV: nodeId, userId, count here. → 1 when the user came online. */
const CONNECT = `
local before = redis.call('HLEN', KEYS[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[2])
if before == 0 then return 1 end
return 0`;

/** KEYS, ARGV as CONNECT, count after this socket left. → 1 when the user went offline. */
const DISCONNECT = `
if tonumber(ARGV[3]) > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 0
end
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[2])
if removed == 1 and redis.call('HLEN', KEYS[1]) == 0 then return 1 end
return 0`;

/** KEYS: heartbeat, nodes set. ARGV: nodeId, ttl. → 0 when the heartbeat had lapsed (or Redis lost it). */
const HEARTBEAT = `
local existed = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
return existed`;

/**
 * Writes this node's counts for a batch of its users. ARGV: prefix, nodeId, then userId, count
 * pairs. → users who came online.
 */
const REWRITE = `
local prefix, node = ARGV[1], ARGV[2]
local users = prefix .. 'node:' .. node .. ':users'
local online = {}
for i = 3, #ARGV, 2 do
  local key = prefix .. 'presence:' .. ARGV[i]
  if redis.call('HLEN', key) == 0 then online[#online + 1] = ARGV[i] end
  redis.call('HSET', key, node, ARGV[i + 1])
  redis.call('SADD', users, ARGV[i])
end
return online`;

/**
 * Forgets every node whose heartbeat lapsed, and ARGV[2] (a node leaving) whatever its heartbeat.
 * ARGV: prefix, leaving nodeId or ''. → users who went offline.
 */
const SWEEP = `
local prefix, leaving = ARGV[1], ARGV[2]
local offline = {}
for _, node in ipairs(redis.call('SMEMBERS', prefix .. 'nodes')) do
  local alive = prefix .. 'node:' .. node .. ':alive'
  if node == leaving then redis.call('DEL', alive) end
  if redis.call('EXISTS', alive) == 0 then
    local users = prefix .. 'node:' .. node .. ':users'
    for _, user in ipairs(redis.call('SMEMBERS', users)) do
      local key = prefix .. 'presence:' .. user
      if redis.call('HDEL', key, node) == 1 and redis.call('HLEN', key) == 0 then
        offline[#offline + 1] = user
      end
    end
    redis.call('DEL', users)
    redis.call('SREM', prefix .. 'nodes', node)
  end
end
return offline`;

/** Users per REWRITE call, so a node with many users never sends one huge command. */
const RESYNC_BATCH = 500;

/**
 * Presence of a multi-node deployment in Redis. This node's own socket counts stay in memory as
 * the truth for its part: when Redis is unreachable, `connect`/`disconnect` report no transition
 * and `online` answers for this node's users only; when it returns, the node rewrites its part
 * (`resync`) and announces the transitions that were missed.
 */
export class RedisPresenceStore implements PresenceStore {
  private readonly local = new LocalSockets();
  private readonly scripts: Record<'connect' | 'disconnect' | 'heartbeat' | 'rewrite' | 'sweep', RedisScript>;
  private readonly timer: NodeJS.Timeout;
  private listener: PresenceListener = () => Promise.resolve();
  private closed = false;

  constructor(
    private readonly redis: RedisConnection,
    private readonly nodeId: string,
    private readonly log: Logger,
    private readonly timing: { heartbeatMs: number; ttlMs: number } = PresenceDefaults,
  ) {
    this.scripts = {
      connect: redis.script(CONNECT, 2),
      disconnect: redis.script(DISCONNECT, 2),
      heartbeat: redis.script(HEARTBEAT, 2),
      rewrite: redis.script(REWRITE, 0),
      sweep: redis.script(SWEEP, 0),
    };
    this.timer = setInterval(() => void this.tick(), timing.heartbeatMs);
    this.timer.unref();
    redis.onReady(() => void this.resync());
    if (redis.ready) void this.resync();
  }

  onTransition(listener: PresenceListener): void {
    this.listener = listener;
  }

  async connect(userId: string, socketId: string): Promise<boolean> {
    const count = this.local.add(userId, socketId);
    return this.write('connect', userId, count);
  }

  async disconnect(userId: string, socketId: string): Promise<boolean> {
    const count = this.local.remove(userId, socketId);
    if (count === undefined) return false;
    return this.write('disconnect', userId, count);
  }

  async online(userIds: readonly string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    try {
      const pipeline = this.redis.client.pipeline();
      for (const id of userIds) pipeline.exists(this.redis.key('presence', id));
      const results = (await pipeline.exec()) ?? [];
      return new Set(userIds.filter((_, i) => results[i]?.[1] === 1));
    } catch (err) {
      this.log.debug({ err }, 'presence read failed; answering for this node only');
      return new Set(userIds.filter((id) => this.local.has(id)));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    try {
      await this.announce((await this.scripts.sweep([], [this.redis.prefix, this.nodeId])) as string[], 'offline');
    } catch (err) {
      // Unreachable Redis: the other nodes sweep this one once its heartbeat lapses.
      this.log.debug({ err }, 'could not withdraw this node from presence');
    }
  }

  private async write(op: 'connect' | 'disconnect', userId: string, count: number): Promise<boolean> {
    try {
      const keys = [this.redis.key('presence', userId), this.redis.key('node', this.nodeId, 'users')];
      return (await this.scripts[op](keys, [this.nodeId, userId, count])) === 1;
    } catch (err) {
      // Redis is unreachable: this node's counts are kept, and `resync` reports the transition later.
      this.log.debug({ err, userId }, `presence ${op} not written to Redis`);
      return false;
    }
  }

  /** Renews the heartbeat (rewriting everything if it had lapsed) and sweeps dead nodes. */
  private async tick(): Promise<void> {
    try {
      const keys = [this.redis.key('node', this.nodeId, 'alive'), this.redis.key('nodes')];
      const alive = await this.scripts.heartbeat(keys, [this.nodeId, this.timing.ttlMs]);
      if (alive === 0) await this.resync();
      await this.announce((await this.scripts.sweep([], [this.redis.prefix, ''])) as string[], 'offline');
    } catch (err) {
      this.log.debug({ err }, 'presence heartbeat failed');
    }
  }

  /**
   * Rewrites this node's part of presence from its own counts: after Redis returns (it may have
   * restarted empty, or swept this node meanwhile) and after a lapsed heartbeat. Each batch and
   * each removal is built from the counts of the moment it is sent, and commands run in the order
   * sent, so a socket that comes or goes meanwhile is never overwritten by an older picture.
   */
  private async resync(): Promise<void> {
    if (this.closed) return;
    try {
      const heartbeat = [this.redis.key('node', this.nodeId, 'alive'), this.redis.key('nodes')];
      await this.scripts.heartbeat(heartbeat, [this.nodeId, this.timing.ttlMs]);
      const userIds = this.local.userIds();
      for (let i = 0; i < userIds.length; i += RESYNC_BATCH) {
        const pairs = userIds.slice(i, i + RESYNC_BATCH).flatMap((id) => {
          const count = this.local.count(id);
          return count > 0 ? [id, count] : [];
        });
        if (pairs.length === 0) continue;
        await this.announce((await this.scripts.rewrite([], [this.redis.prefix, this.nodeId, ...pairs])) as string[], 'online');
      }
      const held = await this.redis.client.smembers(this.redis.key('node', this.nodeId, 'users'));
      await Promise.all(
        held.map(async (userId) => {
          if (!this.local.has(userId) && (await this.write('disconnect', userId, 0))) await this.announce([userId], 'offline');
        }),
      );
    } catch (err) {
      this.log.debug({ err }, 'presence resync failed; retried when Redis is back');
    }
  }

  private async announce(userIds: readonly string[], status: PresenceStatus): Promise<void> {
    for (const userId of userIds) {
      await this.listener(userId, status).catch((err: unknown) => this.log.error({ err, userId, status }, 'presence transition failed'));
    }
  }
}
