/**
 * The admin view (`/admin`, admins only): the cluster's figures now, charts of the last five minutes
 * live or of a longer range from history, the nodes, firing alerts and alert rules, and error groups.
 * `/monitor` is open while the view is shown, and closed when it is left.
 */
import type { Alert, ClusterStats, DownNode, ErrorGroup, MonitorMetric, NodeSnapshot, SwitchboardClient } from '@switchboard/client';
import { useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { StatsKeys } from '@switchboard/protocol';
import { describeError } from '../errors.js';
import { DataTable, type Column } from '../ui/data-table.js';
import { formatAgo, formatFull, formatTime } from '../ui/format.js';
import { Chart } from './chart.js';
import { formatValue, METRICS } from './metrics.js';
import { MonitorStore, RANGES, type Charted, type MonitorState, type RangeName } from './monitor-store.js';
import { RulesEditor } from './rules-editor.js';
import './admin.css';

/** The figures shown as tiles, in order: every figure of the cluster. */
const TILES: readonly (keyof ClusterStats)[] = [...StatsKeys, 'nodesUp', 'nodesDown'];

const CHARTS: { title: string; metrics: readonly Charted[] }[] = [
  { title: 'Connections', metrics: ['connections'] },
  { title: 'Messages/s', metrics: ['messagesInPerSec'] },
  { title: 'Deliveries/s', metrics: ['deliveriesPerSec'] },
  { title: 'Ack time p50 / p99', metrics: ['ackP50Ms', 'ackP99Ms'] },
  { title: 'Errors/s', metrics: ['errorsPerSec'] },
  { title: 'Event-loop lag', metrics: ['eventLoopLagMs'] },
  { title: 'Memory (RSS)', metrics: ['rssBytes'] },
  { title: 'CPU (% of one core)', metrics: ['cpuPercent'] },
];

const clockFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

function Status({ state }: { state: MonitorState }) {
  if (state.status === 'forbidden') return <p className="form-error">Monitoring is for admins only.</p>;
  if (!state.snapshot) return <p className="hint" role="status">Connecting…</p>;
  return (
    <p className="monitor-status" role="status">
      <span className="live-dot" aria-hidden="true" /> Live · updated <time dateTime={new Date(state.snapshot.at).toISOString()}>{clockFormat.format(state.snapshot.at)}</time>
    </p>
  );
}

function RangePicker({ range, onChange }: { range: RangeName; onChange: (range: RangeName) => void }) {
  return (
    <div className="range-picker" role="group" aria-label="Time range">
      {(Object.keys(RANGES) as RangeName[]).map((r) => (
        <button key={r} type="button" className={r === range ? 'range pressed' : 'range'} aria-pressed={r === range} onClick={() => onChange(r)}>
          {RANGES[r].label}
        </button>
      ))}
    </div>
  );
}

function Tiles({ cluster }: { cluster: ClusterStats | undefined }) {
  return (
    <dl className="stat-tiles">
      {TILES.map((metric) => (
        <div key={metric} className={metric === 'nodesDown' && (cluster?.nodesDown ?? 0) > 0 ? 'stat bad' : 'stat'} data-testid={`stat-${metric}`}>
          <dt>{METRICS[metric].label}</dt>
          <dd>{cluster ? formatValue(metric, cluster[metric]) : '–'}</dd>
        </div>
      ))}
    </dl>
  );
}

function ActiveAlerts({ alerts }: { alerts: Alert[] }) {
  if (alerts.length === 0) return null;
  return (
    <section className="admin-card alerts-card" aria-labelledby="alerts-heading">
      <h2 id="alerts-heading">Firing alerts</h2>
      <ul className="alert-list">
        {alerts.map((a) => (
          <li key={a.id} className="alert-item">
            <span className={`severity severity-${a.severity}`}>{a.severity}</span>
            <span>
              {METRICS[a.metric].label} at <strong>{formatValue(a.metric, a.value)}</strong> (threshold {formatValue(a.metric, a.threshold)})
            </span>
            <time className="hint" dateTime={new Date(a.startedAt).toISOString()} title={formatFull(a.startedAt)}>
              since {formatTime(a.startedAt)}
            </time>
          </li>
        ))}
      </ul>
    </section>
  );
}

const node = (n: NodeSnapshot, metric: MonitorMetric & keyof NodeSnapshot) => formatValue(metric, n[metric]);

type NodeRow = NodeSnapshot & { downSince?: number };

const NODE_COLUMNS: Column<NodeRow>[] = [
  { header: 'Node', rowHeader: true, className: 'mono', cell: (n) => n.nodeId },
  {
    header: 'Status',
    cell: (n) =>
      n.downSince === undefined ? (
        <span className="node-state up">up</span>
      ) : (
        <span className="node-state down" title={`Silent since ${formatFull(n.downSince)}`}>
          down
        </span>
      ),
  },
  { header: 'Started', cell: (n) => formatAgo(n.startedAt), title: (n) => formatFull(n.startedAt) },
  { header: 'Last seen', cell: (n) => clockFormat.format(n.lastSeenAt), title: (n) => formatFull(n.lastSeenAt) },
  { header: 'Connections', className: 'num', cell: (n) => node(n, 'connections') },
  { header: 'Messages/s', className: 'num', cell: (n) => node(n, 'messagesInPerSec') },
  { header: 'Lag', className: 'num', cell: (n) => node(n, 'eventLoopLagMs') },
  { header: 'RSS', className: 'num', cell: (n) => node(n, 'rssBytes') },
  { header: 'CPU', className: 'num', cell: (n) => node(n, 'cpuPercent') },
];

/** Nodes that are up, then the ones that went silent (with their last figures). */
function Nodes({ up, down }: { up: NodeSnapshot[]; down: DownNode[] }) {
  const rows: NodeRow[] = [...up, ...down];
  return (
    <section className="admin-card" aria-labelledby="nodes-heading">
      <h2 id="nodes-heading">Nodes</h2>
      <DataTable columns={NODE_COLUMNS} rows={rows} rowKey={(n) => n.nodeId} empty="No node has reported yet." />
    </section>
  );
}

const ERROR_COLUMNS: Column<ErrorGroup>[] = [
  { header: 'Code', className: 'mono', cell: (g) => g.code },
  { header: 'Event', className: 'mono', cell: (g) => g.event },
  { header: 'Message', className: 'error-message', cell: (g) => g.message },
  { header: 'Count', className: 'num', cell: (g) => g.count.toLocaleString() },
  { header: 'First seen', cell: (g) => formatAgo(g.firstSeenAt), title: (g) => formatFull(g.firstSeenAt) },
  { header: 'Last seen', cell: (g) => formatAgo(g.lastSeenAt), title: (g) => formatFull(g.lastSeenAt) },
  { header: 'Node', className: 'mono', cell: (g) => g.nodeId },
];

function ErrorGroups({ groups }: { groups: ErrorGroup[] | undefined }) {
  return (
    <section className="admin-card" aria-labelledby="errors-heading">
      <h2 id="errors-heading">Errors</h2>
      <DataTable columns={ERROR_COLUMNS} rows={groups} rowKey={(g) => g.fingerprint} empty="No errors recorded." />
    </section>
  );
}

export function AdminView({ client }: { client: SwitchboardClient }) {
  const [store] = useState(() => new MonitorStore(client));
  useEffect(() => {
    store.start();
    return () => store.stop();
  }, [store]);
  const state = useSyncExternalStore(store.subscribe, store.getSnapshot);
  const firingRuleIds = useMemo(() => new Set(state.active.map((a) => a.ruleId)), [state.active]);

  return (
    <div className="admin">
      <div className="admin-toolbar">
        <Status state={state} />
        <RangePicker range={state.range} onChange={(r) => store.setRange(r)} />
      </div>
      <Tiles cluster={state.snapshot?.cluster} />
      <ActiveAlerts alerts={state.active} />
      {state.historyError !== undefined && (
        <p className="inline-error" role="alert">
          The history could not be loaded: {describeError(state.historyError)}
        </p>
      )}
      <div className="charts" aria-busy={state.loading}>
        {CHARTS.map((c) => (
          <Chart key={c.title} title={c.title} metrics={c.metrics} timeline={state.timeline} />
        ))}
      </div>
      <Nodes up={state.snapshot?.nodes ?? []} down={state.snapshot?.downNodes ?? []} />
      <RulesEditor store={store} rules={state.rules} firingRuleIds={firingRuleIds} />
      <ErrorGroups groups={state.errors} />
    </div>
  );
}
