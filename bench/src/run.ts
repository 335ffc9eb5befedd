/**
 * `npm run bench`: Switchboard side by side with a bare Socket.IO baseline, in the same run, on
 * the same machine, under the same load. Progress goes to stderr; the results go to stdout as one
 * JSON document, to bench/results/<timestamp>.json, and (full runs of every scenario) to
 * docs/benchmarks.md.
 *
 *   npm run bench [-- --quick] [--scenario fanout|idle|compression|multinode]...
 *   npm run --silent bench > run.json     (npm's banner would otherwise precede the JSON)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createAccounts, createRoom, type Accounts } from './accounts.js';
import { runFanout, type FanoutResult, type FanoutSize } from './fanout.js';
import { runIdle, summarizeIdle, type IdleResult, type IdleSize } from './idle.js';
import { checkMultinodeServices, runMultinode, type MultinodeSize } from './multinode.js';
import {
  copyDir,
  installCleanup,
  killAll,
  removeDir,
  repoRoot,
  startBaseline,
  startSwitchboard,
  type ServerProcess,
  type SwitchboardEnv,
} from './procs.js';
import { renderMarkdown } from './report.js';
import {
  Scenario,
  evaluateGoals,
  fanoutRatios,
  idleRatio,
  type BenchResults,
  type CompressionVariant,
  type Machine,
} from './results.js';

interface Sizes {
  fanout: FanoutSize;
  idle: IdleSize;
  compression: FanoutSize;
  multinode: MultinodeSize;
}

// The sizes: 500 clients, 10 senders × 20 msg/s × 10 s = 2,000 messages, 1,000,000 deliveries.
const FULL: Sizes = {
  fanout: { clients: 500, senders: 10, rate: 20, seconds: 10, workers: 2, drainSeconds: 10, textLength: 120 },
  idle: { clients: 5000, rounds: 2, workers: 2, settleSeconds: 4 },
  compression: { clients: 500, senders: 10, rate: 20, seconds: 5, workers: 2, drainSeconds: 10, textLength: 120 },
  // Smaller than the fan-out: three nodes, PostgreSQL and Redis share the cores with the load generator.
  multinode: { nodes: 3, clients: 300, senders: 6, rate: 20, seconds: 10, workers: 2, drainSeconds: 10, textLength: 120 },
};

const QUICK: Sizes = {
  fanout: { clients: 50, senders: 5, rate: 20, seconds: 2, workers: 2, drainSeconds: 3, textLength: 120 },
  idle: { clients: 300, rounds: 1, workers: 2, settleSeconds: 1 },
  compression: { clients: 50, senders: 5, rate: 20, seconds: 1, workers: 2, drainSeconds: 3, textLength: 120 },
  multinode: { nodes: 3, clients: 30, senders: 3, rate: 10, seconds: 2, workers: 2, drainSeconds: 5, textLength: 120 },
};

const USAGE = `Usage: npm run bench [-- --quick] [--scenario fanout|idle|compression|multinode]...

  --quick       small sizes, a smoke run of about half a minute (docs/benchmarks.md is left alone)
  --scenario    run only this scenario (repeatable); default: all four
                (multinode needs PostgreSQL and Redis: BENCH_PG_URL, BENCH_REDIS_URL, local ones by default)`;

const started = Date.now();
const log = (line: string) => console.error(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}`);

function machine(): Machine {
  const cores = cpus();
  return {
    cpuModel: cores[0]?.model.trim() ?? 'unknown',
    cores: cores.length,
    memoryGiB: Number((totalmem() / 1024 ** 3).toFixed(1)),
    node: process.version,
    os: `${type()} ${release()}`,
  };
}

/** Starts Switchboard on a fresh copy of the accounts' DATA_DIR, creates the bench room, runs `body`, stops it. */
async function withSwitchboard<T>(
  accounts: Accounts,
  env: Omit<SwitchboardEnv, 'DATA_DIR'>,
  body: (server: ServerProcess, roomId: string) => Promise<T>,
): Promise<T> {
  const dataDir = copyDir(accounts.dataDir, 'switchboard-bench-');
  try {
    const server = await startSwitchboard({ ...env, DATA_DIR: dataDir });
    try {
      const roomId = await createRoom(server.url, accounts.owner, 'bench');
      return await body(server, roomId);
    } finally {
      await server.stop();
    }
  } finally {
    removeDir(dataDir);
  }
}

async function withBaseline<T>(body: (server: ServerProcess) => Promise<T>): Promise<T> {
  const server = await startBaseline();
  try {
    return await body(server);
  } finally {
    await server.stop();
  }
}

