/**
 * The cluster's figures over time (PROTOCOL §7): a point per metric every second, rolled up into
 * 10 s and 1 min points (each the mean of the 1 s points of its span, so a coarser point always
 * equals the aggregate of the raw ones), each tier pruned to its retention. One node writes: the
 * monitoring service's leader.
 */
import { MonitorLimits, MonitorMetric, type ClusterStats } from '@switchboard/protocol';
import type { MonitoringRepository } from '../../store/monitoring.js';

export const HistoryTiers = [
  { tier: 0, stepMs: 1000, keepMs: 3_600_000 },
  { tier: 1, stepMs: 10_000, keepMs: 86_400_000 },
  { tier: 2, stepMs: 60_000, keepMs: 30 * 86_400_000 },
] as const;

/** A span is rolled up this long after it ends, so its last 1 s point has been written. */
const ROLL_UP_DELAY_MS = 2000;
const METRICS = MonitorMetric.options;

export class History {
  /** Per tier above 0: the end of the last span rolled up by this node. */
  private readonly rolledUntil = new Map<number, number>();

  constructor(private readonly repo: MonitoringRepository) {}

  /** Stores the cluster's figures at `at` and rolls up the spans that ended. */
  async record(stats: ClusterStats, at: number): Promise<void> {
    const t = Math.floor(at / 1000) * 1000;
    await this.repo.insertPoints(
      0,
      METRICS.map((metric) => ({ metric, t, value: stats[metric] })),
    );
    for (const { tier, stepMs } of HistoryTiers.slice(1)) {
      const until = Math.floor((at - ROLL_UP_DELAY_MS) / stepMs) * stepMs;
      // A node that just became the writer catches up on the raw points still kept.
      const from = this.rolledUntil.get(tier) ?? until - HistoryTiers[0].keepMs;
      if (until <= from) continue;
      await this.repo.rollUp(tier, stepMs, from, until);
      this.rolledUntil.set(tier, until);
    }
  }

  /** Drops every tier's points past its retention. */
  async prune(now: number): Promise<void> {
    for (const { tier, keepMs } of HistoryTiers) await this.repo.prunePoints(tier, now - keepMs);
  }

  /**
   * `metric` over [from, to]: from the finest tier that still holds `from`, with a step widened
   * (a multiple of the tier's) so that at most MonitorLimits.historyPointsMax points come back.
   */
  async query(metric: MonitorMetric, from: number, to: number, now: number): Promise<{ stepMs: number; points: [number, number][] }> {
    const tier = HistoryTiers.find((t) => from >= now - t.keepMs) ?? HistoryTiers[2];
    const spans = Math.ceil((to - from + 1) / tier.stepMs);
    const stepMs = tier.stepMs * Math.max(1, Math.ceil(spans / MonitorLimits.historyPointsMax));
    const points = await this.repo.series(tier.tier, metric, from, to, stepMs, MonitorLimits.historyPointsMax + 1);
    return { stepMs, points: points.slice(0, MonitorLimits.historyPointsMax) };
  }

  /** Forgets what it rolled up (another node writes now). */
  reset(): void {
    this.rolledUntil.clear();
  }
}
