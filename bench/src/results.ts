/** The shape of a bench run's results (the JSON document) and the goals they are held against. */
import type { FanoutResult, FanoutSize } from './fanout.js';
import type { IdleSize, IdleSummary } from './idle.js';
import type { MultinodeResult, MultinodeSize } from './multinode.js';

export const Scenario = {
  fanout: 'fanout',
  idle: 'idle',
  compression: 'compression',
  multinode: 'multinode',
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
  result: FanoutResult;
}

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  quick: boolean;
  machine: Machine;
  sizes: { fanout: FanoutSize; idle: IdleSize; compression: FanoutSize; multinode: MultinodeSize };
  fanout?: {
    switchboard: FanoutResult;
    baseline: FanoutResult;
    /** Switchboard ÷ baseline. */
    ratios: { deliveriesPerSecond: number; p50: number; p99: number; serverPeakRss: number; serverCpu: number };
  };
  idle?: {
    switchboard: IdleSummary;
    baseline: IdleSummary;
    /** Switchboard ÷ baseline, mean memory per idle connection. */
    ratio: number;
  };
  compression?: { variants: CompressionVariant[] };
  multinode?: MultinodeResult;
  goals: Goal[];
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : Number((a / b).toFixed(3)));

export function fanoutRatios(switchboard: FanoutResult, baseline: FanoutResult): NonNullable<BenchResults['fanout']>['ratios'] {
  return {
    deliveriesPerSecond: ratio(switchboard.deliveriesPerSecond, baseline.deliveriesPerSecond),
    p50: ratio(switchboard.latencyMs.p50, baseline.latencyMs.p50),
    p99: ratio(switchboard.latencyMs.p99, baseline.latencyMs.p99),
    serverPeakRss: ratio(switchboard.server.rssPeakMb, baseline.server.rssPeakMb),
    serverCpu: ratio(switchboard.server.cpuSeconds, baseline.server.cpuSeconds),
  };
}

export function idleRatio(switchboard: IdleSummary, baseline: IdleSummary): number {
  return ratio(switchboard.perConnectionKb, baseline.perConnectionKb);
}

/** The targets the issue sets (reported, not asserted). */
export function evaluateGoals(results: BenchResults): Goal[] {
  const goals: Goal[] = [];
  if (results.fanout) {
    const { switchboard: sb, ratios } = results.fanout;
    goals.push(
      {
        name: 'delivered msg/s vs baseline',
        target: '≥ 0.9×',
        value: `${ratios.deliveriesPerSecond}×`,
        met: ratios.deliveriesPerSecond >= 0.9,
      },
      { name: 'p99 latency vs baseline', target: '≤ 1.5×', value: `${ratios.p99}×`, met: ratios.p99 <= 1.5 },
      {
        name: 'lost / duplicated deliveries (Switchboard)',
        target: '0 / 0',
        value: `${sb.lost} / ${sb.duplicates}`,
        met: sb.lost === 0 && sb.duplicates === 0,
      },
      {
        name: 'receivers with gap-free seqs (Switchboard)',
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
  if (results.idle) {
    goals.push({
      name: 'RSS per idle connection vs baseline',
      target: '≤ 1.3×',
      value: `${results.idle.ratio}×`,
      met: results.idle.ratio <= 1.3,
    });
  }
  return goals;
}
