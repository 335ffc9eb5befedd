/**
 * The admin view's state, outside React like the chat store: `client.monitor` opened while the view
 * is shown, the last five minutes of snapshots (seeded from history so the charts start full), the
 * history of a longer range when one is picked, alert rules with the alerts firing, and error groups.
 */
import type { Alert, AlertRule, AlertRuleSetInput, ErrorGroup, MonitorSnapshot, Stats, SwitchboardClient } from '@switchboard/client';

/** The figures the charts draw. */
export const CHARTED = [
  'connections',
  'messagesInPerSec',
  'deliveriesPerSec',
  'ackP50Ms',
  'ackP99Ms',
  'errorsPerSec',
  'eventLoopLagMs',
  'rssBytes',
  'cpuPercent',
] as const satisfies readonly (keyof Stats)[];
export type Charted = (typeof CHARTED)[number];

/** A time window, the points in it, and each charted figure at those times (`null`: no value then). */
export interface Timeline {
  from: number;
  to: number;
  times: number[];
  values: Record<Charted, (number | null)[]>;
}

export const RANGES = {
  live: { label: 'Live 5 min', ms: 5 * 60_000 },
  '1h': { label: '1 h', ms: 3_600_000 },
  '24h': { label: '24 h', ms: 86_400_000 },
  '7d': { label: '7 d', ms: 7 * 86_400_000 },
  '30d': { label: '30 d', ms: 30 * 86_400_000 },
} as const;
export type RangeName = keyof typeof RANGES;

export interface MonitorState {
  /** `connecting` until the first snapshot; `forbidden` when the server refuses this user. */
  status: 'connecting' | 'live' | 'forbidden';
  snapshot: MonitorSnapshot | undefined;
  range: RangeName;
  /** What the charts show: the live window, or the picked range's history. */
  timeline: Timeline;
  loading: boolean;
  /** Why the history could not be loaded (undefined when it could). */
  historyError: unknown;
  rules: AlertRule[] | undefined;
  active: Alert[];
  errors: ErrorGroup[] | undefined;
}

/** How often rules and error groups are fetched again (alerts arrive as events meanwhile), ms. */
const LIST_REFRESH_MS = 10_000;
/** How often a picked range's history is fetched again, ms. */
const HISTORY_REFRESH_MS = 30_000;

const emptyTimeline = (from = 0, to = 0): Timeline => ({
  from,
  to,
  times: [],
  values: Object.fromEntries(CHARTED.map((m) => [m, []])) as unknown as Timeline['values'],
});

/** Merges per-metric histories into one timeline on the union of their times. */
function mergeHistories(histories: readonly (readonly [number, number][])[], from: number, to: number): Timeline {
  const rows = new Map<number, (number | null)[]>();
  histories.forEach((points, i) => {
    for (const [t, v] of points) {
      let row = rows.get(t);
      if (!row) {
        row = CHARTED.map(() => null);
        rows.set(t, row);
      }
      row[i] = v;
    }
  });
  const timeline = emptyTimeline(from, to);
  for (const t of [...rows.keys()].sort((a, b) => a - b)) {
    timeline.times.push(t);
    CHARTED.forEach((m, i) => timeline.values[m].push(rows.get(t)![i] ?? null));
  }
  return timeline;
}

export class MonitorStore {
  private current: MonitorState = {
    status: 'connecting',
    snapshot: undefined,
    range: 'live',
    timeline: emptyTimeline(),
    loading: false,
    historyError: undefined,
    rules: undefined,
    active: [],
    errors: undefined,
  };
  private readonly listeners = new Set<() => void>();
  /** Snapshots of the live window, oldest first. */
  private live: MonitorSnapshot[] = [];
  /** History before the first live snapshot, so the live charts start with five minutes. */
  private seed = emptyTimeline();
  private stops: (() => void)[] = [];
  /** Bumped on every range change: answers for an earlier range are dropped. */
  private generation = 0;

