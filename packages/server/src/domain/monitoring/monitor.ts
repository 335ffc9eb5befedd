/**
 * The monitoring service (PROTOCOL §7). Once a second every node takes its own sample, tells the
 * other nodes (`monitor.report`, carried by the transport), and publishes the cluster snapshot it
 * now sees (`monitor.snapshot`) for its own admin sockets: every node holds every node's latest
 * report, so any node answers for the whole cluster.
 *
 * Each node stores its own error groups. What must happen once for the cluster — the history
 * points and the alert rules — is done by the leader: the up node with the smallest id, which
 * every node works out alike from the same reports; when it dies, the next one takes over within
 * the 10 s a node takes to count as down.
 */
import { hostname } from 'node:os';
import type { Alert, AlertRule, AlertRuleSetInput, ClusterStats, ErrorGroup, MonitorMetric } from '@switchboard/protocol';
import { MonitorLimits } from '@switchboard/protocol';
import type { Logger } from 'pino';
import type { MonitoringRepository } from '../../store/monitoring.js';
import type { EventBus } from '../bus.js';
import type { NotificationService } from '../notifications.js';
import { Alerts } from './alerts.js';
import { ClusterView, type NodeReport } from './cluster-view.js';
import { History } from './history.js';
import type { ErrorGroupDelta, NodeStatsSource } from './node-sample.js';
import type { WebhookSender } from '../webhooks/post.js';

export const MonitorDefaults = {
  intervalMs: 1000,
  /** Retention of error groups not seen again, and how many groups are kept at most. */
  errorGroupsKeepMs: 30 * 86_400_000,
  errorGroupsMax: 5000,
  /** Resolved alerts kept this long. */
  alertsKeepMs: 30 * 86_400_000,
  /** Error deltas waiting for the store, beyond which the oldest are dropped (a store that is down). */
  pendingErrorsMax: 1000,
} as const;

/** A node's id: the host and process, and a random part that tells apart servers of one process. */
export const newNodeId = (): string => `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 6)}`;

export class MonitorService {
  readonly startedAt = Date.now();
  private readonly view = new ClusterView();
  private readonly points: History;
  private readonly alerts: Alerts;
  private timer: NodeJS.Timeout | undefined;
  private leader = false;
  private ticks = 0;
  /** The store work of the previous tick; a tick whose predecessor has not finished skips its own. */
  private storing: Promise<void> | undefined;
  private pendingErrors: ErrorGroupDelta[] = [];

