/** The shape of a bench run's results (the JSON document) and the goals they are held against. */
import type { CollabResult, CollabSize } from './collab.js';
import type { FanoutSize, LoadResult } from './fanout.js';
import type { GameBenchResult, GameSize } from './game.js';
import type { GatewayResult, GatewaySize } from './gateway.js';
import { sizeRatio } from './format.js';
import type { IdleSize, IdleSummary } from './idle.js';
import type { MonitoringResult, MonitoringSize } from './monitoring.js';
import type { MultinodeResult, MultinodeSize } from './multinode.js';
import type { RoomsResult, RoomsSize } from './rooms.js';
import type { SweepResult, SweepSize } from './sweep.js';

export const Scenario = {
  sweep: 'sweep',
  rooms: 'rooms',
  idle: 'idle',
  compression: 'compression',
  multinode: 'multinode',
  monitoring: 'monitoring',
  game: 'game',
  gateway: 'gateway',
  collab: 'collab',
} as const;
export type Scenario = (typeof Scenario)[keyof typeof Scenario];

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
}

export interface Goal {
  name: string;
  target: string;
  value: string;
  met: boolean;
}

export interface CompressionVariant {
  label: string;
  env: { WS_COMPRESSION: 'on' | 'off'; WS_COMPRESSION_THRESHOLD?: string };
  result: LoadResult;
}

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  quick: boolean;
  machine: Machine;
  sizes: {
    sweep: SweepSize;
    rooms: RoomsSize;
    idle: IdleSize;
    compression: FanoutSize;
    multinode: MultinodeSize;
    monitoring: MonitoringSize;
    game: GameSize;
    gateway: GatewaySize;
    collab: CollabSize;
  };
  sweep?: SweepResult;
  rooms?: RoomsResult;
  idle?: {
    switchboard: IdleSummary;
    baseline: IdleSummary;
    /** Switchboard ÷ baseline, mean memory per idle connection. */
    ratio: number;
  };
  compression?: { variants: CompressionVariant[] };
  multinode?: MultinodeResult;
  monitoring?: MonitoringResult;
  game?: GameBenchResult;
  gateway?: GatewayResult;
  collab?: CollabResult;
  goals: Goal[];
}

/** `a ÷ b` to three decimals; 0 when `b` is 0. */
export const ratio = (a: number, b: number) => (b === 0 ? 0 : Number((a / b).toFixed(3)));

export function idleRatio(switchboard: IdleSummary, baseline: IdleSummary): number {
  return ratio(switchboard.perConnectionKb, baseline.perConnectionKb);
}

/**
 * The targets the issue sets ("Done means"; reported, not asserted). The fan-out goals are held
 * at the sweep's headline point (500 receivers, 200 msg/s in the full run), on the means over its
 * rounds, and losses, duplicates and gaps over every round.
 */
export function evaluateGoals(results: BenchResults): Goal[] {
  const goals: Goal[] = [];
  const headline = results.sweep?.points.find((p) => p.headline);
  if (headline) {
    const { switchboard: sb, ratios } = headline;
    const shape = `${sb.clients} receivers, ${headline.offered} msg/s, ${headline.rounds.length} rounds`;
    goals.push(
      {
        name: `delivered msg/s vs baseline (${shape})`,
        target: '≥ 1.0×',
        value: `${ratios.deliveriesPerSecond}×`,
        met: ratios.deliveriesPerSecond >= 1,
      },
      { name: `p99 latency vs baseline (${shape})`, target: '≤ 1.0×', value: `${ratios.p99}×`, met: ratios.p99 <= 1 },
      {
        name: 'lost / duplicated deliveries (Switchboard, every round)',
        target: '0 / 0',
        value: `${sb.lost} / ${sb.duplicates}`,
        met: sb.lost === 0 && sb.duplicates === 0,
      },
      {
        name: 'receivers with gap-free seqs (Switchboard, worst round)',
        target: `${sb.clients} of ${sb.clients}`,
        value: `${sb.gapFreeReceivers ?? 0} of ${sb.clients}`,
        met: sb.gapFreeReceivers === sb.clients,
      },
    );
  }
  if (results.rooms) {
    const { switchboard: sb } = results.rooms;
    goals.push(
      {
        name: `lost / duplicated deliveries (${results.rooms.rooms} rooms)`,
        target: '0 / 0',
        value: `${sb.lost} / ${sb.duplicates}`,
        met: sb.lost === 0 && sb.duplicates === 0,
      },
      {
        name: `receivers with gap-free seqs (${results.rooms.rooms} rooms)`,
        target: `${sb.clients} of ${sb.clients}`,
        value: `${sb.seq?.gapFreeReceivers ?? 0} of ${sb.clients}`,
        met: sb.seq?.gapFreeReceivers === sb.clients,
      },
    );
  }
  if (results.multinode) {
    const { multi, nodes } = results.multinode;
    goals.push(
      {
        name: `lost / duplicated deliveries (${nodes} nodes)`,
        target: '0 / 0',
        value: `${multi.lost} / ${multi.duplicates}`,
        met: multi.lost === 0 && multi.duplicates === 0,
      },
      {
        name: `receivers with gap-free seqs (${nodes} nodes)`,
        target: `${multi.clients} of ${multi.clients}`,
        value: `${multi.seq?.gapFreeReceivers ?? 0} of ${multi.clients}`,
        met: multi.seq?.gapFreeReceivers === multi.clients,
      },
    );
  }
  if (results.monitoring) {
    const { ratios, p99NoiseOff } = results.monitoring;
    goals.push(
      {
        name: 'delivered msg/s, monitoring on (watched and scraped) vs off',
        target: '≥ 0.97×',
        value: `${ratios.deliveriesPerSecond}×`,
        met: ratios.deliveriesPerSecond >= 0.97,
      },
      {
        name: 'p99 latency, monitoring on vs off (within the spread of the runs with it off)',
        target: `≤ ${Math.max(1, p99NoiseOff)}×`,
        value: `${ratios.p99}×`,
        met: ratios.p99 <= Math.max(1, p99NoiseOff),
      },
    );
  }
  if (results.collab) {
    const { ratios, switchboard: sb } = results.collab;
    goals.push(
      { name: 'collab: update propagation p99 vs Hocuspocus', target: '≤ 1.0×', value: `${ratios.p99}×`, met: ratios.p99 <= 1 },
      { name: 'collab: memory per open document vs Hocuspocus', target: '≤ 1.0×', value: `${ratios.perOpenDoc}×`, met: ratios.perOpenDoc <= 1 },
      {
        name: 'collab: changes arrived at every other editor (Switchboard)',
        target: `${sb.propagation.expected}`,
        value: `${sb.propagation.received}`,
        met: sb.propagation.received === sb.propagation.expected,
      },
    );
  }
  if (results.idle) {
    goals.push({
      name: 'RSS per idle connection vs baseline',
      target: '≤ 1.0×',
      value: sizeRatio(results.idle.switchboard.perConnectionKb, results.idle.baseline.perConnectionKb, 3),
      met: results.idle.ratio <= 1,
    });
  }
  return goals;
}
