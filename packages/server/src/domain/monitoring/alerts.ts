/**
 * Alert rules and alerts (PROTOCOL §7). A rule fires once its condition has held on the cluster's
 * figures for `forSeconds`, and resolves when it stops holding, or when the rule is disabled or
 * deleted. The monitoring service's leader evaluates the rules once a second; rules and alerts are
 * stored, so a restart or a new leader carries on with the alerts still active.
 */
import { MonitorLimits, type Alert, type AlertRule, type AlertRuleSetInput, type ClusterStats } from '@switchboard/protocol';
import type { MonitoringRepository } from '../../store/monitoring.js';
import type { AlertRow, AlertRuleRow } from '../../store/schema.js';
import { invalid, notFound } from '../errors.js';
import { newId } from '../ids.js';

export const toRule = (row: AlertRuleRow): AlertRule => ({
  id: row.id,
  metric: row.metric as AlertRule['metric'],
  op: row.op,
  threshold: row.threshold,
  forSeconds: row.for_seconds,
  severity: row.severity,
  enabled: row.enabled === 1,
});

export const toAlert = (row: AlertRow): Alert => ({
  id: row.id,
  ruleId: row.rule_id,
  metric: row.metric as Alert['metric'],
  value: row.value,
  threshold: row.threshold,
  severity: row.severity,
  startedAt: row.started_at,
  resolvedAt: row.resolved_at,
});

export interface AlertListener {
  firing(alert: Alert): void;
  resolved(alert: Alert): void;
}

type RuleInput = Required<Omit<AlertRuleSetInput, 'id'>> & { id?: string | undefined };

export class Alerts {
  /** Per rule: since when its condition holds (evaluator state of the leader). */
  private readonly holding = new Map<string, number>();
  /** Per rule: its active alert, as the leader knows it; loaded from the store on taking over. */
  private active: Map<string, Alert> | undefined;

  constructor(
    private readonly repo: MonitoringRepository,
    private readonly listener: AlertListener,
  ) {}

  async list(): Promise<{ rules: AlertRule[]; active: Alert[] }> {
    const [rules, active] = await Promise.all([this.repo.rules(), this.repo.activeAlerts()]);
    return { rules: rules.map(toRule), active: active.map(toAlert) };
  }

  /** Creates a rule, or replaces rule `input.id` (NOT_FOUND when there is none). */
  async set(input: RuleInput): Promise<AlertRule> {
    const fields = {
      metric: input.metric,
      op: input.op,
      threshold: input.threshold,
      for_seconds: input.forSeconds,
      severity: input.severity,
      enabled: input.enabled ? 1 : 0,
    };
    if (input.id !== undefined) {
      const row = await this.repo.replaceRule({ id: input.id, ...fields });
      if (!row) throw notFound('alert rule');
      return toRule(row);
    }
    if ((await this.repo.ruleCount()) >= MonitorLimits.alertRulesMax) {
      throw invalid(`at most ${MonitorLimits.alertRulesMax} alert rules`);
    }
    const row: AlertRuleRow = { id: newId(), ...fields, created_at: Date.now() };
    await this.repo.insertRule(row);
    return toRule(row);
  }

  /** Deletes a rule (NOT_FOUND when there is none); its active alert resolves at the next evaluation. */
  async delete(id: string): Promise<void> {
    if (!(await this.repo.deleteRule(id))) throw notFound('alert rule');
  }

  /** Evaluates every rule on the cluster's figures at `at` (leader only). */
  async evaluate(stats: ClusterStats, at: number): Promise<void> {
    this.active ??= new Map((await this.repo.activeAlerts()).map((row) => [row.rule_id, toAlert(row)]));
    const active = this.active;
    const rules = new Map((await this.repo.rules()).map((row) => [row.id, toRule(row)]));
    for (const [ruleId, alert] of active) {
      if (!rules.get(ruleId)?.enabled) await this.resolve(alert, at);
    }
    for (const rule of rules.values()) {
      if (!rule.enabled) {
        this.holding.delete(rule.id);
        continue;
      }
      const value = stats[rule.metric];
      const holds = rule.op === '>' ? value > rule.threshold : value < rule.threshold;
      const current = active.get(rule.id);
      if (!holds) {
        this.holding.delete(rule.id);
        if (current) await this.resolve(current, at);
        continue;
      }
      const since = this.holding.get(rule.id) ?? at;
      this.holding.set(rule.id, since);
      if (current || at - since < rule.forSeconds * 1000) continue;
      const alert: Alert = {
        id: newId(),
        ruleId: rule.id,
        metric: rule.metric,
        value,
        threshold: rule.threshold,
        severity: rule.severity,
        startedAt: at,
        resolvedAt: null,
      };
      await this.repo.insertAlert({
        id: alert.id,
        rule_id: alert.ruleId,
        metric: alert.metric,
        value: alert.value,
        threshold: alert.threshold,
        severity: alert.severity,
        started_at: alert.startedAt,
        resolved_at: null,
      });
      active.set(rule.id, alert);
      this.listener.firing(alert);
    }
  }

  /** Forgets the evaluator's state (another node evaluates now). */
  reset(): void {
    this.holding.clear();
    this.active = undefined;
  }

  private async resolve(alert: Alert, at: number): Promise<void> {
    await this.repo.resolveAlert(alert.id, at);
    this.active?.delete(alert.ruleId);
    this.listener.resolved({ ...alert, resolvedAt: at });
  }
}
