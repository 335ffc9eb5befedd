#!/usr/bin/env node
/**
 * The `switchboard` command. `switchboard start` (what `npm start` runs) reads the configuration
 * from the environment (flags mirror it) and starts one server process, or with WORKERS > 1 a
 * cluster primary and its workers (scale/cluster.ts). Every server process shuts down gracefully
 * on SIGTERM/SIGINT and exits within SHUTDOWN_TIMEOUT seconds whatever happens. `switchboard user …`
 * and `switchboard export` administer the data (cli.ts).
 */
import { parseArgs } from 'node:util';
import { CLI_USAGE, runCli, UsageError } from './cli.js';
import { loadConfig, type Config } from './config.js';
import { createLogger } from './logger.js';
import { isClusterWorker, runPrimary, startWorker, workerCount } from './scale/cluster.js';
import { createServer, type SwitchboardServer } from './server.js';

const USAGE = `Usage: switchboard start [--port N] [--host ADDR] [--data-dir DIR] [--workers N|auto]

${CLI_USAGE}

Environment variables configure everything (see docs/operations.md); flags override them.`;

/** Drains and closes `server` on SIGTERM/SIGINT (and in a worker, when its primary is gone), then exits. */
function stopOnSignals(server: SwitchboardServer, config: Config): void {
  const { log } = server;
  let stopping = false;
  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'shutting down');
    setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT * 1000).unref();
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // A worker whose primary died (even by SIGKILL) must not live on without a port.
  if (isClusterWorker()) process.on('disconnect', () => stop('primary exited'));
}

async function start(flags: Record<string, string | undefined>): Promise<void> {
  const env = { ...process.env };
  if (flags.port !== undefined) env.PORT = flags.port;
  if (flags.host !== undefined) env.HOST = flags.host;
  if (flags['data-dir'] !== undefined) env.DATA_DIR = flags['data-dir'];
  if (flags.workers !== undefined) env.WORKERS = flags.workers;
  const config = loadConfig(env);
  const log = createLogger(config.LOG_LEVEL);

  if (isClusterWorker()) {
    const server = await startWorker(() => createServer({ ...env, logger: log, clusterWorker: true }));
    stopOnSignals(server, config);
    return;
  }
  const workers = workerCount(config.WORKERS);
  if (workers > 1) {
    await runPrimary({ config, workers, log });
    return;
  }
  const server = await createServer({ ...env, logger: log });
  const url = await server.listen();
  log.info({ url, database: server.database.dialect }, 'Switchboard is listening');
  stopOnSignals(server, config);
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'user' || argv[0] === 'export') {
    await runCli(argv, process.env);
    return;
  }
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      workers: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0] ?? 'start';
  if (values.help || command === 'help') {
    console.log(USAGE);
    return;
  }
  if (command !== 'start') {
    console.error(`Unknown command "${command}".\n${USAGE}`);
    process.exit(2);
  }
  await start(values as Record<string, string | undefined>);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  if (err instanceof UsageError) console.error(`\n${USAGE}`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
