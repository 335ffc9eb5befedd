/**
 * Child processes of a bench run: the servers under test (each alone in its own process, so its
 * RSS and CPU time are its own) and the load workers. Every child is registered here and killed
 * when the run ends, fails or is interrupted, so no server outlives the bench.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigSchema } from '../../packages/server/src/config.js';

/** The repository root: servers are started from it so `--import tsx` and workspace imports resolve. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Kills every child still running and removes temp directories; safe to call more than once. */
export function killAll(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** Makes sure no child survives the orchestrator, whether it finishes, throws or is interrupted. */
export function installCleanup(): void {
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping the bench`);
      killAll();
      process.exit(130);
    });
  }
}

/** A fresh temp directory, removed when the run ends. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** A fresh temp directory holding a copy of `source` (a server's DATA_DIR with users already registered). */
export function copyDir(source: string, prefix: string): string {
  const dir = tempDir(prefix);
  cpSync(source, dir, { recursive: true });
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** A port that was free a moment ago on 127.0.0.1 (the server is told to bind it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resident memory and CPU time of one process, read from procfs (Linux). */
export interface ProcSample {
  /** Current resident set, bytes. */
  rss: number;
  /** Peak resident set since the process started, bytes. */
  peakRss: number;
  /** User + system CPU time since the process started, seconds. */
  cpuSeconds: number;
}

// Clock ticks per second for /proc/<pid>/stat times; 100 on every Linux this runs on.
const CLOCK_TICKS = 100;

export function sampleProcess(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(match[1]) * 1024;
  };
  // The command name (field 2) may contain spaces; the numeric fields follow its closing parenthesis.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the full line, i.e. 11 and 12 after the name.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rss: kib('VmRSS'), peakRss: kib('VmHWM'), cpuSeconds: ticks / CLOCK_TICKS };
}

/** A server under test, running in its own child process. */
export interface ServerProcess {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  sample(): ProcSample;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with code ${child.exitCode} before it was ready`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${url}/readyz did not answer 200 within ${timeoutMs} ms`);
}

function forwardOutput(child: ChildProcess, name: string): void {
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.trim()) console.error(`  [${name}] ${line}`);
    });
  }
}

/**
 * The caller's environment without any Switchboard setting: a `DATABASE_URL` or `REDIS_URL`
 * exported in the shell must not put bench accounts and messages into a real deployment's stores.
 */
function inheritedEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(ConfigSchema.shape)) delete env[key];
  return env;
}

/** `sources`: workspace packages resolve to their TypeScript sources (the "source" export condition). */
async function startProcess(name: string, script: string, args: string[], env: Record<string, string>, sources = true): Promise<ServerProcess> {
  const port = await freePort();
  const child = track(
    spawn(process.execPath, [...(sources ? ['--conditions=source'] : []), '--import', 'tsx', script, ...args], {
      cwd: repoRoot,
      env: { ...inheritedEnv(), ...env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  forwardOutput(child, name);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(url, child, 30_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name} has no pid`);
  return {
    name,
    url,
    pid,
    sample: () => sampleProcess(pid),
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Options of a Switchboard server under test (environment variables, see packages/server/src/config.ts). */
export interface SwitchboardEnv {
  DATA_DIR: string;
  WS_COMPRESSION?: 'on' | 'off';
  WS_COMPRESSION_THRESHOLD?: string;
  SCRYPT_COST?: string;
  ACCESS_TOKEN_TTL?: string;
  /** The multi-node scenario: PostgreSQL, Redis, and the key every node signs with. */
  DATABASE_URL?: string;
  REDIS_URL?: string;
  REDIS_KEY_PREFIX?: string;
  JWT_SECRET?: string;
  /** `off`: no metrics, no snapshots (the monitoring scenario's comparison). */
  MONITORING?: 'on' | 'off';
  /** The collab scenario: compaction on or off, and how soon a closed document leaves memory. */
  COLLAB_COMPACT_AFTER?: string;
  COLLAB_IDLE_UNLOAD_S?: string;
}

/** Starts `switchboard start` in its own process, with rate limits off, and waits for `/readyz`. */
export function startSwitchboard(env: SwitchboardEnv, name = 'switchboard'): Promise<ServerProcess> {
  const vars: Record<string, string> = { RATE_LIMITS: 'off', LOG_LEVEL: 'warn', DATA_DIR: env.DATA_DIR };
  if (env.WS_COMPRESSION) vars.WS_COMPRESSION = env.WS_COMPRESSION;
  if (env.WS_COMPRESSION_THRESHOLD) vars.WS_COMPRESSION_THRESHOLD = env.WS_COMPRESSION_THRESHOLD;
  for (const key of ['SCRYPT_COST', 'ACCESS_TOKEN_TTL', 'DATABASE_URL', 'REDIS_URL', 'REDIS_KEY_PREFIX', 'JWT_SECRET', 'MONITORING', 'COLLAB_COMPACT_AFTER', 'COLLAB_IDLE_UNLOAD_S'] as const) {
    const value = env[key];
    if (value) vars[key] = value;
  }
  return startProcess(name, 'packages/server/src/main.ts', ['start'], vars);
}

/** Starts the bare Socket.IO baseline (bench/src/baseline-server.ts) in its own process. */
export function startBaseline(): Promise<ServerProcess> {
  return startProcess('baseline', 'bench/src/baseline-server.ts', [], {});
}

/** Starts the game scenario's Colyseus peer (bench/src/colyseus-game-server.ts) in its own process. */
export function startColyseusGame(): Promise<ServerProcess> {
  return startProcess('colyseus', 'bench/src/colyseus-game-server.ts', [], {});
}

/** Starts the bare-WebSocket baseline (bench/src/ws-baseline-server.ts) in its own process. */
export function startWsBaseline(): Promise<ServerProcess> {
  return startProcess('bare ws', 'bench/src/ws-baseline-server.ts', [], {});
}

/** Starts `@hocuspocus/server` (bench/src/hocuspocus-server.ts) in its own process, persisting to `db` as `store` says. */
export function startHocuspocus(store: 'log' | 'snapshot', db: string): Promise<ServerProcess> {
  // Hocuspocus's packages export their own sources under "source" too: it runs its published build.
  return startProcess('hocuspocus', 'bench/src/hocuspocus-server.ts', [], { HOCUSPOCUS_STORE: store, HOCUSPOCUS_DB: db }, false);
}

/** Forks a load worker (bench/src/load-worker.ts); it inherits `--conditions=source --import tsx`. */
export function forkWorker(): ChildProcess {
  return track(
    fork(fileURLToPath(new URL('./load-worker.ts', import.meta.url)), [], {
      cwd: repoRoot,
      serialization: 'advanced',
      // Worker output goes to stderr: stdout carries only the run's JSON result.
      stdio: ['ignore', 2, 2, 'ipc'],
    }),
  );
}
