/**
 * The PresenceStore and TypingStore contracts, run over every implementation (memory, Redis, and
 * the cluster ones, their primary in this process: test/cluster-loopback.ts), then what only the
 * Redis ones do: several nodes sharing one state, a dead node's users going offline when its
 * heartbeat lapses, a node rewriting its part after Redis lost it, and a closing node withdrawing
 * its sockets. What only the cluster ones do is in test/cluster-state.test.ts.
 */
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClusterPresenceStore } from '../src/scale/cluster-presence.js';
import { ClusterTypingStore } from '../src/scale/cluster-typing.js';
import { MemoryPresenceStore, RedisPresenceStore, type PresenceStatus, type PresenceStore } from '../src/scale/presence-store.js';
import { RedisConnection } from '../src/scale/redis.js';
import { MemoryTypingStore, RedisTypingStore, type TypingStore } from '../src/scale/typing-store.js';
import { loopbackCluster } from './cluster-loopback.js';
import { eventually, uniqueName } from './helpers.js';
import { REDIS_URL, deleteKeys, uniquePrefix } from './multinode.js';

const log = pino({ level: 'silent' });
/** Fast heartbeats, so that a lapsed one is noticed in a fraction of a second. */
const fast = { heartbeatMs: 100, ttlMs: 400 };

const prefix = uniquePrefix();
const connections: RedisConnection[] = [];
const stores: PresenceStore[] = [];
let raw: Redis;
const clusterState = loopbackCluster();

async function connection(): Promise<RedisConnection> {
  const redis = new RedisConnection(REDIS_URL, prefix, log);
  connections.push(redis);
  expect(await redis.connected()).toBe(true);
  return redis;
}

/** A Redis presence store as node `nodeId` would have it, recording its self-found transitions. */
async function redisNode(nodeId = uniqueName('node')) {
  const store = new RedisPresenceStore(await connection(), nodeId, log, fast);
  const transitions: [string, PresenceStatus][] = [];
  store.onTransition((userId, status) => {
    transitions.push([userId, status]);
    return Promise.resolve();
  });
  stores.push(store);
  return { store, transitions, nodeId };
}

