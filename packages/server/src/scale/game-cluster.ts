/**
 * Light Cycles across the nodes of a deployment (REDIS_URL). A game lives on the node that created
 * it, which alone steps it; the other nodes find it here and hand their clients' requests to it.
 * Ticks do not pass through here: they go to the game's Socket.IO room, which the streams adapter
 * carries to every node in the order the owner emitted them.
 *
 * Keys, under REDIS_KEY_PREFIX:
 *   games              hash    gameId → JSON `GameEntry`: the owning node and what `game:list` and an
 *                              abort need (players, scores), rewritten by the owner as it changes
 *   gamecode:<code>    string  gameId of a private game
 *   gameseat:<userId>  string  gameId of the game the user is seated in: one game per person at most
 *   matchqueue         hash    userId → JSON `QueuedPlayer`: one queue of every mode for all nodes
 *   game:rpc:<nodeId>  channel requests to that node, and the answers to its own requests
 *
 * A node's liveness is the presence heartbeat (`node:<nodeId>:alive`, scale/presence-store.ts):
 * once it lapses, the first surviving node to remove a game's entry (one HDEL wins) ends it.
 *
 * Requests go over plain pub/sub rather than `serverSideEmit` with an acknowledgement, which
 * waits for an answer from every node (and fails when one of them is dead) where one is needed.
 */
import type { GameMode, GamePlayer, Turn, WireError } from '@switchboard/protocol';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { AppError, toWireError, unavailable } from '../domain/errors.js';
import type { QueueEntry } from '../domain/game/matchmaking.js';
import type { RedisConnection, RedisScript } from './redis.js';

/** What every node knows of a game held by one of them. */
export interface GameEntry {
  gameId: string;
  node: string;
  mode: GameMode;
  code: string | null;
  /** Null while a private game waits for players. */
  startedAt: number | null;
  round: number;
  players: GamePlayer[];
  scores: Record<number, number>;
  spectators: number;
}

export interface QueuedPlayer extends QueueEntry {
  /** The node the player queued on: its entries go when it dies. */
  node: string;
}

/** A request to the node that holds `gameId` (or, for `join`, the game of `code`). */
export type GameCall =
  | { op: 'join'; code: string; userId: string; name: string }
  | { op: 'input'; gameId: string; userId: string; turn: Turn }
  | { op: 'watch'; gameId: string; userId: string; watcher: string }
  | { op: 'unwatch'; gameId: string; watcher: string }
  | { op: 'leave'; gameId: string; userId: string; watcher: string }
  /** The player has a socket again, on the calling node: the seat's hold ends; answers the state. */
  | { op: 'returned'; gameId: string; userId: string }
  /** The player's last socket on the calling node is gone: the seat is held unless it has another. */
  | { op: 'dropped'; gameId: string; userId: string };

type Wire = { id: string; from: string; call: GameCall } | { re: string; ok: true; value: unknown } | { re: string; ok: false; error: WireError };

export const GameClusterDefaults = {
  /** A request unanswered this long fails with UNAVAILABLE (the owner may be dying). */
  callTimeoutMs: 3000,
} as const;

/** ARGV: prefix, gameId, code or '', then the userIds seated. → 1 for the caller that removed the entry. */
const REMOVE = `
local prefix, id = ARGV[1], ARGV[2]
local removed = redis.call('HDEL', prefix .. 'games', id)
if ARGV[3] ~= '' and redis.call('GET', prefix .. 'gamecode:' .. ARGV[3]) == id then
  redis.call('DEL', prefix .. 'gamecode:' .. ARGV[3])
end
for i = 4, #ARGV do
  local seat = prefix .. 'gameseat:' .. ARGV[i]
  if redis.call('GET', seat) == id then redis.call('DEL', seat) end
end
return removed
`;

/** KEYS: seat, queue. ARGV: userId, entry. → 0 when the user is seated in a game. */
const ENQUEUE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
`;

/**
 * Forms a match atomically: every player must still be queued with the very entry the matcher
 * read, and seated nowhere; then all leave the queue and take their seats, or none does (a player
 * found seated meanwhile leaves the queue). ARGV: prefix, gameId, then userId, entry pairs.
 */
const TAKE = `
local prefix, id = ARGV[1], ARGV[2]
local queue = prefix .. 'matchqueue'
for i = 3, #ARGV, 2 do
  if redis.call('HGET', queue, ARGV[i]) ~= ARGV[i + 1] then return 0 end
  if redis.call('EXISTS', prefix .. 'gameseat:' .. ARGV[i]) == 1 then
    redis.call('HDEL', queue, ARGV[i])
    return 0
  end