  constructor(
    readonly nodeId: string,
    private readonly source: NodeStatsSource,
    private readonly repo: MonitoringRepository,
    private readonly bus: EventBus,
    notifications: NotificationService,
    private readonly options: { log: Logger; webhook?: WebhookSender | undefined; intervalMs?: number },
  ) {
    this.points = new History(repo);
    this.alerts = new Alerts(repo, {
      firing: (alert) => {
        bus.publish('alert.firing', alert);
        void this.announce(notifications, alert, `Alert: ${alert.metric} is ${formatValue(alert.value)}`);
      },
      resolved: (alert) => {
        bus.publish('alert.resolved', alert);
        void this.announce(notifications, alert, `Resolved: ${alert.metric} is back within ${formatValue(alert.threshold)}`);
      },
    });
  }

  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.options.intervalMs ?? MonitorDefaults.intervalMs);
    this.timer.unref();
  }

  /** Another node's report (from the transport). */
  receive(report: NodeReport): void {
    if (report.nodeId !== this.nodeId) this.view.receive(report, Date.now());
  }

  /** Another node shut down cleanly: it is neither up nor down. */
  left(nodeId: string): void {
    this.view.forget(nodeId);
  }

  /** The latest cluster snapshot, for a socket that just connected. */
  snapshot() {
    return this.view.snapshot(Date.now());
  }

  async history({ metric, from, to }: { metric: MonitorMetric; from: number; to: number }) {
    const { stepMs, points } = await this.points.query(metric, from, to, Date.now());
    return { metric, stepMs, points };
  }

  rules() {
    return this.alerts.list();
  }

  async setRule(input: AlertRuleSetInput): Promise<{ rule: AlertRule }> {
    return { rule: await this.alerts.set(input) };
  }

  async deleteRule(id: string): Promise<object> {
    await this.alerts.delete(id);
    return {};
  }

  async errors(limit: number = MonitorLimits.errorsListDefault): Promise<{ groups: ErrorGroup[] }> {
    const rows = await this.repo.errorGroups(limit);
    return {
      groups: rows.map((r) => ({
        fingerprint: r.fingerprint,
        code: r.code,
        event: r.event,
        message: r.message,
        count: r.count,
        firstSeenAt: r.first_seen_at,
        lastSeenAt: r.last_seen_at,
        nodeId: r.node_id,
      })),
    };
  }

  /** Stops sampling, stores what is pending and tells the other nodes this one is gone. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.storing;
    await this.store(false).catch((err: unknown) => this.options.log.warn({ err }, 'monitoring data not all stored before shutdown'));
    this.bus.publish('monitor.left', { nodeId: this.nodeId });
  }

  private tick(): void {
    const now = Date.now();
    const sample = this.source.sample();
    const report: NodeReport = { nodeId: this.nodeId, startedAt: this.startedAt, sample };
    this.view.receive(report, now);
    this.bus.publish('monitor.report', report);
    const snapshot = this.view.snapshot(now);
    this.bus.publish('monitor.snapshot', snapshot);

    this.pendingErrors.push(...sample.errors);
    if (this.pendingErrors.length > MonitorDefaults.pendingErrorsMax) {
      this.pendingErrors = this.pendingErrors.slice(-MonitorDefaults.pendingErrorsMax);
    }
    const leader = this.view.upNodeIds(now)[0] === this.nodeId;
    if (leader !== this.leader) {
      this.leader = leader;
      this.points.reset();
      this.alerts.reset();
      this.options.log.info({ nodeId: this.nodeId, leader }, leader ? 'this node now keeps the monitoring history and alerts' : 'another node keeps the monitoring history and alerts');
    }
    this.ticks++;
    if (this.storing) return; // the store is slow: this second's history point is skipped
    const work = this.store(leader, snapshot.cluster, now).catch((err: unknown) =>
      this.options.log.warn({ err }, 'monitoring data not stored'),
    );
    this.storing = work.finally(() => {
      this.storing = undefined;
    });
  }

  private async store(leader: boolean, stats?: ClusterStats, now = Date.now()): Promise<void> {
    const errors = this.pendingErrors;
    this.pendingErrors = [];
    await this.repo.addErrors(
      errors.map((e) => ({
        fingerprint: e.fingerprint,
        code: e.code,
        event: e.event,
        message: e.message,
        count: e.count,
        first_seen_at: e.firstSeenAt,
        last_seen_at: e.lastSeenAt,
        node_id: this.nodeId,
      })),
    );
    if (!leader || !stats) return;
    await this.points.record(stats, now);
    await this.alerts.evaluate(stats, now);
    // Once a minute, and on the first tick as leader: keep every table within its retention.
    if (this.ticks % 60 === 1) {
      await this.points.prune(now);
      await this.repo.pruneErrorGroups(now - MonitorDefaults.errorGroupsKeepMs, MonitorDefaults.errorGroupsMax);
      await this.repo.pruneAlerts(now - MonitorDefaults.alertsKeepMs);
    }
  }

  /** Tells every admin (a notification) and the webhook, if any, about an alert that fired or resolved. */
  private async announce(notifications: NotificationService, alert: Alert, title: string): Promise<void> {
    const body = `${alert.severity}: ${alert.metric} ${alert.resolvedAt === null ? 'crossed' : 'was past'} ${formatValue(alert.threshold)}`;
    await Promise.all([
      notifications.notifyAdmins({ kind: 'alert', title, body, data: { ...alert } }).catch((err: unknown) =>
        this.options.log.warn({ err }, 'alert notification not stored'),
      ),
      this.options.webhook?.post(alert),
    ]);
  }
}

function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}
