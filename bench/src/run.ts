/**
 * `npm run bench`: Switchboard side by side with a bare Socket.IO baseline, in the same run, on
 * the same machine, under the same load. Progress goes to stderr; the results go to stdout as one
 * JSON document, to bench/results/<timestamp>.json (with its charts beside it), and with --write to
 * docs/benchmarks.md and docs/bench/*.svg (a full run), or to the sections of the scenarios run.
 *
 *   npm run bench [-- --quick] [--write] [--scenario sweep|rooms|idle|compression|multinode|monitoring|gateway|collab|game]...
 *   npm run --silent bench > run.json     (npm's banner would otherwise precede the JSON)
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createAccounts, createRoom } from './accounts.js';
import { charts } from './chart.js';
import { runCollab, type CollabSize } from './collab.js';
import { runFanout, type FanoutSize } from './fanout.js';
import { runGame, type GameSize } from './game.js';
import { runGateway, type GatewaySize } from './gateway.js';
import { runIdle, summarizeIdle, type IdleResult, type IdleSize } from './idle.js';
import { runMonitoring, type MonitoringSize } from './monitoring.js';
import { checkMultinodeServices, runMultinode, type MultinodeSize } from './multinode.js';
import { installCleanup, killAll, repoRoot } from './procs.js';
import { renderMarkdown, updateMarkdown } from './report.js';
import { Scenario, evaluateGoals, idleRatio, type BenchResults, type CompressionVariant, type Machine } from './results.js';
import { runRooms, type RoomsSize } from './rooms.js';
import { withBaseline, withSwitchboard } from './servers.js';
import { runSweep, summary, type SweepSize } from './sweep.js';

interface Sizes {
  sweep: SweepSize;
  rooms: RoomsSize;
  idle: IdleSize;
  compression: FanoutSize;
  multinode: MultinodeSize;
  monitoring: MonitoringSize;
  game: GameSize;
  gateway: GatewaySize;
  collab: CollabSize;
}

// The issue's sizes: 500 clients; at the headline point 10 senders × 20 msg/s × 10 s = 2,000
// messages, 1,000,000 deliveries. The 400 msg/s point (2,000,000 deliveries) is past what two
// cores deliver: the drain lets its backlog arrive rather than count it lost, and costs nothing
// where everything arrives sooner.
const FULL: Sizes = {
  sweep: {
    clients: 500,
    senders: 10,
    rates: [5, 10, 20, 40],
    headlineRate: 20,
    headlineRounds: 3,
    rounds: 1,
    seconds: 10,
    workers: 2,
    drainSeconds: 60,
    textLength: 120,
  },
  // 5,000 sockets, 2,500 per load worker: what the idle scenario already holds on two cores. Each
  // message is stored on its own, so a backlog may build up: the drain lets it arrive.
  rooms: { rooms: 1000, membersPerRoom: 5, rate: 500, seconds: 10, workers: 2, drainSeconds: 30, textLength: 120 },
  idle: { clients: 5000, rounds: 2, workers: 2, settleSeconds: 4 },
  compression: { clients: 500, senders: 10, rate: 20, seconds: 5, workers: 2, drainSeconds: 10, textLength: 120 },
  // Smaller than the fan-out: three nodes, PostgreSQL and Redis share the cores with the load generator.
  multinode: { nodes: 3, clients: 300, senders: 6, rate: 20, seconds: 10, workers: 2, drainSeconds: 10, textLength: 120 },
  // The fan-out at 100 msg/s, below the knee, where an overhead shows in latency rather than drowning in a backlog.
  monitoring: { clients: 500, senders: 10, rate: 10, seconds: 10, workers: 2, drainSeconds: 30, textLength: 120, rounds: 2 },
  // 200 quad games on one process at 20 Hz; the bytes are counted on 20 of their clients.
  game: { games: 200, warmupSeconds: 5, seconds: 20, sampled: 20 },
  // /ws beside /chat and a bare ws relay: the monitoring scenario's load, 100 msg/s below the knee.
  gateway: { clients: 500, senders: 10, rate: 10, seconds: 10, workers: 2, drainSeconds: 30, textLength: 120 },
  // The issue's sizes: 50 editors on one document, 20 changes a second in all; a document of 10,000 updates.
  collab: {
    editors: 50,
    rate: 20,
    seconds: 30,
    drainSeconds: 10,
    loadUpdates: 10_000,
    loadRounds: 5,
    docs: 200,
    docChars: 2000,
    settleSeconds: 4,
    idleUnloadSeconds: 30,
  },
};

const QUICK: Sizes = {
  sweep: {
    clients: 50,
    senders: 5,
    rates: [5, 10],
    headlineRate: 10,
    headlineRounds: 2,
    rounds: 1,
    seconds: 2,
    workers: 2,
    drainSeconds: 5,
    textLength: 120,
  },
  rooms: { rooms: 40, membersPerRoom: 5, rate: 100, seconds: 2, workers: 2, drainSeconds: 15, textLength: 120 },
  idle: { clients: 300, rounds: 1, workers: 2, settleSeconds: 1 },
  compression: { clients: 50, senders: 5, rate: 20, seconds: 1, workers: 2, drainSeconds: 3, textLength: 120 },
  multinode: { nodes: 3, clients: 30, senders: 3, rate: 10, seconds: 2, workers: 2, drainSeconds: 5, textLength: 120 },
  monitoring: { clients: 50, senders: 5, rate: 10, seconds: 2, workers: 2, drainSeconds: 5, textLength: 120, rounds: 1 },
  game: { games: 10, warmupSeconds: 2, seconds: 3, sampled: 5 },
  gateway: { clients: 50, senders: 5, rate: 10, seconds: 2, workers: 2, drainSeconds: 5, textLength: 120 },
  collab: {
    editors: 10,
    rate: 20,
    seconds: 3,
    drainSeconds: 5,
    loadUpdates: 500,
    loadRounds: 2,
    docs: 20,
    docChars: 2000,
    settleSeconds: 1,
    idleUnloadSeconds: 1,
  },
};

const USAGE = `Usage: npm run bench [-- --quick] [--write] [--scenario sweep|rooms|idle|compression|multinode|monitoring|gateway|collab|game]...

  --quick       small sizes, a smoke run of every scenario, one to two minutes (docs/ is left alone)
  --write       a full run of every scenario rewrites docs/benchmarks.md and docs/bench/; with
                --scenario, only those scenarios' sections and goals (and the sweep's chart)
  --scenario    run only this scenario (repeatable); default: all of them
                sweep: one room, 500 receivers, 50 to 400 msg/s; rooms: 1,000 rooms × 5 members
                monitoring: the fan-out with MONITORING off and on (watched and scraped)
                gateway: the fan-out through /ws beside /chat and a bare ws relay
                collab: 50 editors on one document, loads and memory, beside Hocuspocus
                game: 200 Light Cycles games at 20 Hz on Switchboard and on Colyseus
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      write: { type: 'boolean', default: false },
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
    run(Scenario.sweep) ? sizes.sweep.clients : 0,
    run(Scenario.rooms) ? sizes.rooms.rooms * sizes.rooms.membersPerRoom : 0,
    run(Scenario.compression) ? sizes.compression.clients : 0,
    run(Scenario.idle) ? sizes.idle.clients : 0,
    run(Scenario.monitoring) ? sizes.monitoring.clients : 0,
    run(Scenario.game) ? sizes.game.games : 0,
    run(Scenario.gateway) ? sizes.gateway.clients : 0,
    run(Scenario.collab) ? sizes.collab.editors : 0,
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

  if (run(Scenario.sweep)) results.sweep = await runSweep(accounts, sizes.sweep, log);
  if (run(Scenario.rooms)) results.rooms = await runRooms(accounts, sizes.rooms, log);

  if (run(Scenario.idle)) {
    log('— idle memory —');
    // Heap growth comes in steps, so one process's number is noisy: alternate fresh servers and average.
    const baselineRounds: IdleResult[] = [];
    const switchboardRounds: IdleResult[] = [];
    for (let round = 1; round <= sizes.idle.rounds; round++) {
      const base = await withBaseline((server) => runIdle(server, 'baseline', [], sizes.idle, log));
      log(`baseline round ${round}: ${base.perConnectionKb} KB per idle connection`);
      baselineRounds.push(base);
      const sb = await withSwitchboard(accounts.dataDir, {}, (server) =>
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
      const result = await withSwitchboard(accounts.dataDir, variant.env, async (server) => {
        const roomId = await createRoom(server.url, accounts.owner, 'bench');
        return runFanout(server, 'switchboard', roomId, accounts.tokens, sizes.compression, log);
      });
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

  if (run(Scenario.monitoring)) {
    log('— monitoring off vs on —');
    results.monitoring = await runMonitoring(accounts, sizes.monitoring, log);
  }

  if (run(Scenario.gateway)) {
    log('— /ws beside /chat and a bare ws relay —');
    results.gateway = await runGateway(accounts, sizes.gateway, log);
  }

  if (run(Scenario.collab)) results.collab = await runCollab(accounts, sizes.collab, log);

  if (run(Scenario.game)) {
    log(`— game (${sizes.game.games} games at 20 Hz, Switchboard and Colyseus) —`);
    results.game = await runGame(accounts, sizes.game, log);
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
  const images = charts(results);
  for (const image of images) {
    const path = file.replace(/\.json$/, `-${image.name}`);
    writeFileSync(path, image.svg);
    log(`chart written to ${path}`);
  }
  for (const goal of results.goals) log(`goal ${goal.met ? 'met   ' : 'MISSED'} ${goal.name}: ${goal.value} (target ${goal.target})`);

  const markdown = join(repoRoot, 'docs', 'benchmarks.md');
  if (values.write && !values.quick && selected.length === known.length) {
    const docsBench = join(repoRoot, 'docs', 'bench');
    mkdirSync(docsBench, { recursive: true });
    for (const image of images) writeFileSync(join(docsBench, image.name), image.svg);
    writeFileSync(markdown, renderMarkdown(results));
    log('docs/benchmarks.md and docs/bench/ rewritten');
  } else if (values.write && !values.quick) {
    // The scenarios that ran replace their sections and their rows of the goals; the sweep also its chart.
    if (selected.includes(Scenario.sweep)) for (const image of images) writeFileSync(join(repoRoot, 'docs', 'bench', image.name), image.svg);
    writeFileSync(markdown, updateMarkdown(readFileSync(markdown, 'utf8'), results, selected as Scenario[]));
    log(`docs/benchmarks.md: the sections and goals of ${selected.join(', ')} rewritten`);
  } else {
    log('docs/ left alone (--write rewrites it: all of it after a full run, the sections of the scenarios that ran otherwise)');
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
