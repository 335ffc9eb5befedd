/**
 * The latency–load curve: the one-room fan-out at several offered rates (senders × rate), each
 * point measured on the bare Socket.IO baseline and on Switchboard alternately (A/B, A/B, …), a
 * fresh server process each time, so drift on the shared machine hits both alike and the repeated
 * rounds at the headline point show how much of a difference is noise.
 */
import { createRoom, type Accounts } from './accounts.js';
import { runFanout, type FanoutSize, type LoadResult, type LoadTiming } from './fanout.js';
import { ratio } from './results.js';
import { withBaseline, withSwitchboard } from './servers.js';

export interface SweepSize extends LoadTiming {
  clients: number;
  senders: number;
  /** Messages per second per sender at each point; the point offers senders × rate msg/s. */
  rates: number[];
  /** The rate of the headline point (the shape), measured `headlineRounds` times. */
  headlineRate: number;
  headlineRounds: number;
  /** Rounds at every other point. */
  rounds: number;
}

/** One server at one point, over its rounds: means of rates and latencies, sums of losses. */
export interface SweepSummary {
  deliveriesPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  lost: number;
  duplicates: number;
  /** Switchboard: the fewest gap-free receivers of any round; null for the baseline (no seqs). */
  gapFreeReceivers: number | null;
  clients: number;
}

export interface SweepPoint {
  /** Messages per second offered, all senders together. */
  offered: number;
  /** Per sender. */
  rate: number;
  headline: boolean;
  rounds: Array<{ baseline: LoadResult; switchboard: LoadResult }>;
  baseline: SweepSummary;
  switchboard: SweepSummary;
  /** Switchboard ÷ baseline, of the means. */
  ratios: { deliveriesPerSecond: number; p50: number; p99: number; max: number };
}

export interface SweepResult {
  points: SweepPoint[];
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

function summarize(results: LoadResult[]): SweepSummary {
  const seqs = results.map((r) => r.seq);
  return {
    deliveriesPerSecond: Math.round(mean(results.map((r) => r.deliveriesPerSecond))),
    p50: Number(mean(results.map((r) => r.latencyMs.p50)).toFixed(3)),
    p99: Number(mean(results.map((r) => r.latencyMs.p99)).toFixed(3)),
    max: Number(mean(results.map((r) => r.latencyMs.max)).toFixed(3)),
    lost: results.reduce((sum, r) => sum + r.lost, 0),
    duplicates: results.reduce((sum, r) => sum + r.duplicates, 0),
    gapFreeReceivers: seqs.every((s) => s !== null) ? Math.min(...seqs.map((s) => s.gapFreeReceivers)) : null,
    clients: results[0]?.clients ?? 0,
  };
}

export async function runSweep(accounts: Accounts, size: SweepSize, log: (line: string) => void): Promise<SweepResult> {
  const points: SweepPoint[] = [];
  for (const rate of size.rates) {
    const headline = rate === size.headlineRate;
    const fanout: FanoutSize = { ...size, rate };
    const offered = size.senders * rate;
    const rounds: SweepPoint['rounds'] = [];
    const roundCount = headline ? size.headlineRounds : size.rounds;
    for (let round = 1; round <= roundCount; round++) {
      log(`— sweep: ${offered} msg/s offered${headline ? ' (headline)' : ''}, round ${round} of ${roundCount} —`);
      const baseline = await withBaseline((server) => runFanout(server, 'baseline', 'bench', [], fanout, log));
      log(summary('baseline', baseline));
      const switchboard = await withSwitchboard(accounts.dataDir, {}, async (server) => {
        const roomId = await createRoom(server.url, accounts.owner, 'bench');
        return runFanout(server, 'switchboard', roomId, accounts.tokens, fanout, log);
      });
      log(summary('switchboard', switchboard));
      rounds.push({ baseline, switchboard });
    }
    const sb = summarize(rounds.map((r) => r.switchboard));
    const base = summarize(rounds.map((r) => r.baseline));
    points.push({
      offered,
      rate,
      headline,
      rounds,
      baseline: base,
      switchboard: sb,
      ratios: {
        deliveriesPerSecond: ratio(sb.deliveriesPerSecond, base.deliveriesPerSecond),
        p50: ratio(sb.p50, base.p50),
        p99: ratio(sb.p99, base.p99),
        max: ratio(sb.max, base.max),
      },
    });
  }
  return { points };
}

export function summary(name: string, r: LoadResult): string {
  return (
    `${name}: ${r.deliveriesPerSecond.toLocaleString('en-US')} deliveries/s, p50 ${r.latencyMs.p50} ms, ` +
    `p99 ${r.latencyMs.p99} ms, lost ${r.lost}, duplicated ${r.duplicates}, server peak RSS ${r.server.rssPeakMb} MB`
  );
}