beforeAll(() => {
  raw = new Redis(REDIS_URL);
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await Promise.all(connections.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  clusterState.close();
  raw.disconnect();
  await deleteKeys(REDIS_URL, prefix);
});

const presenceImplementations: [string, () => Promise<PresenceStore>][] = [
  ['memory', () => Promise.resolve(new MemoryPresenceStore())],
  ['redis', async () => (await redisNode()).store],
  ['cluster', () => Promise.resolve(new ClusterPresenceStore(clusterState.worker().link, log))],
];

describe.each(presenceImplementations)('PresenceStore contract (%s)', (_name, create) => {
  it('is online from the first socket to the last one', async () => {
    const store = await create();
    const [user, other] = [uniqueName('u'), uniqueName('u')];
    expect(await store.online([user, other])).toEqual(new Set());
    expect(await store.connect(user, 's1')).toBe(true);
    expect(await store.connect(user, 's2')).toBe(false);
    expect(await store.online([user, other])).toEqual(new Set([user]));
    expect(await store.disconnect(user, 's1')).toBe(false);
    expect(await store.online([user])).toEqual(new Set([user]));
    expect(await store.disconnect(user, 's2')).toBe(true);
    expect(await store.online([user, other])).toEqual(new Set());
  });

  it('ignores a socket it never saw, and a second disconnect of the same socket', async () => {
    const store = await create();
    const user = uniqueName('u');
    expect(await store.disconnect(user, 'never')).toBe(false);
    await store.connect(user, 's1');
    expect(await store.disconnect(user, 's1')).toBe(true);
    expect(await store.disconnect(user, 's1')).toBe(false);
    expect(await store.online([])).toEqual(new Set());
  });
});

const typingImplementations: [string, () => Promise<TypingStore>][] = [
  ['memory', () => Promise.resolve(new MemoryTypingStore())],
  ['redis', async () => new RedisTypingStore(await connection(), uniqueName('node'), 6000)],
  ['cluster', () => Promise.resolve(new ClusterTypingStore(clusterState.worker().link))],
];

describe.each(typingImplementations)('TypingStore contract (%s)', (_name, create) => {
  it('starts once, renews silently, and ends once', async () => {
    const store = await create();
    const [room, user] = [uniqueName('r'), uniqueName('u')];
    expect(await store.renew(room, user)).toBe(true);
    expect(await store.renew(room, user)).toBe(false);
    expect(await store.renew(uniqueName('r'), user)).toBe(true); // another room is another indicator
    expect(await store.end(room, user)).toBe(true);
    expect(await store.end(room, user)).toBe(false);
    expect(await store.renew(room, user)).toBe(true);
    expect(await store.expire(room, user)).toBe(true);
    expect(await store.expire(room, user)).toBe(false);
  });
});

describe('Redis presence across nodes', () => {
  it('counts a user online while any node holds a socket, and reports each transition once', async () => {
    const [a, b] = [await redisNode(), await redisNode()];
    const user = uniqueName('u');
    expect(await a.store.connect(user, 'a1')).toBe(true);
    expect(await b.store.connect(user, 'b1')).toBe(false);
    expect(await b.store.online([user])).toEqual(new Set([user]));
    expect(await a.store.disconnect(user, 'a1')).toBe(false);
    expect(await a.store.online([user])).toEqual(new Set([user]));
    expect(await b.store.disconnect(user, 'b1')).toBe(true);
    expect(await a.store.online([user])).toEqual(new Set());
    expect(await raw.hgetall(`${prefix}presence:${user}`)).toEqual({});
  });

  it('announces a simultaneous first connect on two nodes exactly once', async () => {
    const [a, b] = [await redisNode(), await redisNode()];
    const user = uniqueName('u');
    const results = await Promise.all([a.store.connect(user, 'a1'), b.store.connect(user, 'b1')]);
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('sweeps a node whose heartbeat lapsed: its users go offline unless another node holds them', async () => {
    const dead = uniqueName('dead');
    const [lonely, shared] = [uniqueName('u'), uniqueName('u')];
    const survivor = await redisNode();
    await survivor.store.connect(shared, 's1');
    // What a node leaves behind when it is SIGKILLed: its fields and user set, no heartbeat.
    await raw
      .multi()
      .hset(`${prefix}presence:${lonely}`, dead, 2)
      .hset(`${prefix}presence:${shared}`, dead, 1)
      .sadd(`${prefix}node:${dead}:users`, lonely, shared)
      .sadd(`${prefix}nodes`, dead)
      .exec();
    expect(await survivor.store.online([lonely, shared])).toEqual(new Set([lonely, shared]));

    await eventually(() => survivor.transitions.length > 0, 5000, 'the sweep');
    expect(survivor.transitions).toEqual([[lonely, 'offline']]);
    expect(await survivor.store.online([lonely, shared])).toEqual(new Set([shared]));
    expect(await raw.sismember(`${prefix}nodes`, dead)).toBe(0);
    expect(await raw.exists(`${prefix}node:${dead}:users`)).toBe(0);
  });

  it('keeps a live node: its heartbeat is renewed faster than it lapses', async () => {
    const [a, b] = [await redisNode(), await redisNode()];
    const user = uniqueName('u');
    await a.store.connect(user, 'a1');
    await new Promise((r) => setTimeout(r, fast.ttlMs * 3));
    expect(b.transitions).toEqual([]);
    expect(await b.store.online([user])).toEqual(new Set([user]));
  });

  it('rewrites its part when Redis lost it, announcing the users who came back', async () => {
    const a = await redisNode();
    const observer = await redisNode();
    const user = uniqueName('u');
    await a.store.connect(user, 'a1');
    await a.store.connect(user, 'a2');
    // Redis restarted empty (or the node was swept while cut off from Redis).
    await raw.del(`${prefix}presence:${user}`, `${prefix}node:${a.nodeId}:users`, `${prefix}node:${a.nodeId}:alive`);
    expect(await observer.store.online([user])).toEqual(new Set());

    await eventually(async () => (await observer.store.online([user])).has(user), 5000, 'the rewrite');
    expect(await raw.hget(`${prefix}presence:${user}`, a.nodeId)).toBe('2');
    expect(a.transitions).toEqual([[user, 'online']]);
  });

  it('withdraws a closing node: its users go offline, the others stay', async () => {
    const [a, b] = [await redisNode(), await redisNode()];
    const [onlyA, both] = [uniqueName('u'), uniqueName('u')];
    await a.store.connect(onlyA, 'a1');
    await a.store.connect(both, 'a2');
    await b.store.connect(both, 'b1');
    await a.store.close();
    expect(a.transitions).toEqual([[onlyA, 'offline']]);
    expect(await b.store.online([onlyA, both])).toEqual(new Set([both]));
    expect(await raw.sismember(`${prefix}nodes`, a.nodeId)).toBe(0);
  });
});

describe('Redis typing across nodes', () => {
  it('lets only the node that renewed last expire an indicator; an explicit end ends it anywhere', async () => {
    const [ra, rb] = [await connection(), await connection()];
    const a = new RedisTypingStore(ra, 'node-a', 6000);
    const b = new RedisTypingStore(rb, 'node-b', 6000);
    const [room, user] = [uniqueName('r'), uniqueName('u')];
    expect(await a.renew(room, user)).toBe(true);
    expect(await b.renew(room, user)).toBe(false); // another tab of the same user, on node b
    expect(await a.expire(room, user)).toBe(false); // b renewed since: a's timer ends nothing
    expect(await b.expire(room, user)).toBe(true);
    expect(await a.renew(room, user)).toBe(true);
    expect(await b.end(room, user)).toBe(true);
    expect(await a.expire(room, user)).toBe(false); // already ended: no second `typing: false`
  });

  it('keeps the key a little longer than the expiry, and then forgets it', async () => {
    const store = new RedisTypingStore(await connection(), 'node-a', 200, 100);
    const [room, user] = [uniqueName('r'), uniqueName('u')];
    await store.renew(room, user);
    const ttl = await raw.pttl(`${prefix}typing:${room}:${user}`);
    expect(ttl).toBeGreaterThan(200);
    expect(ttl).toBeLessThanOrEqual(300);
    await eventually(async () => (await raw.exists(`${prefix}typing:${room}:${user}`)) === 0, 5000, 'the key to lapse');
    expect(await store.renew(room, user)).toBe(true);
  });
});
