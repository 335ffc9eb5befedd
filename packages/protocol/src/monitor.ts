/**
 * Monitoring (PROTOCOL §7): the `/monitor` namespace's objects, request schemas and event maps.
 * Admins only; the stats, history, alert rules and error groups are the cluster's, whichever node
 * answers.
 */
import { z } from 'zod';
import type { Ack } from './errors.js';
import { Id, Timestamp } from './schemas.js';

/** The figures of one node, or of the whole cluster, at one moment (`monitor:snapshot`). */
export interface Stats {
  connections: number;
  usersOnline: number;
  /** Messages stored per second. */
  messagesInPerSec: number;
  /** `message:new` deliveries to clients per second. */
  deliveriesPerSec: number;
  /** Acknowledgement time over the last 10 s. */
  ackP50Ms: number;
  ackP99Ms: number;
  errorsPerSec: number;
  eventLoopLagMs: number;
  rssBytes: number;
  /** Percent of one core. */
  cpuPercent: number;
}
export const StatsKeys = [
  'connections',
  'usersOnline',
  'messagesInPerSec',
  'deliveriesPerSec',
  'ackP50Ms',
  'ackP99Ms',
  'errorsPerSec',
  'eventLoopLagMs',
  'rssBytes',
  'cpuPercent',
] as const satisfies readonly (keyof Stats)[];
export type StatsKey = (typeof StatsKeys)[number];

export interface ClusterStats extends Stats {
  nodesUp: number;
  /** Nodes silent for 10 s, kept for 10 minutes. */
  nodesDown: number;
}
/** A node that is up: it reported within the last 10 s. */
export interface NodeSnapshot extends Stats {
  nodeId: string;
  startedAt: number;
  /** Extension: when this node last reported (its own clock). */
  lastSeenAt: number;
}
/** Extension: a node silent for 10 s (counted in `nodesDown`), listed for 10 minutes with its last figures. */
export interface DownNode extends NodeSnapshot {
  /** When this node stopped reporting, as the answering node saw it. */
  downSince: number;
}
export interface MonitorSnapshot {
  at: number;
  cluster: ClusterStats;
  /** The nodes that are up, by nodeId; a node that dies leaves this list (and joins `downNodes`). */
  nodes: NodeSnapshot[];
  /** Extension: the nodes that are down, by nodeId. */
  downNodes: DownNode[];
}

/** What history and alert rules can follow: a `Stats` key, or the cluster's node counts. */
export const MonitorMetric = z.enum([...StatsKeys, 'nodesUp', 'nodesDown']);
export type MonitorMetric = z.infer<typeof MonitorMetric>;

export type AlertSeverity = 'info' | 'warning' | 'critical';
export interface AlertRule {
  id: string;
  metric: MonitorMetric;
  op: '>' | '<';
  threshold: number;
  forSeconds: number;
  severity: AlertSeverity;
  enabled: boolean;
}
export interface Alert {
  id: string;
  ruleId: string;
  metric: MonitorMetric;
  value: number;
  threshold: number;
  severity: AlertSeverity;
  startedAt: number;
  resolvedAt: number | null;
}
export interface ErrorGroup {
  fingerprint: string;
  code: string;
  event: string;
  message: string;
  count: number;
  firstSeenAt: number;
  lastSeenAt: number;
  /** The node that saw it last. */
  nodeId: string;
}

export const MonitorLimits = {
  /** `monitor:history`: the longest range one request may cover (the coarsest tier's retention). */
  historyRangeMaxMs: 30 * 24 * 3_600_000,
  /** `monitor:history`: the most points one answer holds; longer ranges get a wider step. */
  historyPointsMax: 4000,
  /** Alert rules in all. */
  alertRulesMax: 100,
  alertForSecondsMax: 86_400,
  errorsListDefault: 50,
  errorsListMax: 200,
} as const;

export const MonitorHistoryInput = z
  .object({ metric: MonitorMetric, from: Timestamp, to: Timestamp })
  .refine((r) => r.from <= r.to, { message: 'from must not be after to' })
  .refine((r) => r.to - r.from <= MonitorLimits.historyRangeMaxMs, { message: 'range longer than 30 days' });
export const AlertRulesInput = z.object({}).optional();
export const AlertRuleSetInput = z.object({
  id: Id.optional(),
  metric: MonitorMetric,
  op: z.enum(['>', '<']),
  threshold: z.number().finite(),
  forSeconds: z.number().int().min(0).max(MonitorLimits.alertForSecondsMax),
  severity: z.enum(['info', 'warning', 'critical']),
  enabled: z.boolean(),
});
export const AlertRuleDeleteInput = z.object({ id: Id });
export const ErrorsListInput = z
  .object({
    limit: z
      .number()
      .int()
      .min(1)
      .transform((n) => Math.min(n, MonitorLimits.errorsListMax))
      .optional(),
  })
  .optional();

export type MonitorHistoryInput = z.input<typeof MonitorHistoryInput>;
export type AlertRuleSetInput = z.input<typeof AlertRuleSetInput>;
export type AlertRuleDeleteInput = z.input<typeof AlertRuleDeleteInput>;
export type ErrorsListInput = z.input<typeof ErrorsListInput>;

/** `/monitor` requests (events.ts adds the ones every namespace shares). */
export interface MonitorRequests {
  'monitor:history': (
    payload: MonitorHistoryInput,
    ack: Ack<{ metric: MonitorMetric; stepMs: number; points: [number, number][] }>,
  ) => void;
  'alert:rules': (payload: Record<string, never>, ack: Ack<{ rules: AlertRule[]; active: Alert[] }>) => void;
  'alert:rule:set': (payload: AlertRuleSetInput, ack: Ack<{ rule: AlertRule }>) => void;
  'alert:rule:delete': (payload: AlertRuleDeleteInput, ack: Ack) => void;
  'errors:list': (payload: ErrorsListInput, ack: Ack<{ groups: ErrorGroup[] }>) => void;
}
/** `/monitor` events from the server. */
export interface MonitorEvents {
  'monitor:snapshot': (snapshot: MonitorSnapshot) => void;
  'alert:firing': (alert: Alert) => void;
  'alert:resolved': (alert: Alert) => void;
}
