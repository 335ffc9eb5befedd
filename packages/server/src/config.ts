/**
 * Configuration: environment → one validated, typed object. Every option is documented here with
 * its default (PROTOCOL §1 plus Switchboard's own); `docs/operations.md` repeats this table.
 */
import { availableParallelism } from 'node:os';
import { DocLimits } from '@switchboard/protocol';
import { z } from 'zod';

const onOff = z
  .enum(['on', 'off', 'true', 'false', '1', '0'])
  .transform((v) => v === 'on' || v === 'true' || v === '1');

const list = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean));

/** Names @fastify/proxy-addr expands to address ranges. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];
const proxyAddress = z.union([z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6(), z.enum(PROXY_RANGE_NAMES)]);

/**
 * TRUST_PROXY: which peers may tell the client's address in `X-Forwarded-For`. A hop count, or
 * addresses/CIDRs of the proxies; never a blanket yes, which would let any client choose the IP
 * that the per-IP limits count (PROTOCOL §1).
 */
const trustProxy = z
  .string()
  .trim()
  .refine((v) => !/^(true|on|yes)$/i.test(v), {
    message: 'trusting every proxy would let clients forge their address: give the number of proxies (e.g. 1) or their addresses/CIDRs',
  })
  .transform((v, ctx): false | number | string[] => {
    if (/^(false|off|no)$/i.test(v)) return false;
    if (/^\d+$/.test(v)) return Number(v) === 0 ? false : Number(v);
    const entries = v.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = entries.filter((entry) => !proxyAddress.safeParse(entry).success);
    if (entries.length === 0 || bad.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `not a hop count, IP address, CIDR or one of ${PROXY_RANGE_NAMES.join('/')}: ${bad.join(', ') || '(empty)'}`,
      });
      return z.NEVER;
    }
    return entries;
  });

