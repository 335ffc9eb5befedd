/**
 * Test factory for `switchboard start` as a real child process (one server, or a cluster primary
 * with its workers): its own process group so a test can signal the whole group as a supervisor
 * does, its JSON log lines parsed, and a guarantee that nothing outlives the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** One pino line: `msg`, `pid`, `level` and whatever fields the line carries. */
export type LogEntry = { msg?: string; pid?: number; level?: number } & Record<string, unknown>;

export interface ServerProcess {
  child: ChildProcess;
  /** The primary's (or the single process's) pid, which is also its process group id. */
  pid: number;
  url: string;
  /** Every log line so far, from every process of the server. */
  logs: LogEntry[];
  /** Resolves with the first log line (past or future) matching `match`. */
  waitForLog(match: (entry: LogEntry) => boolean, timeoutMs?: number, what?: string): Promise<LogEntry>;
  /** Pids of the workers that reported ready so far (empty for a single process). */
  workerPids(): number[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Signals the main process, or with `group` every process of the server. */
  kill(signal: NodeJS.Signals, options?: { group?: boolean }): void;
}

/**
 * Timeout for a test that starts servers as processes: each one compiles its TypeScript (tsx) at
 * start, several run at once, and the machine may be busy; only the hard limits are asserted.
 */
export const PROCESS_TEST_TIMEOUT_MS = 180_000;

const running = new Set<ServerProcess>();

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A port that was free a moment ago on 127.0.0.1 (for a server that must come back on the same port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Starts `switchboard start` with `env` on top of the test defaults; resolves once it listens. */
export async function spawnServer(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'packages/server/src/main.ts', 'start'], {
    cwd: root,
    // REGISTER_IP_BURST: suites register dozens of accounts from 127.0.0.1 (as in helpers.ts).
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SCRYPT_COST: '1024', REGISTER_IP_BURST: '10000', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('server did not start');
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const logs: LogEntry[] = [];
  const waiters = new Set<(entry: LogEntry) => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let entry: LogEntry;
    try {
      entry = JSON.parse(line) as LogEntry;
    } catch {
      console.error(line); // not a log line: show it
      return;
    }
    logs.push(entry);
    for (const waiter of waiters) waiter(entry);
  });

  const waitForLog = (match: (entry: LogEntry) => boolean, timeoutMs = 20_000, what = 'a log line') => {
    const found = logs.find(match);
    if (found) return Promise.resolve(found);
    return new Promise<LogEntry>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        waiters.delete(waiter);
      };
      const waiter = (entry: LogEntry) => {
        if (!match(entry)) return;
        done();
        resolve(entry);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      waiters.add(waiter);
      void exited.then(({ code, signal }) => {
        if (!waiters.has(waiter)) return;
        done();
        reject(new Error(`server exited (code ${code}, signal ${signal}) while waiting for ${what}`));
      });
    });
  };

  const server: ServerProcess = {
    child,
    pid,
    url: '',
    logs,
    waitForLog,
    workerPids: () => [...new Set(logs.filter((e) => e.msg === 'worker ready').map((e) => e.pid as number))],
    exited,
    kill(signal, options = {}) {
      try {
        process.kill(options.group ? -pid : pid, signal);
      } catch {
        // already gone
      }
    },
  };
  running.add(server);
  const listening = await waitForLog((e) => e.msg === 'Switchboard is listening', 90_000, 'the server to listen');
  server.url = String(listening.url);
  // Every worker reported ready before the primary listened, but the processes write their logs
  // independently: a worker's line may come through after the primary's.
  const workers = Number(env.WORKERS ?? 1); // one process (no workers) unless a number above 1
  while (workers > 1 && server.workerPids().length < workers) {
    const known = server.workerPids();
    await waitForLog((e) => e.msg === 'worker ready' && !known.includes(e.pid as number), 10_000, 'every worker to report ready');
  }
  return server;
}

/** SIGKILLs every process group started by `spawnServer` that is still around (for afterEach). */
export function killServers(): void {
  for (const server of running) {
    try {
      process.kill(-server.pid, 'SIGKILL');
    } catch {
      // the whole group is gone already
    }
  }
  running.clear();
}
