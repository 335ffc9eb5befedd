/**
 * Configuration: environment → one validated, typed object. Every option is documented here with
 * its default (PROTOCOL §1 plus Switchboard's own); `docs/operations.md` repeats this table.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';

const onOff = z
  .enum(['on', 'off', 'true', 'false', '1', '0'])
  .transform((v) => v === 'on' || v === 'true' || v === '1');

const list = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean));

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
  /** Trust X-Forwarded-For from a reverse proxy (set when behind nginx, for client IPs in login throttling). */
  TRUST_PROXY: onOff.default(false),
  /** pino level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `off` disables every rate limit (load tests on a private network only). */
  RATE_LIMITS: onOff.default(true),
  /** WebSocket permessage-deflate (off by default: it costs CPU and memory per connection). */
  WS_COMPRESSION: onOff.default(false),
  /** With WS_COMPRESSION on: messages smaller than this many bytes are sent uncompressed. */
  WS_COMPRESSION_THRESHOLD: z.coerce.number().int().min(0).default(1024),
  /** Largest Socket.IO packet accepted, in bytes; a larger one closes that connection. */
  MAX_PACKET_BYTES: z.coerce.number().int().min(1024).default(256 * 1024),
  /** Largest JSON HTTP body accepted, in bytes (larger → 413 PAYLOAD_TOO_LARGE). */
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(64 * 1024),
  /** Largest uploaded file (`POST /api/files`), in MiB; fractions allowed (larger → 413 PAYLOAD_TOO_LARGE). */
  MAX_UPLOAD_MB: z.coerce.number().positive().max(1024 * 1024).default(25),
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