end
for i = 3, #ARGV, 2 do
  redis.call('HDEL', queue, ARGV[i])
  redis.call('SET', prefix .. 'gameseat:' .. ARGV[i], id)
end
return 1
`;

/** KEYS: queue. ARGV: userId, node or ''. Removes the user's entry (only one made on `node`, when given). */
const CANCEL = `
local entry = redis.call('HGET', KEYS[1], ARGV[1])
if not entry then return 0 end
if ARGV[2] ~= '' and cjson.decode(entry).node ~= ARGV[2] then return 0 end
return redis.call('HDEL', KEYS[1], ARGV[1])
`;

/** KEYS: seat. ARGV: gameId. Frees the seat if it is still in that game. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** A Redis command whose failure (Redis unreachable) the client hears as UNAVAILABLE: worth a retry. */
async function shared<T>(command: Promise<T>): Promise<T> {
  try {
    return await command;
  } catch (err) {
    throw unavailable('games across nodes are unavailable for a moment: try again', err);
  }
}

export class RedisGameCluster {
  private readonly subscriber: Redis;
  private readonly pending = new Map<string, { resolve(value: unknown): void; reject(err: unknown): void; timer: NodeJS.Timeout }>();
  private readonly scripts: Record<'remove' | 'enqueue' | 'take' | 'cancel' | 'release', RedisScript>;
  private handler: (call: GameCall) => Promise<unknown> = () => Promise.reject(unavailable('not serving games yet'));
  private nextId = 0;

  constructor(
    private readonly redis: RedisConnection,
    readonly nodeId: string,
    private readonly log: Logger,
  ) {
    this.subscriber = redis.client.duplicate();
    this.subscriber.on('error', (err: Error) => log.debug({ err }, 'game channel error'));
    this.subscriber.on('message', (_channel: string, text: string) => this.receive(text));
    this.scripts = {
      remove: redis.script(REMOVE, 0),
      enqueue: redis.script(ENQUEUE, 2),
      take: redis.script(TAKE, 0),
      cancel: redis.script(CANCEL, 1),
      release: redis.script(RELEASE, 1),
    };
  }

  /** Starts answering other nodes' requests with `handler`. */
  async serve(handler: (call: GameCall) => Promise<unknown>): Promise<void> {
    this.handler = handler;
    await this.subscriber.subscribe(this.channel(this.nodeId));
  }

  /** Sends `call` to `node` and resolves with its answer; its AppErrors are thrown here as they were. */
  call<T>(node: string, call: GameCall, timeoutMs: number = GameClusterDefaults.callTimeoutMs): Promise<T> {
    const id = `${this.nodeId}/${this.nextId++}`;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(unavailable('the node that holds the game does not answer'));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.send(node, { id, from: this.nodeId, call }).catch((err: unknown) => {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(unavailable('the game service is unavailable', err));
      });
    });
  }

  /** Publishes (or rewrites) the entry of a game this node holds. */
  async publish(entry: GameEntry): Promise<void> {
    await shared(this.redis.client.hset(this.redis.key('games'), entry.gameId, JSON.stringify(entry)));
  }

  async entry(gameId: string): Promise<GameEntry | undefined> {
    const text = await shared(this.redis.client.hget(this.redis.key('games'), gameId));
    return text === null ? undefined : (JSON.parse(text) as GameEntry);
  }

  async entries(): Promise<GameEntry[]> {
    return (await shared(this.redis.client.hvals(this.redis.key('games')))).map((text) => JSON.parse(text) as GameEntry);
  }

  /**
   * Writes a game of this node again, with its code and its players' seats: after Redis came back,
   * perhaps restarted empty (what Redis holds is rebuilt by the nodes, never restored from a backup).
   */
  async restore(entry: GameEntry, seated: readonly string[]): Promise<void> {
    const batch = this.redis.client.multi().hset(this.redis.key('games'), entry.gameId, JSON.stringify(entry));
    if (entry.code !== null) batch.set(this.redis.key('gamecode', entry.code), entry.gameId);
    for (const userId of seated) batch.set(this.redis.key('gameseat', userId), entry.gameId);
    await shared(batch.exec());
  }

  /** Calls `listener` each time the Redis connection is ready again (and the first time). */
  onReady(listener: () => void): void {
    this.redis.onReady(listener);
  }

  /** Removes a game's entry, code and seats; true for the one caller that removed the entry. */
  async remove(entry: Pick<GameEntry, 'gameId' | 'code' | 'players'>): Promise<boolean> {
    const people = entry.players.flatMap((p) => (p.userId === null ? [] : [p.userId]));
    return (await shared(this.scripts.remove([], [this.redis.prefix, entry.gameId, entry.code ?? '', ...people]))) === 1;
  }

  /** Seats `userId` in `gameId` unless it is seated already. */
  /** A number for a new game's compact ticks, never handed out twice in the deployment. */
  async nextKey(): Promise<number> {
    return shared(this.redis.client.incr(this.redis.key('gamekey')));
  }

  async claimSeat(userId: string, gameId: string): Promise<boolean> {
    return (await shared(this.redis.client.set(this.redis.key('gameseat', userId), gameId, 'NX'))) === 'OK';
  }

  async releaseSeat(userId: string, gameId: string): Promise<void> {
    await shared(this.scripts.release([this.redis.key('gameseat', userId)], [gameId]));
  }

  async seatOf(userId: string): Promise<string | null> {
    return shared(this.redis.client.get(this.redis.key('gameseat', userId)));
  }

  /** Reserves a private game's code; false when another game has it. */
  async claimCode(code: string, gameId: string): Promise<boolean> {
    return (await shared(this.redis.client.set(this.redis.key('gamecode', code), gameId, 'NX'))) === 'OK';
  }

  async gameOfCode(code: string): Promise<string | null> {
    return shared(this.redis.client.get(this.redis.key('gamecode', code)));
  }

  /** Queues a player; false when it is seated in a game. */
  async enqueue(player: QueuedPlayer): Promise<boolean> {
    const keys = [this.redis.key('gameseat', player.userId), this.redis.key('matchqueue')];
    return (await shared(this.scripts.enqueue(keys, [player.userId, JSON.stringify(player)]))) === 1;
  }

  /** Takes a player out of the queue; with `node`, only an entry made on that node. */
  async cancel(userId: string, node?: string): Promise<void> {
    await shared(this.scripts.cancel([this.redis.key('matchqueue')], [userId, node ?? '']));
  }

  /** The queue as stored: each player with the exact entry text that `take` compares. */
  async queue(): Promise<{ player: QueuedPlayer; text: string }[]> {
    const all = await shared(this.redis.client.hvals(this.redis.key('matchqueue')));
    return all.map((text) => ({ player: JSON.parse(text) as QueuedPlayer, text })).sort((a, b) => a.player.since - b.player.since);
  }

  /** Seats the queued players in `gameId` if every one is still queued as read and seated nowhere. */
  async take(gameId: string, players: readonly { player: QueuedPlayer; text: string }[]): Promise<boolean> {
    const args = players.flatMap(({ player, text }) => [player.userId, text]);
    return (await shared(this.scripts.take([], [this.redis.prefix, gameId, ...args]))) === 1;
  }

  /** Drops the queue entries made on `node` (a node that died). */
  async forgetQueued(node: string): Promise<void> {
    const gone = (await this.queue()).filter((q) => q.player.node === node).map((q) => q.player.userId);
    if (gone.length > 0) await shared(this.redis.client.hdel(this.redis.key('matchqueue'), ...gone));
  }

  /** Whether `node`'s presence heartbeat is current. */
  async alive(node: string): Promise<boolean> {
    return (await shared(this.redis.client.exists(this.redis.key('node', node, 'alive')))) === 1;
  }

  async close(): Promise<void> {
    for (const [id, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      waiting.reject(unavailable('shutting down'));
      this.pending.delete(id);
    }
    this.subscriber.disconnect();
  }

  private channel(node: string): string {
    return this.redis.key('game', 'rpc', node);
  }

  private async send(node: string, message: Wire): Promise<void> {
    await this.redis.client.publish(this.channel(node), JSON.stringify(message));
  }

  private receive(text: string): void {
    let message: Wire;
    try {
      message = JSON.parse(text) as Wire;
    } catch (err) {
      this.log.warn({ err }, 'unreadable message on the game channel');
      return;
    }
    if ('re' in message) {
      const waiting = this.pending.get(message.re);
      if (!waiting) return; // answered after its timeout
      this.pending.delete(message.re);
      clearTimeout(waiting.timer);
      if (message.ok) waiting.resolve(message.value);
      else waiting.reject(new AppError(message.error.code, message.error.message));
      return;
    }
    const { id, from, call } = message;
    this.handler(call)
      .then(
        (value): Wire => ({ re: id, ok: true, value: value ?? null }),
        (err: unknown): Wire => {
          if (!(err instanceof AppError)) this.log.error({ err, call: call.op }, 'game request from another node failed');
          return { re: id, ok: false, error: toWireError(err) };
        },
      )
      .then((answer) => this.send(from, answer))
      .catch((err: unknown) => this.log.warn({ err, call: call.op }, 'could not answer a game request from another node'));
  }
}