  constructor(private readonly client: SwitchboardClient) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): MonitorState => this.current;

  /** Opens the monitor; `stop()` closes it. */
  start(): void {
    const { monitor } = this.client;
    const lists = setInterval(() => this.refreshLists(), LIST_REFRESH_MS);
    this.stops = [
      monitor.on('snapshot', (s) => this.onSnapshot(s)),
      monitor.on('alertFiring', (a) => this.set({ active: [a, ...this.current.active.filter((x) => x.id !== a.id)] })),
      monitor.on('alertResolved', (a) => this.set({ active: this.current.active.filter((x) => x.id !== a.id) })),
      monitor.on('error', () => this.set({ status: 'forbidden' })),
      () => clearInterval(lists),
    ];
    monitor.open().then(
      () => this.refreshLists(),
      () => undefined, // a refusal arrives as `error`; a close needs nothing
    );
    this.setRange(this.current.range);
  }

  stop(): void {
    for (const stop of this.stops) stop();
    this.stops = [];
    this.generation++;
    this.client.monitor.close();
  }

  /** Shows the live window, or the history of a longer range. */
  setRange(range: RangeName): void {
    const generation = ++this.generation;
    const now = Date.now();
    this.set({ range, loading: true, historyError: undefined, timeline: range === 'live' ? this.liveTimeline() : emptyTimeline(now - RANGES[range].ms, now) });
    const load = () => {
      const to = Date.now();
      const from = to - RANGES[range].ms;
      Promise.all(CHARTED.map((m) => this.client.monitor.history(m, from, to))).then(
        (answers) => {
          if (generation !== this.generation) return;
          const timeline = mergeHistories(
            answers.map((a) => a.points),
            from,
            to,
          );
          if (range === 'live') {
            this.seed = timeline;
            this.set({ loading: false, timeline: this.liveTimeline() });
          } else {
            this.set({ loading: false, timeline });
          }
        },
        (err: unknown) => {
          if (generation !== this.generation) return;
          this.set({ loading: false, historyError: err ?? new Error('history failed') });
        },
      );
    };
    load();
    if (range === 'live') return;
    const timer = setInterval(() => {
      if (generation === this.generation) load();
      else clearInterval(timer);
    }, HISTORY_REFRESH_MS);
    this.stops.push(() => clearInterval(timer));
  }

  /** Creates a rule (no `id`) or replaces one; rejects with the server's SwitchboardError. */
  async saveRule(input: AlertRuleSetInput): Promise<AlertRule> {
    const rule = await this.client.monitor.setRule(input);
    const rules = this.current.rules ?? [];
    this.set({ rules: rules.some((r) => r.id === rule.id) ? rules.map((r) => (r.id === rule.id ? rule : r)) : [...rules, rule] });
    return rule;
  }

  async deleteRule(id: string): Promise<void> {
    await this.client.monitor.deleteRule(id);
    this.set({ rules: (this.current.rules ?? []).filter((r) => r.id !== id) });
  }

  private onSnapshot(snapshot: MonitorSnapshot): void {
    const since = snapshot.at - RANGES.live.ms;
    this.live.push(snapshot);
    while (this.live.length > 0 && this.live[0]!.at < since) this.live.shift();
    this.set({ status: 'live', snapshot, ...(this.current.range === 'live' ? { timeline: this.liveTimeline() } : {}) });
  }

  /** The seed's points before the first snapshot, then the snapshots, within the live window. */
  private liveTimeline(): Timeline {
    const first = this.live[0]?.at ?? Infinity;
    const to = this.live.at(-1)?.at ?? Date.now();
    const since = to - RANGES.live.ms;
    const timeline = emptyTimeline(since, to);
    this.seed.times.forEach((t, i) => {
      if (t < since || t >= first) return;
      timeline.times.push(t);
      for (const m of CHARTED) timeline.values[m].push(this.seed.values[m][i] ?? null);
    });
    for (const s of this.live) {
      timeline.times.push(s.at);
      for (const m of CHARTED) timeline.values[m].push(s.cluster[m]);
    }
    return timeline;
  }

  private refreshLists(): void {
    // Asking again would only be refused again.
    if (this.current.status === 'forbidden') return;
    const { monitor } = this.client;
    monitor.rules().then(
      ({ rules, active }) => this.set({ rules, active }),
      () => undefined, // kept as they were; the next round tries again
    );
    monitor.errors().then(
      (errors) => this.set({ errors }),
      () => undefined,
    );
  }

  private set(patch: Partial<MonitorState>): void {
    this.current = { ...this.current, ...patch };
    for (const listener of [...this.listeners]) listener();
  }
}
