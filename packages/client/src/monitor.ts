/**
 * `client.monitor`: the `/monitor` namespace (PROTOCOL §7) — the cluster's live figures every
 * second, their history, alert rules and alerts, and error groups. Admins only.
 *
 * Nothing is opened until the app asks: `open()`, or the first request. The server refuses
 * everyone but admins (`FORBIDDEN`), so an ordinary user's client never knocks; and an admin's
 * client only carries the once-a-second snapshots while a view wants them (`close()` stops them).
 */
import {
  ErrorCode,
  type Alert,
  type AlertRule,
  type AlertRuleSetInput,
  type ErrorGroup,
  type MonitorClientToServer,
  type MonitorMetric,
  type MonitorSnapshot,
} from '@switchboard/protocol';
import type { AnswerOf, Connection, MonitorChannel, PayloadOf } from './connection.js';
import { Emitter } from './emitter.js';
import { SwitchboardError } from './errors.js';

export interface MonitorApiEvents {
  /** The cluster's figures, every second while open. */
  snapshot: (snapshot: MonitorSnapshot) => void;
  /** A rule's condition has held for its `forSeconds`. */
  alertFiring: (alert: Alert) => void;
  /** A firing alert stopped holding (or its rule was disabled or deleted); `resolvedAt` is set. */
  alertResolved: (alert: Alert) => void;
  /** The server refused `/monitor` (`FORBIDDEN`: the user is not an admin); the monitor is closed again. */
  error: (error: SwitchboardError) => void;
}

/** A metric's history: `[time, value]` points, `stepMs` apart. */
export interface MonitorHistory {
  metric: MonitorMetric;
  stepMs: number;
  points: [number, number][];
}

const closedError = () => new SwitchboardError(ErrorCode.UNAVAILABLE, 'client closed', { local: true });

interface Waiter {
  resolve: () => void;
  reject: (err: SwitchboardError) => void;
}

export class MonitorApi extends Emitter<MonitorApiEvents> {
  private channel: MonitorChannel | undefined;
  private opened = false;
  private waiters: Waiter[] = [];

  constructor(private readonly conn: Connection) {
    super();
    conn.on('state', (state) => {
      if (state === 'disconnected') this.settle(closedError());
    });
  }

  /**
   * Connects `/monitor` (and keeps it connected through reconnects until `close()`). Resolves once
   * connected; rejects with `FORBIDDEN` when the user is not an admin, or `UNAVAILABLE` when the
   * client or the monitor is closed first.
   */
  open(): Promise<void> {
    if (this.conn.isClosed) return Promise.reject(closedError());
    return this.whenConnected(this.start());
  }

  /** Disconnects `/monitor`: no more snapshots or alerts until the next `open()` or request. */
  close(): void {
    if (!this.opened) return;
    this.opened = false;
    this.conn.closeMonitor();
    this.settle(new SwitchboardError(ErrorCode.UNAVAILABLE, 'monitor closed', { local: true }));
  }

  /** A cluster-wide metric between `from` and `to` (ms since the epoch); the step widens with the range. */
  async history(metric: MonitorMetric, from: number, to: number): Promise<MonitorHistory> {
    const { stepMs, points } = await this.request('monitor:history', { metric, from, to });
    return { metric, stepMs, points };
  }

  /** Every alert rule, and the alerts firing now. */
  async rules(): Promise<{ rules: AlertRule[]; active: Alert[] }> {
    const { rules, active } = await this.request('alert:rules', {});
    return { rules, active };
  }

  /** Creates a rule (no `id`) or replaces the rule with that `id` (`NOT_FOUND` if there is none). */
  async setRule(rule: AlertRuleSetInput): Promise<AlertRule> {
    return (await this.request('alert:rule:set', rule)).rule;
  }

  /** Deletes a rule; an alert it had firing resolves. */
  async deleteRule(id: string): Promise<void> {
    await this.request('alert:rule:delete', { id });
  }

  /** Error groups, most recent first. */
  async errors(limit?: number): Promise<ErrorGroup[]> {
    return (await this.request('errors:list', limit === undefined ? {} : { limit })).groups;
  }

  /** Connects `/monitor`, wiring its events the first time. */
  private start(): MonitorChannel {
    this.opened = true;
    const fresh = this.channel === undefined;
    const channel = this.conn.openMonitor();
    this.channel = channel;
    if (!fresh) return channel;
    const { socket } = channel;
    socket.on('monitor:snapshot', (snapshot) => this.emit('snapshot', snapshot));
    socket.on('alert:firing', (alert) => this.emit('alertFiring', alert));
    socket.on('alert:resolved', (alert) => this.emit('alertResolved', alert));
    socket.on('connect', () => this.settle());
    socket.on('connect_error', (err) => {
      // Other refusals (a draining node, an expired token) are retried by the connection.
      if (err.message !== ErrorCode.FORBIDDEN) return;
      const error = new SwitchboardError(ErrorCode.FORBIDDEN, 'monitoring is for admins only', { cause: err });
      this.opened = false;
      this.conn.closeMonitor();
      this.settle(error);
      this.emit('error', error);
    });
    return channel;
  }

  private whenConnected(channel: MonitorChannel): Promise<void> {
    if (channel.socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Resolves (or rejects) everyone waiting for `open()`. */
  private settle(error?: SwitchboardError): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      if (error) w.reject(error);
      else w.resolve();
    }
  }

  /** A request on `/monitor`, opening it first if needed; a refusal of the namespace fails it at once. */
  private async request<E extends keyof MonitorClientToServer & string>(
    event: E,
    payload: PayloadOf<MonitorClientToServer[E]>,
  ): Promise<AnswerOf<MonitorClientToServer[E]>> {
    if (this.conn.isClosed) throw closedError();
    const channel = this.start();
    const opening = this.whenConnected(channel);
    const answer = channel.requests.send(event, payload);
    return Promise.race([opening.then(() => answer), answer]);
  }
}