export const ConfigSchema = z.object({
  /** HTTP + Socket.IO port. */
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Bind address. */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** SQLite file, uploaded files and generated secrets. */
  DATA_DIR: z.string().min(1).default('./data'),
  /** The built web app served at `/`; unset means packages/web/dist next to the server package. */
  WEB_DIR: z.string().min(1).optional(),
  /** `postgres://…` selects PostgreSQL; unset means SQLite in DATA_DIR. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  /** PostgreSQL connection pool size per process. */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  /** `redis://…` turns on multi-node mode. */
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').optional(),
  /**
   * Prefix of every Redis key, stream and channel Switchboard uses, so several deployments (or
   * test runs) can share one Redis. Every node of a deployment must use the same one.
   */
  REDIS_KEY_PREFIX: z
    .string()
    .max(100)
    .regex(/^[\x21-\x7e]*$/, 'must be printable ASCII without spaces')
    .default('switchboard:'),
  /** HS256 signing key shared by every node; generated once into DATA_DIR when unset. */
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Access-token lifetime in seconds. */
  ACCESS_TOKEN_TTL: z.coerce.number().int().min(5).max(86_400).default(900),
  /** Refresh-token lifetime in seconds (a login that is not refreshed for this long ends). */
  REFRESH_TOKEN_TTL: z.coerce.number().int().min(60).default(30 * 86_400),
  /** Worker processes on this host (`auto` = number of cores). */
  WORKERS: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(256)]).default(1),
  /** Comma-separated browser origins allowed for HTTP and the Socket.IO handshake; empty = same origin only. */
  CORS_ORIGINS: list.default([]),
  /** `false` closes POST /api/auth/register. */
  ALLOW_REGISTRATION: onOff.default(true),
  /**
   * Reverse proxies whose `X-Forwarded-For` names the client (for per-IP limits and logs): a hop
   * count (`1` = the nearest proxy; safe only when clients cannot reach this server directly) or
   * a comma-separated list of proxy addresses, CIDRs or `loopback`/`linklocal`/`uniquelocal`.
   * Unset (default): the socket's address, and `X-Forwarded-For` is ignored. `true` is refused.
   */
  TRUST_PROXY: trustProxy.default(false),
  /**
   * The origin browsers use to reach this server (`https://chat.example.com`). When set, only it
   * and CORS_ORIGINS may open sockets or send requests with an `Origin`; unset (default), an
   * `Origin` matching the request's `Host` is accepted, which DNS rebinding can fake.
   */
  PUBLIC_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .transform((v) => new URL(v).origin)
    .optional(),
  /** Milliseconds a client has to send a request's headers (PROTOCOL §2: 20 s). */
  HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).default(20_000),
  /** Milliseconds a client has to send a request's body, after its headers (PROTOCOL §2: 30 s); uploads excepted. */
  HTTP_BODY_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  /** Milliseconds an idle keep-alive connection stays open (above nginx's 60 s upstream keepalive). */
  HTTP_KEEPALIVE_TIMEOUT_MS: z.coerce.number().int().min(100).default(72_000),
  /** Milliseconds a connection may go without any traffic while a request is in progress. */
  HTTP_IDLE_TIMEOUT_MS: z.coerce.number().int().min(100).default(120_000),
  /** Least bytes per second an upload (`POST /api/files`) must keep sending, measured over each UPLOAD_RATE_WINDOW_MS. */
  UPLOAD_MIN_BYTES_PER_S: z.coerce.number().int().min(1).default(4096),
  /** Milliseconds over which an upload's rate is measured; one window below UPLOAD_MIN_BYTES_PER_S ends it. */
  UPLOAD_RATE_WINDOW_MS: z.coerce.number().int().min(100).default(10_000),
  /** pino level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `off` disables every rate limit (load tests on a private network only). */
  RATE_LIMITS: onOff.default(true),
  /** WebSocket permessage-deflate (off by default: it costs CPU and memory per connection). */
  WS_COMPRESSION: onOff.default(false),
  /** With WS_COMPRESSION on: messages smaller than this many bytes are sent uncompressed. */
  WS_COMPRESSION_THRESHOLD: z.coerce.number().int().min(0).default(1024),
  /**
   * Milliseconds between WebSocket pings on `/ws` (PROTOCOL §8): a connection that has not answered
   * the previous ping when the next is due is dropped, so a dead peer goes within two intervals.
   * 25 s by default (Socket.IO's ping interval).
   */
  WS_PING_INTERVAL_MS: z.coerce.number().int().min(100).max(600_000).default(25_000),
  /** Seconds between keep-alive comments on an SSE stream (`GET /api/events`), so proxies keep it open; 15 by default. */
  SSE_KEEPALIVE_S: z.coerce.number().min(0.1).max(300).default(15),
  /** Largest Socket.IO packet accepted, in bytes; a larger one closes that connection. */
  MAX_PACKET_BYTES: z.coerce.number().int().min(1024).default(256 * 1024),
  /**
   * Unsent bytes a connection may hold (PROTOCOL §2): above this the server reads no further
   * requests from it; a connection that stays above for 10 s, or passes 8 times this, is closed.
   * 1 MiB by default.
   */
  MAX_SOCKET_BUFFER_BYTES: z.coerce.number().int().min(64 * 1024).default(1024 * 1024),
  /** Largest JSON HTTP body accepted, in bytes (larger → 413 PAYLOAD_TOO_LARGE). */
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(64 * 1024),
  /** Largest uploaded file (`POST /api/files`), in MiB; fractions allowed (larger → 413 PAYLOAD_TOO_LARGE). */
  MAX_UPLOAD_MB: z.coerce.number().positive().max(1024 * 1024).default(25),
  /**
   * Per-user storage quota, in MiB; fractions allowed: the total size of a user's files that are
   * not deleted (unattached uploads count until the orphan sweep removes them). An upload that
   * would pass it → 413 PAYLOAD_TOO_LARGE. Default 1024 (1 GiB).
   */
  MAX_STORAGE_MB_PER_USER: z.coerce.number().positive().max(1024 * 1024 * 1024).default(1024),
  /**
   * Hours an uploaded file may stay unattached to any message before the orphan sweep deletes it
   * (and its bytes, unless another file shares them); fractions allowed. Default 24.
   */
  FILE_ORPHAN_GRACE_HOURS: z.coerce.number().min(0).max(24 * 365).default(24),
  /** Minutes between two orphan sweeps on each node (safe on several nodes at once); fractions allowed. Default 60. */
  FILE_ORPHAN_SWEEP_MINUTES: z.coerce.number().positive().max(7 * 24 * 60).default(60),
  /** scrypt cost (N) for password hashing; 2^14 by default (16 MiB per hash). */
  SCRYPT_COST: z.coerce.number().int().min(1024).default(16_384),
  /**
   * Password hashes (scrypt) computed at once by this process; default: the number of cores, at
   * most 3. scrypt runs on libuv's thread pool (4 threads unless UV_THREADPOOL_SIZE says more),
   * which file reads and writes share: one thread stays free for them.
   */
  PASSWORD_HASH_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(() => Math.min(availableParallelism(), 3)),
  /**
   * Password hashes waiting for a free slot, beyond which register and login answer 503 UNAVAILABLE
   * at once; 64 by default (about 1.5 s of work on two cores at the default SCRYPT_COST).
   */
  PASSWORD_HASH_QUEUE: z.coerce.number().int().min(0).max(100_000).default(64),
  /** Registration attempts per client IP at once, before REGISTER_IP_PER_MINUTE applies; 30 by default. */
  REGISTER_IP_BURST: z.coerce.number().int().min(1).default(30),
  /** Registration attempts per client IP per minute after the burst; 1 by default. */
  REGISTER_IP_PER_MINUTE: z.coerce.number().int().min(1).default(1),
  /** Login and refresh attempts (together) per client IP at once, before LOGIN_IP_PER_SECOND applies; 30 by default. */
  LOGIN_IP_BURST: z.coerce.number().int().min(1).default(30),
  /** Login and refresh attempts (together) per client IP per second after the burst; 1 by default. */
  LOGIN_IP_PER_SECOND: z.coerce.number().int().min(1).default(1),
  /** Seconds the shutdown may take before the process exits anyway. */
  SHUTDOWN_TIMEOUT: z.coerce.number().min(1).max(60).default(8),
  /**
   * `off` turns monitoring off (PROTOCOL §7): no `/metrics`, no `/monitor` namespace, no history,
   * alerts or error groups, and nothing measured on the request path. On by default.
   */
  MONITORING: onOff.default(true),
  /** When set, `GET /metrics` needs `Authorization: Bearer <METRICS_TOKEN>` (else 401). */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Where alerts are POSTed as JSON when they fire and resolve (retried with backoff); unset: none. */
  ALERT_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  /**
   * `true` lets webhooks reach loopback, private and link-local addresses (a webhook receiver on
   * the same machine or network); off by default, so a webhook URL cannot probe the internal network.
   */
  WEBHOOK_ALLOW_PRIVATE: onOff.default(false),
  /**
   * Collaborative documents (PROTOCOL §5): largest `/collab` WebSocket frame, in bytes (a larger one
   * closes the connection with 1009). A client's first sync carries its whole offline state, so
   * this matches the largest document: 8 MiB (+ 1 KiB of framing) by default.
   */
  COLLAB_MAX_FRAME_BYTES: z.coerce.number().int().min(64 * 1024).default(DocLimits.frameBytesMax),
  /**
   * Largest document, in bytes of its encoded Yjs state: an update that would grow a document past
   * it is refused (close 4413), updates that only delete still pass; 8 MiB by default.
   */
  COLLAB_MAX_DOC_BYTES: z.coerce.number().int().min(1024).default(DocLimits.stateBytesMax),
  /** Updates in a document's log after which it is compacted into its snapshot; 200 by default. */
  COLLAB_COMPACT_AFTER: z.coerce.number().int().min(1).default(200),
  /** Seconds between automatic versions of a document while it is edited; 300 (5 minutes) by default, at most 300. */
  COLLAB_VERSION_INTERVAL_S: z.coerce.number().positive().max(300).default(300),
  /** Seconds a document nobody has open stays in memory; 30 by default. */
  COLLAB_IDLE_UNLOAD_S: z.coerce.number().min(0).default(30),
  /**
   * With several processes: seconds between two resyncs of an open document from the database,
   * which bring in any update whose relay from another node was lost (Redis pub/sub drops
   * messages while a node reconnects); 30 by default.
   */
  COLLAB_RESYNC_S: z.coerce.number().min(0.1).default(30),
  /** Seconds a queued player waits before bots fill the seats no one took (PROTOCOL §6); 20 by default. */
  MATCH_BOT_FILL_S: z.coerce.number().min(0).max(3600).default(20),
  /** Seconds a player who dropped keeps the seat in a game before forfeiting it; 10 by default. */
  GAME_SEAT_HOLD_S: z.coerce.number().min(0.1).max(60).default(10),
  /** Seconds of countdown before each round of a game; 3 by default. */
  GAME_COUNTDOWN_S: z.coerce.number().min(0.05).max(30).default(3),
  /** Seconds between the end of a round and the next countdown; 2 by default. */
  GAME_ROUND_PAUSE_S: z.coerce.number().min(0.05).max(30).default(2),
});

export type Config = z.output<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

/** Reads the configuration from an environment; throws one error listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const raw = Object.fromEntries(
    Object.keys(ConfigSchema.shape).map((key) => [key, env[key] === '' ? undefined : env[key]]),
  );
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`Invalid configuration:\n${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}
