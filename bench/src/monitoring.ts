/**
 * What monitoring costs (issue: "under 3 % deliveries, p99 within noise"): the one-room fan-out
 * against Switchboard with `MONITORING=off` and with it on while an operator watches — an admin
 * socket on `/monitor` receiving the snapshot every second and a Prometheus scrape of `/metrics`
 * every second — alternated off/on/off/on, so drift in the machine falls on both alike.
 */
import { io } from 'socket.io-client';
import { createRoom, type Accounts } from './accounts.js';
import { runFanout, type FanoutSize, type LoadResult } from './fanout.js';
import type { ServerProcess } from './procs.js';
import { withSwitchboard } from './servers.js';

export interface MonitoringSize extends FanoutSize {
  /** Off/on pairs. */
  rounds: number;
}

export interface MonitoringRound {
  monitoring: 'off' | 'on';
  result: LoadResult;
  /** With monitoring on: snapshots the admin socket received and scrapes answered during the load. */
  snapshots: number;
  scrapes: number;
}

export interface MonitoringResult {
  rounds: MonitoringRound[];
  /** Means of the rounds on ÷ means of the rounds off. */
  ratios: { deliveriesPerSecond: number; p50: number; p99: number; cpuSeconds: number };
  /** The largest ÷ smallest p99 of the rounds off: how far p99 moves with nothing changed. */
  p99NoiseOff: number;
}

/** An operator's view of the server while the load runs: the live snapshot and a scrape a second. */
function watch(server: ServerProcess, adminToken: string) {
  let snapshots = 0;
  let scrapes = 0;
  const socket = io(`${server.url}/monitor`, { auth: { token: adminToken }, transports: ['websocket'], reconnection: false });
  socket.on('monitor:snapshot', () => snapshots++);
  const timer = setInterval(() => {
    void fetch(`${server.url}/metrics`)
      .then(async (res) => {
        await res.text();
        if (res.ok) scrapes++;
      })
      .catch(() => undefined);
  }, 1000);
  return {
    stop() {
      clearInterval(timer);
      socket.close();
      return { snapshots, scrapes };
    },
  };
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
const ratio = (a: number, b: number) => (b === 0 ? 0 : Number((a / b).toFixed(3)));

export async function runMonitoring(accounts: Accounts, size: MonitoringSize, log: (line: string) => void): Promise<MonitoringResult> {
  const rounds: MonitoringRound[] = [];
  for (let round = 1; round <= size.rounds; round++) {
    for (const monitoring of ['off', 'on'] as const) {
      const measured = await withSwitchboard(accounts.dataDir, { MONITORING: monitoring }, async (server) => {
        const roomId = await createRoom(server.url, accounts.owner, 'bench');
        let watcher: ReturnType<typeof watch> | undefined;
        const result = await runFanout(server, 'switchboard', roomId, accounts.tokens, size, log, {
          probe: {
            before: () => {
              if (monitoring === 'on') watcher = watch(server, accounts.owner);
              return Promise.resolve();
            },
            after: () => Promise.resolve(),
          },
        });
        const seen = watcher?.stop() ?? { snapshots: 0, scrapes: 0 };
        return { monitoring, result, ...seen };
      });
      log(
        `monitoring ${monitoring}, round ${round}: ${Math.round(measured.result.deliveriesPerSecond)} deliveries/s, ` +
          `p99 ${measured.result.latencyMs.p99} ms` +
          (monitoring === 'on' ? `, ${measured.snapshots} snapshots and ${measured.scrapes} scrapes seen` : ''),
      );
      rounds.push(measured);
    }
  }
  const of = (m: 'off' | 'on') => rounds.filter((r) => r.monitoring === m).map((r) => r.result);
  const off = of('off');
  const on = of('on');
  const m = (results: LoadResult[], pick: (r: LoadResult) => number) => mean(results.map(pick));
  const offP99 = off.map((r) => r.latencyMs.p99);
  return {
    rounds,
    ratios: {
      deliveriesPerSecond: ratio(m(on, (r) => r.deliveriesPerSecond), m(off, (r) => r.deliveriesPerSecond)),
      p50: ratio(m(on, (r) => r.latencyMs.p50), m(off, (r) => r.latencyMs.p50)),
      p99: ratio(m(on, (r) => r.latencyMs.p99), m(off, (r) => r.latencyMs.p99)),
      cpuSeconds: ratio(m(on, (r) => r.server.cpuSeconds), m(off, (r) => r.server.cpuSeconds)),
    },
    p99NoiseOff: ratio(Math.max(...offP99), Math.min(...offP99)),
  };
}
