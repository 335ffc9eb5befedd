/**
 * Alert rules: the list with each rule's condition, severity and on/off switch, a form to create or
 * edit one, and delete. The server validates; its answers (`INVALID_ARGUMENT` with what is wrong,
 * `NOT_FOUND` for a rule deleted meanwhile) are shown next to the form or the rule.
 */
import { ErrorCode, SwitchboardError, type AlertRule, type AlertRuleSetInput, type AlertSeverity, type MonitorMetric } from '@switchboard/client';
import { useId, useState, type FormEvent } from 'react';
import { describeError } from '../errors.js';
import { EditIcon, PlusIcon, TrashIcon } from '../ui/icons.js';
import { formatValue, METRIC_NAMES, METRICS } from './metrics.js';
import type { MonitorStore } from './monitor-store.js';

const SEVERITIES: AlertSeverity[] = ['info', 'warning', 'critical'];

function ruleError(err: unknown): string {
  if (err instanceof SwitchboardError && err.code === ErrorCode.NOT_FOUND) return 'This rule no longer exists: it was deleted meanwhile.';
  return describeError(err);
}

/** "Ack p99 > 500 ms for 30 s" */
function describeRule(rule: Pick<AlertRule, 'metric' | 'op' | 'threshold' | 'forSeconds'>): string {
  const lasting = rule.forSeconds > 0 ? ` for ${rule.forSeconds} s` : '';
  return `${METRICS[rule.metric].label} ${rule.op} ${formatValue(rule.metric, rule.threshold)}${lasting}`;
}

interface Draft {
  metric: MonitorMetric;
  op: '>' | '<';
  threshold: string;
  forSeconds: string;
  severity: AlertSeverity;
  enabled: boolean;
}

const blank: Draft = { metric: 'ackP99Ms', op: '>', threshold: '', forSeconds: '60', severity: 'warning', enabled: true };

/** A number field's text as sent: an empty field is no number, for the server to point out. */
const numberOf = (text: string) => (text.trim() === '' ? Number.NaN : Number(text));