function summary(name: string, r: FanoutResult): string {
  return (
    `${name}: ${r.deliveriesPerSecond.toLocaleString('en-US')} deliveries/s, p50 ${r.latencyMs.p50} ms, ` +
    `p99 ${r.latencyMs.p99} ms, lost ${r.lost}, duplicated ${r.duplicates}, server peak RSS ${r.server.rssPeakMb} MB`
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      scenario: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.error(USAGE);
    return;
  }
  const known: readonly string[] = Object.values(Scenario);
  const selected = values.scenario ?? [...known];
  const unknown = selected.filter((s) => !known.includes(s));
  if (unknown.length > 0) {
    console.error(`Unknown scenario "${unknown.join('", "')}".\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const run = (scenario: Scenario) => selected.includes(scenario);
  const sizes = values.quick ? QUICK : FULL;
  installCleanup();
  // Before anything else runs: a missing PostgreSQL or Redis must not cost the other scenarios' results.
  if (run(Scenario.multinode)) await checkMultinodeServices();

  const startedAt = new Date();
  const info = machine();
  log(`Switchboard bench${values.quick ? ' (quick)' : ''}: ${selected.join(', ')} on ${info.cores} × ${info.cpuModel}, ${info.memoryGiB} GiB, Node ${info.node}`);

  const accountsNeeded = Math.max(
    run(Scenario.fanout) ? sizes.fanout.clients : 0,
    run(Scenario.compression) ? sizes.compression.clients : 0,
    run(Scenario.idle) ? sizes.idle.clients : 0,
  );
  log(`registering ${accountsNeeded} accounts (throwaway server, lowest scrypt cost)`);
  const accounts = await createAccounts(accountsNeeded, 16, log);

  const results: BenchResults = {
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    durationSeconds: 0,
    quick: values.quick,
    machine: info,
    sizes,
    goals: [],
  };

  if (run(Scenario.fanout)) {
    log('— fan-out —');
    const baseline = await withBaseline((server) => runFanout(server, 'baseline', 'bench', [], sizes.fanout, log));
    log(summary('baseline', baseline));
    const switchboard = await withSwitchboard(accounts, {}, (server, roomId) =>
      runFanout(server, 'switchboard', roomId, accounts.tokens, sizes.fanout, log),
    );
    log(summary('switchboard', switchboard));
    results.fanout = { switchboard, baseline, ratios: fanoutRatios(switchboard, baseline) };
  }

  if (run(Scenario.idle)) {
    log('— idle memory —');
    // Heap growth comes in steps, so one process's number is noisy: alternate fresh servers and average.
    const baselineRounds: IdleResult[] = [];
    const switchboardRounds: IdleResult[] = [];
    for (let round = 1; round <= sizes.idle.rounds; round++) {
      const base = await withBaseline((server) => runIdle(server, 'baseline', [], sizes.idle, log));
      log(`baseline round ${round}: ${base.perConnectionKb} KB per idle connection`);
      baselineRounds.push(base);
      const sb = await withSwitchboard(accounts, {}, (server) =>
        runIdle(server, 'switchboard', accounts.tokens, sizes.idle, log),
      );
      log(`switchboard round ${round}: ${sb.perConnectionKb} KB per idle connection`);
      switchboardRounds.push(sb);
    }
    const baseline = summarizeIdle(baselineRounds);
    const switchboard = summarizeIdle(switchboardRounds);
    results.idle = { switchboard, baseline, ratio: idleRatio(switchboard, baseline) };
  }

  if (run(Scenario.compression)) {
    log('— WebSocket compression (Switchboard) —');
    const variants: Array<Omit<CompressionVariant, 'result'>> = [
      { label: 'off (default)', env: { WS_COMPRESSION: 'off' } },
      { label: 'on, threshold 1024 B (default threshold)', env: { WS_COMPRESSION: 'on' } },
      { label: 'on, threshold 0 (every message)', env: { WS_COMPRESSION: 'on', WS_COMPRESSION_THRESHOLD: '0' } },
    ];
    const measured: CompressionVariant[] = [];
    for (const variant of variants) {
      log(`compression ${variant.label}`);
      const result = await withSwitchboard(accounts, variant.env, (server, roomId) =>
        runFanout(server, 'switchboard', roomId, accounts.tokens, sizes.compression, log),
      );
      log(summary(`compression ${variant.label}`, result));
      measured.push({ ...variant, result });
    }
    results.compression = { variants: measured };
  }

  if (run(Scenario.multinode)) {
    log(`— multi-node (${sizes.multinode.nodes} nodes, Redis + PostgreSQL) —`);
    const multinode = await runMultinode(sizes.multinode, log);
    log(summary('single node (PostgreSQL)', multinode.single));
    log(summary(`${multinode.nodes} nodes (Redis + PostgreSQL)`, multinode.multi));
    results.multinode = multinode;
  }

  const finishedAt = new Date();
  results.finishedAt = finishedAt.toISOString();
  results.durationSeconds = Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000);
  results.goals = evaluateGoals(results);

  const resultsDir = join(repoRoot, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  const json = JSON.stringify(results, null, 2);
  writeFileSync(file, `${json}\n`);
  log(`results written to ${file}`);
  for (const goal of results.goals) log(`goal ${goal.met ? 'met   ' : 'MISSED'} ${goal.name}: ${goal.value} (target ${goal.target})`);

  if (!values.quick && selected.length === known.length) {
    writeFileSync(join(repoRoot, 'docs', 'benchmarks.md'), renderMarkdown(results));
    log('docs/benchmarks.md rewritten');
  } else {
    log('docs/benchmarks.md left alone (only a full run of every scenario rewrites it)');
  }
  console.log(json);
}

main().then(
  () => killAll(),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    killAll();
    process.exitCode = 1;
  },
);
