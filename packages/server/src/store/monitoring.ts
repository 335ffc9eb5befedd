/**
 * Monitoring's durable state (PROTOCOL §7): the history points of the cluster's figures in three
 * tiers, the alert rules, the alerts that fired, and the error groups. Every query is bounded: a
 * history answer by its point limit, the tables by their retention (`prune…`).
 */
import { sql, type Kysely } from 'kysely';
import type { Dialect } from './db.js';
import type { AlertRow, AlertRuleRow, DB, ErrorGroupRow } from './schema.js';

export interface Point {
  metric: string;
  t: number;
  value: number;
}

export class MonitoringRepository {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly dialect: Dialect,
  ) {}

  /** Stores points of `tier`; a point already stored (same tier, metric and time) is kept. */
  async insertPoints(tier: number, points: readonly Point[]): Promise<void> {
    if (points.length === 0) return;
    await this.db
      .insertInto('monitor_points')
      .values(points.map((p) => ({ tier, ...p })))
      .onConflict((oc) => oc.columns(['tier', 'metric', 't']).doNothing())
      .execute();
  }

  /**
   * Stores in tier `to` the mean of the tier-0 points of every complete `stepMs` span in
   * [from, until), per metric; spans already stored are kept.
   */
  async rollUp(to: number, stepMs: number, from: number, until: number): Promise<void> {
    const step = sql.lit(Math.trunc(stepMs));
    const span = sql<number>`(t / ${step}) * ${step}`;
    await this.db
      .insertInto('monitor_points')
      .columns(['tier', 'metric', 't', 'value'])
      .expression(
        this.db
          .selectFrom('monitor_points')
          .select([sql.lit(to).as('tier'), 'metric', span.as('t'), (eb) => eb.fn.avg<number>('value').as('value')])
          .where('tier', '=', 0)
          .where('t', '>=', from)
          .where('t', '<', until)
          .groupBy(['metric', sql`t / ${step}`]),
      )
      .onConflict((oc) => oc.columns(['tier', 'metric', 't']).doNothing())
      .execute();
  }

  /** The newest point time of `tier`, if any. */
  async latest(tier: number): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('monitor_points')
      .select((eb) => eb.fn.max('t').as('t'))
      .where('tier', '=', tier)
      .executeTakeFirst();
    return row?.t === null || row?.t === undefined ? undefined : Number(row.t);
  }

  /**
   * Points of `metric` in `tier` within [from, to], averaged over spans of `stepMs` (a multiple of
   * the tier's own step), oldest first, at most `limit`.
   */
  async series(tier: number, metric: string, from: number, to: number, stepMs: number, limit: number): Promise<[number, number][]> {
    const step = sql.lit(Math.trunc(stepMs));
    const span = sql<number>`(t / ${step}) * ${step}`;
    const rows = await this.db
      .selectFrom('monitor_points')
      .select([span.as('t'), (eb) => eb.fn.avg<number | string>('value').as('value')])
      .where('tier', '=', tier)
      .where('metric', '=', metric)
      .where('t', '>=', from)
      .where('t', '<=', to)
      .groupBy(sql`t / ${step}`)
      .orderBy(sql`t / ${step}`)
      .limit(limit)
      .execute();
    // PostgreSQL's avg is numeric, which pg hands over as a string.
    return rows.map((r) => [Number(r.t), Number(r.value)]);
  }

  /** Drops the points of `tier` older than `before`. */
  async prunePoints(tier: number, before: number): Promise<void> {
    await this.db.deleteFrom('monitor_points').where('tier', '=', tier).where('t', '<', before).execute();
  }

  rules(): Promise<AlertRuleRow[]> {
    return this.db.selectFrom('alert_rules').selectAll().orderBy('created_at').orderBy('id').execute();
  }

  async ruleCount(): Promise<number> {
    const row = await this.db.selectFrom('alert_rules').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async insertRule(rule: AlertRuleRow): Promise<void> {
    await this.db.insertInto('alert_rules').values(rule).execute();
  }

  /** Replaces rule `rule.id` (keeping its creation time); false when there is none. */
  async replaceRule(rule: Omit<AlertRuleRow, 'created_at'>): Promise<AlertRuleRow | undefined> {
    const { id, ...fields } = rule;
    return this.db.updateTable('alert_rules').set(fields).where('id', '=', id).returningAll().executeTakeFirst();
  }

  async deleteRule(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('alert_rules').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  activeAlerts(): Promise<AlertRow[]> {
    return this.db.selectFrom('alerts').selectAll().where('resolved_at', 'is', null).orderBy('started_at').execute();
  }

  async insertAlert(alert: AlertRow): Promise<void> {
    await this.db.insertInto('alerts').values(alert).execute();
  }

  async resolveAlert(id: string, at: number): Promise<void> {
    await this.db.updateTable('alerts').set({ resolved_at: at }).where('id', '=', id).execute();
  }

  /** Drops resolved alerts that started before `before`. */
  async pruneAlerts(before: number): Promise<void> {
    await this.db.deleteFrom('alerts').where('resolved_at', 'is not', null).where('started_at', '<', before).execute();
  }

  /** Adds one node's error counts since its previous sample into their groups. */
  async addErrors(groups: readonly ErrorGroupRow[]): Promise<void> {
    if (groups.length === 0) return;
    const greatest = this.dialect === 'postgres' ? 'greatest' : 'max';
    const least = this.dialect === 'postgres' ? 'least' : 'min';
    await this.db
      .insertInto('error_groups')
      .values([...groups])
      .onConflict((oc) =>
        oc.column('fingerprint').doUpdateSet({
          count: sql`error_groups.count + excluded.count`,
          first_seen_at: sql`${sql.raw(least)}(error_groups.first_seen_at, excluded.first_seen_at)`,
          last_seen_at: sql`${sql.raw(greatest)}(error_groups.last_seen_at, excluded.last_seen_at)`,
          message: sql`excluded.message`,
          node_id: sql`excluded.node_id`,
        }),
      )
      .execute();
  }

  errorGroups(limit: number): Promise<ErrorGroupRow[]> {
    return this.db.selectFrom('error_groups').selectAll().orderBy('last_seen_at', 'desc').orderBy('fingerprint').limit(limit).execute();
  }

  /** Keeps the error groups seen since `before`, and of those the `keep` most recent. */
  async pruneErrorGroups(before: number, keep: number): Promise<void> {
    await this.db.deleteFrom('error_groups').where('last_seen_at', '<', before).execute();
    const cutoff = await this.db
      .selectFrom('error_groups')
      .select('last_seen_at')
      .orderBy('last_seen_at', 'desc')
      .offset(keep)
      .limit(1)
      .executeTakeFirst();
    if (cutoff) await this.db.deleteFrom('error_groups').where('last_seen_at', '<=', cutoff.last_seen_at).execute();
  }
}