function RuleForm({ store, rule, onDone }: { store: MonitorStore; rule: AlertRule | undefined; onDone: () => void }) {
  const [draft, setDraft] = useState<Draft>(
    rule ? { ...rule, threshold: String(rule.threshold), forSeconds: String(rule.forSeconds) } : blank,
  );
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const id = useId();
  const change = (patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const input: AlertRuleSetInput = {
      ...(rule ? { id: rule.id } : {}),
      metric: draft.metric,
      op: draft.op,
      threshold: numberOf(draft.threshold),
      forSeconds: numberOf(draft.forSeconds),
      severity: draft.severity,
      enabled: draft.enabled,
    };
    try {
      await store.saveRule(input);
      onDone();
    } catch (err) {
      setError(ruleError(err));
      setBusy(false);
    }
  };

  return (
    <form className="rule-form" onSubmit={(e) => void submit(e)} aria-label={rule ? 'Edit alert rule' : 'New alert rule'}>
      <label className="field" htmlFor={`${id}-metric`}>
        <span>Metric</span>
        <select id={`${id}-metric`} value={draft.metric} onChange={(e) => change({ metric: e.target.value as MonitorMetric })}>
          {METRIC_NAMES.map((m) => (
            <option key={m} value={m}>
              {METRICS[m].label}
            </option>
          ))}
        </select>
      </label>
      <label className="field" htmlFor={`${id}-op`}>
        <span>Condition</span>
        <select id={`${id}-op`} value={draft.op} onChange={(e) => change({ op: e.target.value as '>' | '<' })}>
          <option value=">">above</option>
          <option value="<">below</option>
        </select>
      </label>
      <label className="field" htmlFor={`${id}-threshold`}>
        <span>
          Threshold <span className="hint">({METRICS[draft.metric].thresholdUnit})</span>
        </span>
        <input id={`${id}-threshold`} type="number" step="any" inputMode="decimal" value={draft.threshold} onChange={(e) => change({ threshold: e.target.value })} />
      </label>
      <label className="field" htmlFor={`${id}-for`}>
        <span>
          For <span className="hint">(seconds)</span>
        </span>
        <input id={`${id}-for`} type="number" step="1" inputMode="numeric" value={draft.forSeconds} onChange={(e) => change({ forSeconds: e.target.value })} />
      </label>
      <label className="field" htmlFor={`${id}-severity`}>
        <span>Severity</span>
        <select id={`${id}-severity`} value={draft.severity} onChange={(e) => change({ severity: e.target.value as AlertSeverity })}>
          {SEVERITIES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label className="check-field">
        <input type="checkbox" checked={draft.enabled} onChange={(e) => change({ enabled: e.target.checked })} /> Enabled
      </label>
      {error && (
        <p className="form-error rule-form-error" role="alert">
          {error}
        </p>
      )}
      <div className="rule-form-actions">
        <button type="button" className="button" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" className="button primary" disabled={busy}>
          {rule ? 'Save rule' : 'Create rule'}
        </button>
      </div>
    </form>
  );
}

function RuleRow({ store, rule, firing, onEdit }: { store: MonitorStore; rule: AlertRule; firing: boolean; onEdit: () => void }) {
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const act = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (err) {
      setError(ruleError(err));
    } finally {
      setBusy(false);
    }
  };
  const text = describeRule(rule);
  return (
    <li className={rule.enabled ? 'rule' : 'rule disabled'} data-rule-id={rule.id}>
      <div className="rule-main">
        <span className={`severity severity-${rule.severity}`}>{rule.severity}</span>
        <span className="rule-text">{text}</span>
        {firing && <span className="firing">firing</span>}
      </div>
      <div className="rule-actions">
        <label className="check-field">
          <input
            type="checkbox"
            checked={rule.enabled}
            disabled={busy}
            aria-label={`Enabled: ${text}`}
            onChange={() => void act(() => store.saveRule({ ...rule, enabled: !rule.enabled }))}
          />
          <span aria-hidden="true">On</span>
        </label>
        <button type="button" className="icon-button small" aria-label={`Edit rule: ${text}`} title="Edit" onClick={onEdit}>
          <EditIcon size={16} />
        </button>
        <button type="button" className="icon-button small" aria-label={`Delete rule: ${text}`} title="Delete" disabled={busy} onClick={() => void act(() => store.deleteRule(rule.id))}>
          <TrashIcon size={16} />
        </button>
      </div>
      {error && (
        <p className="inline-error" role="alert">
          {error}
        </p>
      )}
    </li>
  );
}

export function RulesEditor({ store, rules, firingRuleIds }: { store: MonitorStore; rules: AlertRule[] | undefined; firingRuleIds: ReadonlySet<string> }) {
  /** The rule being edited, `'new'` for a new one. */
  const [editing, setEditing] = useState<string | undefined>();
  const done = () => setEditing(undefined);
  return (
    <section className="admin-card" aria-labelledby="rules-heading">
      <div className="admin-card-header">
        <h2 id="rules-heading">Alert rules</h2>
        {editing !== 'new' && (
          <button type="button" className="button small" onClick={() => setEditing('new')}>
            <PlusIcon size={16} /> New rule
          </button>
        )}
      </div>
      {editing === 'new' && <RuleForm store={store} rule={undefined} onDone={done} />}
      {rules === undefined ? (
        <p className="hint">Loading…</p>
      ) : rules.length === 0 ? (
        <p className="hint">No rules: nothing will alert.</p>
      ) : (
        <ul className="rule-list">
          {rules.map((rule) =>
            editing === rule.id ? (
              <li key={rule.id} className="rule">
                <RuleForm store={store} rule={rule} onDone={done} />
              </li>
            ) : (
              <RuleRow key={rule.id} store={store} rule={rule} firing={firingRuleIds.has(rule.id)} onEdit={() => setEditing(rule.id)} />
            ),
          )}
        </ul>
      )}
    </section>
  );
}
