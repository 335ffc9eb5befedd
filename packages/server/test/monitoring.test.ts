/**
 * Monitoring (PROTOCOL §7) on one node: `GET /metrics` and its token, counters that follow the
 * traffic, the admin-only `/monitor` namespace with its snapshot, history (and its downsampling),
 * alert rules that fire and resolve (live, as notifications and as webhooks), error groups, bad
 * input, and rules and history surviving a restart; on SQLite and PostgreSQL.
 */
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Alert, AlertRule, ErrorGroup, MonitorSnapshot, Notification, Session } from '@switchboard/protocol';
import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { History } from '../src/domain/monitoring/history.js';
import { errorFingerprint, NodeMetrics } from '../src/domain/monitoring/metrics.js';
import { ackBucketOf, ACK_BUCKET_BOUNDS_MS, addBuckets, quantileOfBuckets } from '../src/domain/monitoring/node-sample.js';
import { isInternalAddress, WebhookSender } from '../src/domain/webhooks/post.js';
import { MonitoringRepository } from '../src/store/monitoring.js';
import {
  chatUser,
  closeSockets,
  connect,
  connectError,
  dialects,
  eventually,
  http,
  next,
  ok,
  register,
  request,
  startServer,
  type TestServer,
} from './helpers.js';

const METRICS_TOKEN = 'a-metrics-token-for-tests';

/** The value of one sample line of Prometheus text (`name{labels} value`), 0 when absent. */
function metric(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

async function scrape(url: string, token = METRICS_TOKEN): Promise<string> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return res.text();
}

/** A local HTTP receiver of webhooks: every JSON body it got. */
async function webhookReceiver(): Promise<{ url: string; bodies: Alert[]; close: () => Promise<void> }> {
  const bodies: Alert[] = [];
  const server = createHttpServer((req: IncomingMessage, res) => {
    let data = '';
    req.on('data', (chunk: Buffer) => (data += chunk.toString()));
    req.on('end', () => {
      bodies.push(JSON.parse(data) as Alert);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, bodies, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function blockEventLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // a handler that hogs the process
  }
}

describe.each(dialects)('monitoring on %s', (dialect) => {
  let t: TestServer;
  let admin: Session;
  let monitor: Socket;
  let hook: Awaited<ReturnType<typeof webhookReceiver>>;

  beforeAll(async () => {
    hook = await webhookReceiver();
    t = await startServer({ dialect, METRICS_TOKEN, ALERT_WEBHOOK_URL: hook.url, WEBHOOK_ALLOW_PRIVATE: 'true' });
    admin = await register(t.url); // the first account is the admin
    expect(admin.user.role).toBe('admin');
  });
  afterAll(async () => {
    await t.close();
    await hook.close();
  });
  afterEach(() => closeSockets());

  const openMonitor = async () => {
    monitor = await connect(t.url, '/monitor', admin.accessToken);
    return monitor;
  };

  it('GET /metrics refuses a missing or wrong token and serves the Prometheus families with the right one', async () => {
    expect((await fetch(`${t.url}/metrics`)).status).toBe(401);
    const wrong = await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer not-the-token-at-all' } });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');
    const text = await scrape(t.url);
    for (const family of [
      'switchboard_connections',
      'switchboard_events_received_total',
      'switchboard_ack_duration_seconds',
      'switchboard_errors_total',
      'switchboard_messages_stored_total',
      'switchboard_broadcast_deliveries_total',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(text).toContain(`# TYPE ${family} `);
    }
  });

  it('counters and histograms follow the traffic, with bounded labels only', async () => {
    const alice = await chatUser(t.url);
    const bob = await chatUser(t.url);
    const { room } = await ok<{ room: { id: string } }>(alice.socket, 'room:create', { name: `metrics-${Date.now()}`, kind: 'public' });
    await ok(bob.socket, 'room:join', { roomId: room.id });
    const before = await scrape(t.url);

    const received = Promise.all([
      next(alice.socket, 'message:new', (m: { text: string }) => m.text === 'three'),
      next(bob.socket, 'message:new', (m: { text: string }) => m.text === 'three'),
    ]);
    for (const text of ['one', 'two', 'three']) await ok(alice.socket, 'message:send', { roomId: room.id, clientMsgId: `m-${text}-${Date.now()}`, text });
    await received;
    const bad = await request(alice.socket, 'no-such-event:at-all', { roomId: room.id });
    expect(bad.ok).toBe(false);

    await eventually(async () => metric(await scrape(t.url), 'switchboard_broadcast_deliveries_total') - metric(before, 'switchboard_broadcast_deliveries_total') >= 6);
    const after = await scrape(t.url);
    const delta = (name: string, labels = '') => metric(after, name, labels) - metric(before, name, labels);
    expect(delta('switchboard_messages_stored_total')).toBe(3);
    expect(delta('switchboard_broadcast_deliveries_total')).toBe(6); // 3 messages × 2 members' sockets
    expect(delta('switchboard_events_received_total', 'event="message:send"')).toBe(3);
    expect(delta('switchboard_ack_duration_seconds_count', 'event="message:send"')).toBe(3);
    expect(delta('switchboard_events_received_total', 'event="unknown"')).toBe(1);
    expect(delta('switchboard_errors_total', 'code="INVALID_ARGUMENT"')).toBe(1);
    expect(metric(after, 'switchboard_connections', 'namespace="/chat"')).toBe(2);
    // No label names a user, a room or a message, whatever clients sent.
    for (const id of [alice.id, bob.id, room.id, 'no-such-event']) expect(after).not.toContain(id);
  });

  it('counts plain WebSocket clients among the connections, one each', async () => {
    const socket = await openMonitor();
    const before = (await next<MonitorSnapshot>(socket, 'monitor:snapshot', () => true, 3000)).cluster.connections;
    const { WebSocket } = await import('ws');
    const plain = new WebSocket(`${t.url.replace('http', 'ws')}/ws`);
    await new Promise((resolve, reject) => {
      plain.once('open', resolve);
      plain.once('error', reject);
    });
    plain.send(JSON.stringify({ type: 'auth', token: admin.accessToken }));
    try {
      const with1 = await next<MonitorSnapshot>(socket, 'monitor:snapshot', (s) => s.cluster.connections === before + 1, 5000);
      expect(with1.nodes[0]!.connections).toBe(before + 1);
    } finally {
      plain.close();
    }
    await next<MonitorSnapshot>(socket, 'monitor:snapshot', (s) => s.cluster.connections === before, 5000);
  });

  it('refuses the /monitor handshake to non-admins (FORBIDDEN) and to anonymous clients', async () => {
    const user = await register(t.url);
    expect(await connectError(t.url, '/monitor', { token: user.accessToken })).toBe('FORBIDDEN');
    expect(await connectError(t.url, '/monitor', {})).toBe('UNAUTHENTICATED');
  });

  it('sends admins the cluster snapshot every second, with the connections and messages of the moment', async () => {
    const alice = await chatUser(t.url);
    const { room } = await ok<{ room: { id: string } }>(alice.socket, 'room:create', { name: `snap-${Date.now()}`, kind: 'public' });
    const socket = await openMonitor();
    const snapshot = await next<MonitorSnapshot>(socket, 'monitor:snapshot', () => true, 3000);
    expect(snapshot.nodes).toHaveLength(1);
    expect(snapshot.downNodes).toEqual([]);
    expect(snapshot.cluster.nodesUp).toBe(1);
    expect(snapshot.cluster.connections).toBeGreaterThanOrEqual(2); // alice's chat socket and this one
    expect(snapshot.nodes[0]!.rssBytes).toBeGreaterThan(0);
    const sending = setInterval(() => {
      alice.socket.emit('message:send', { roomId: room.id, clientMsgId: `s-${Math.random()}`, text: 'tick' }, () => undefined);
    }, 50);
    try {
      const busy = await next<MonitorSnapshot>(socket, 'monitor:snapshot', (s) => s.cluster.messagesInPerSec > 0 && s.cluster.ackP99Ms > 0, 5000);
      expect(busy.cluster.deliveriesPerSec).toBeGreaterThan(0);
      expect(busy.cluster.usersOnline).toBeGreaterThanOrEqual(2);
    } finally {
      clearInterval(sending);
    }
  });

  it('answers history over a range, and refuses unknown metrics, inverted and too long ranges', async () => {
    const socket = await openMonitor();
    const now = Date.now();
    await eventually(async () => {
      const res = await ok<{ points: [number, number][] }>(socket, 'monitor:history', { metric: 'connections', from: now - 60_000, to: Date.now() });
      return res.points.length >= 2;
    }, 8000, 'history points');
    const res = await ok<{ metric: string; stepMs: number; points: [number, number][] }>(socket, 'monitor:history', {
      metric: 'rssBytes',
      from: now - 60_000,
      to: Date.now(),
    });
    expect(res.metric).toBe('rssBytes');
    expect(res.stepMs).toBe(1000);
    expect(res.points.every(([at, value]) => at % 1000 === 0 && value > 0)).toBe(true);
    // The longest range gets the coarsest tier, and never more than 4000 points.
    const month = await ok<{ stepMs: number; points: unknown[] }>(socket, 'monitor:history', { metric: 'rssBytes', from: now - 30 * 86_400_000, to: now });
    expect(month.stepMs).toBeGreaterThanOrEqual(60_000);
    expect(month.points.length).toBeLessThanOrEqual(4000);
    for (const bad of [
      { metric: 'no-such-metric', from: now - 1000, to: now },
      { metric: 'connections', from: now, to: now - 1000 },
      { metric: 'connections', from: now - 31 * 86_400_000, to: now },
      { metric: 'connections', from: 'yesterday', to: now },
      null,
    ]) {
      const answer = await request(socket, 'monitor:history', bad);
      expect(answer.ok).toBe(false);
      expect(answer.ok === false && answer.error.code).toBe('INVALID_ARGUMENT');
    }
  });

  it('rolls 1 s points up into 10 s and 1 min points that equal the mean of the raw ones', async () => {
    const repo = new MonitoringRepository(t.server.database.db, t.server.database.dialect);
    const history = new History(repo);
    // A past stretch of 3 minutes no live point falls in: a synthetic cluster whose connections vary.
    const base = Math.floor((Date.now() - 20 * 60_000) / 60_000) * 60_000;
    const raw: number[] = [];
    const stats = { connections: 0, usersOnline: 0, messagesInPerSec: 0, deliveriesPerSec: 0, ackP50Ms: 0, ackP99Ms: 0, errorsPerSec: 0, eventLoopLagMs: 0, rssBytes: 0, cpuPercent: 0, nodesUp: 1, nodesDown: 0 };
    for (let i = 0; i < 180; i++) {
      raw.push((i * 37) % 101);
      await history.record({ ...stats, connections: raw[i]! }, base + i * 1000 + 250);
    }
    await history.record(stats, base + 185_000); // past the last span's end: everything is rolled up
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const tens = await repo.series(1, 'connections', base, base + 179_999, 10_000, 100);
    expect(tens).toHaveLength(18);
    tens.forEach(([at, value], i) => {
      expect(at).toBe(base + i * 10_000);
      expect(value).toBeCloseTo(mean(raw.slice(i * 10, i * 10 + 10)), 9);
    });
    const minutes = await repo.series(2, 'connections', base, base + 179_999, 60_000, 100);
    expect(minutes).toHaveLength(3);
    minutes.forEach(([at, value], i) => {
      expect(at).toBe(base + i * 60_000);
      expect(value).toBeCloseTo(mean(raw.slice(i * 60, i * 60 + 60)), 9);
    });
    // A wider step over the raw tier is the mean of its spans too.
    const wide = await repo.series(0, 'connections', base, base + 179_999, 30_000, 100);
    expect(wide.map(([, v]) => v)).toEqual(Array.from({ length: 6 }, (_, i) => mean(raw.slice(i * 30, i * 30 + 30))).map((v) => expect.closeTo(v, 9)));
  });

  it('fires an alert when an induced event-loop stall holds, tells admins and the webhook, and resolves after', async () => {
    const socket = await openMonitor();
    const inbox = await connect(t.url, '/notifications', admin.accessToken);
    const { rule } = await ok<{ rule: AlertRule }>(socket, 'alert:rule:set', {
      metric: 'eventLoopLagMs',
      op: '>',
      threshold: 250,
      forSeconds: 0,
      severity: 'critical',
      enabled: true,
    });
    const firing = next<Alert>(socket, 'alert:firing', (a) => a.ruleId === rule.id, 10_000);
    const notified = next<Notification>(inbox, 'notification:new', (n) => n.kind === 'alert' && (n.data as { ruleId?: string }).ruleId === rule.id, 10_000);
    blockEventLoop(600);
    const alert = await firing;
    expect(alert).toMatchObject({ ruleId: rule.id, metric: 'eventLoopLagMs', threshold: 250, severity: 'critical', resolvedAt: null });
    expect(alert.value).toBeGreaterThan(250);
    expect((await notified).title).toContain('eventLoopLagMs');
    const resolved = await next<Alert>(socket, 'alert:resolved', (a) => a.id === alert.id, 10_000);
    expect(resolved.resolvedAt).toBeGreaterThanOrEqual(alert.startedAt);
    await eventually(() => hook.bodies.filter((b) => b.id === alert.id).length === 2, 10_000, 'both webhooks');
    expect(hook.bodies.filter((b) => b.id === alert.id).map((b) => b.resolvedAt === null)).toEqual([true, false]);
    const { active } = await ok<{ active: Alert[] }>(socket, 'alert:rules', {});
    expect(active.find((a) => a.id === alert.id)).toBeUndefined();
    await ok(socket, 'alert:rule:delete', { id: rule.id });
  });

  it('resolves a firing alert when its rule is disabled, and when it is deleted', async () => {
    const socket = await openMonitor();
    const always = { metric: 'nodesUp', op: '>', threshold: 0, forSeconds: 0, severity: 'info', enabled: true } as const;
    for (const end of ['disable', 'delete'] as const) {
      const { rule } = await ok<{ rule: AlertRule }>(socket, 'alert:rule:set', always);
      const alert = await next<Alert>(socket, 'alert:firing', (a) => a.ruleId === rule.id, 5000);
      const resolved = next<Alert>(socket, 'alert:resolved', (a) => a.id === alert.id, 5000);
      if (end === 'disable') await ok(socket, 'alert:rule:set', { ...always, id: rule.id, enabled: false });
      else await ok(socket, 'alert:rule:delete', { id: rule.id });
      expect((await resolved).resolvedAt).not.toBeNull();
      if (end === 'disable') await ok(socket, 'alert:rule:delete', { id: rule.id });
    }
  });

  it('lists, replaces and deletes rules, with the defaults, and refuses malformed rules and unknown ids', async () => {
    const socket = await openMonitor();
    const { rules } = await ok<{ rules: AlertRule[] }>(socket, 'alert:rules', {});
    expect(rules.map((r) => r.metric)).toEqual(expect.arrayContaining(['ackP99Ms', 'errorsPerSec', 'eventLoopLagMs', 'rssBytes', 'nodesDown']));
    const { rule } = await ok<{ rule: AlertRule }>(socket, 'alert:rule:set', { metric: 'cpuPercent', op: '>', threshold: 95, forSeconds: 120, severity: 'warning', enabled: false });
    const { rule: replaced } = await ok<{ rule: AlertRule }>(socket, 'alert:rule:set', { ...rule, threshold: 90 });
    expect(replaced).toEqual({ ...rule, threshold: 90 });
    const missing = '0190aaaa-0000-7000-8000-000000000000';
    for (const [event, payload, code] of [
      ['alert:rule:set', { ...rule, id: missing }, 'NOT_FOUND'],
      ['alert:rule:delete', { id: missing }, 'NOT_FOUND'],
      ['alert:rule:set', { ...rule, id: undefined, metric: 'bogus' }, 'INVALID_ARGUMENT'],
      ['alert:rule:set', { ...rule, id: undefined, op: '>=' }, 'INVALID_ARGUMENT'],
      ['alert:rule:set', { ...rule, id: undefined, threshold: 'high' }, 'INVALID_ARGUMENT'],
      ['alert:rule:set', { ...rule, id: undefined, forSeconds: -1 }, 'INVALID_ARGUMENT'],
      ['alert:rule:set', { ...rule, id: undefined, severity: 'fatal' }, 'INVALID_ARGUMENT'],
      ['alert:rule:delete', {}, 'INVALID_ARGUMENT'],
      ['errors:list', { limit: 0 }, 'INVALID_ARGUMENT'],
    ] as const) {
      const answer = await request(socket, event, payload);
      expect(answer.ok === false && answer.error.code, `${event} ${JSON.stringify(payload)}`).toBe(code);
    }
    await ok(socket, 'alert:rule:delete', { id: rule.id });
    const after = await ok<{ rules: AlertRule[] }>(socket, 'alert:rules', {});
    expect(after.rules.find((r) => r.id === rule.id)).toBeUndefined();
  });

  it('groups errors by fingerprint with counts, first and last seen, from sockets and HTTP', async () => {
    const alice = await chatUser(t.url);
    const socket = await openMonitor();
    const badSend = { roomId: 'not-a-room', clientMsgId: 'x', text: 42 };
    await request(alice.socket, 'message:send', badSend);
    await http(t.url, 'GET', '/api/files/not-a-file', undefined, alice.session.accessToken);
    const find = async () => {
      const { groups } = await ok<{ groups: ErrorGroup[] }>(socket, 'errors:list', {});
      return groups.find((g) => g.event === 'message:send' && g.code === 'INVALID_ARGUMENT');
    };
    await eventually(async () => (await find()) !== undefined, 5000, 'the error group');
    const first = (await find())!;
    expect(first.nodeId).toBe((await next<MonitorSnapshot>(socket, 'monitor:snapshot', () => true, 3000)).nodes[0]!.nodeId);
    await request(alice.socket, 'message:send', badSend);
    await request(alice.socket, 'message:send', badSend);
    await eventually(async () => (await find())!.count === first.count + 2, 5000, 'the count to grow');
    const grown = (await find())!;
    expect(grown.fingerprint).toBe(first.fingerprint);
    expect(grown.firstSeenAt).toBe(first.firstSeenAt);
    expect(grown.lastSeenAt).toBeGreaterThanOrEqual(first.lastSeenAt);
    const { groups } = await ok<{ groups: ErrorGroup[] }>(socket, 'errors:list', { limit: 500 });
    expect(groups.some((g) => g.event === 'GET /api/files/:id')).toBe(true);
    // Most recent first.
    expect(groups.map((g) => g.lastSeenAt)).toEqual([...groups.map((g) => g.lastSeenAt)].sort((a, b) => b - a));
  });

  it('keeps rules and history across a restart', async () => {
    let socket = await openMonitor();
    const { rule } = await ok<{ rule: AlertRule }>(socket, 'alert:rule:set', { metric: 'usersOnline', op: '<', threshold: -1, forSeconds: 5, severity: 'info', enabled: true });
    const from = Date.now() - 120_000;
    await eventually(async () => (await ok<{ points: unknown[] }>(socket, 'monitor:history', { metric: 'nodesUp', from, to: Date.now() })).points.length > 0, 5000);
    const before = await ok<{ points: [number, number][] }>(socket, 'monitor:history', { metric: 'nodesUp', from, to: Date.now() });
    closeSockets();
    await t.stop();
    t = await t.restart();
    socket = await openMonitor();
    const { rules } = await ok<{ rules: AlertRule[] }>(socket, 'alert:rules', {});
    expect(rules).toContainEqual(rule);
    const after = await ok<{ points: [number, number][] }>(socket, 'monitor:history', { metric: 'nodesUp', from, to: Date.now() });
    expect(after.points.slice(0, before.points.length)).toEqual(before.points);
    await ok(socket, 'alert:rule:delete', { id: rule.id });
  });
});

describe('monitoring pieces', () => {
  it('takes acknowledgement percentiles from bucket counts, holes included, to within one bucket', () => {
    const times = Array.from({ length: 1000 }, (_, i) => (i < 900 ? 2 : 40) + (i % 7) / 10);
    const counts: number[] = [];
    for (const ms of times) {
      const b = ackBucketOf(ms);
      counts[b] = (counts[b] ?? 0) + 1; // a sparse array, as a node's ring fills it
    }
    const p50 = quantileOfBuckets(counts, 0.5);
    const p99 = quantileOfBuckets(counts, 0.99);
    expect(p50).toBeGreaterThanOrEqual(2);
    expect(p50).toBeLessThanOrEqual(2.6 * 1.1);
    expect(p99).toBeGreaterThanOrEqual(40);
    expect(p99).toBeLessThanOrEqual(40.6 * 1.1);
    expect(quantileOfBuckets([], 0.99)).toBe(0);
    // Two nodes' counts add up bucket by bucket, holes and JSON's nulls counted as nothing.
    const merged = addBuckets(addBuckets([], JSON.parse(JSON.stringify(counts)) as (number | null)[]), [0, 0, 5]);
    expect(merged.reduce((a, b) => a + b, 0)).toBe(1005);
    expect(ACK_BUCKET_BOUNDS_MS.at(-1)).toBe(60_000);
  });

  it("samples a node's figures: answers, errors, messages and deliveries of the last second", () => {
    const metrics = new NodeMetrics();
    try {
      metrics.sample();
      for (let i = 0; i < 100; i++) metrics.onAnswered('message:send', 5);
      metrics.onAnswered('sync', 500);
      metrics.onMessagesStored(10);
      metrics.onDeliveries(30);
      metrics.onError({ code: 'INVALID_ARGUMENT', event: 'message:send', message: 'text: expected string' });
      metrics.onError({ code: 'INVALID_ARGUMENT', event: 'message:send', message: 'text: expected string' });
      metrics.onError({ code: 'FORBIDDEN', event: 'no-such-event', message: 'nope' });
      const { stats, errors } = metrics.sample();
      expect(stats.ackP50Ms).toBeGreaterThanOrEqual(5);
      expect(stats.ackP50Ms).toBeLessThanOrEqual(5.5);
      expect(stats.ackP99Ms).toBeGreaterThanOrEqual(5);
      expect(stats.ackP99Ms).toBeLessThanOrEqual(5.5);
      expect(stats.messagesInPerSec).toBeGreaterThan(0);
      expect(stats.deliveriesPerSec / stats.messagesInPerSec).toBeCloseTo(3, 6);
      expect(stats.errorsPerSec / stats.messagesInPerSec).toBeCloseTo(0.3, 6);
      expect(errors.map((e) => [e.event, e.count]).sort()).toEqual([
        ['message:send', 2],
        ['unknown', 1],
      ]);
      // The next second starts empty, but the acknowledgement times of the last 10 s stay.
      const next = metrics.sample();
      expect(next.errors).toEqual([]);
      expect(next.stats.messagesInPerSec).toBe(0);
      expect(next.stats.ackP50Ms).toBeGreaterThanOrEqual(5);
    } finally {
      metrics.close();
    }
  });

  it('fingerprints follow the shape of a message, not its numbers, ids or quoted text', () => {
    const a = errorFingerprint({ code: 'NOT_FOUND', event: 'room:join', message: 'room 0190aaaa-0000-7000-8000-000000000001 not found after 3 tries' });
    const b = errorFingerprint({ code: 'NOT_FOUND', event: 'room:join', message: 'room 0190bbbb-1111-7000-8000-000000000002 not found after 12 tries' });
    const c = errorFingerprint({ code: 'NOT_FOUND', event: 'room:leave', message: 'room 0190aaaa-0000-7000-8000-000000000001 not found after 3 tries' });
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    const stack = (line: number) => `Error: boom ${line}\n    at handler (/srv/a/packages/server/src/domain/rooms.ts:${line}:7)\n    at run (/srv/a/x.ts:1:1)`;
    expect(errorFingerprint({ code: 'INTERNAL', event: 'sync', message: 'x', stack: stack(10) })).toBe(
      errorFingerprint({ code: 'INTERNAL', event: 'sync', message: 'y', stack: stack(99).replace('/srv/a/', '/opt/b/') }),
    );
  });

  it('webhooks never reach internal addresses unless allowed', async () => {
    for (const address of ['127.0.0.1', '10.1.2.3', '192.168.0.9', '172.20.0.1', '169.254.169.254', '::1', 'fe80::1', 'fd00::5', '::ffff:127.0.0.1', '0.0.0.0']) {
      expect(isInternalAddress(address), address).toBe(true);
    }
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700::1111', '::ffff:8.8.8.8']) expect(isInternalAddress(address), address).toBe(false);
    const hook = await webhookReceiver();
    const log = (await import('pino')).pino({ level: 'silent' });
    try {
      const refused = new WebhookSender(new URL(hook.url), { allowPrivate: false, log, attempts: 2, firstRetryMs: 10 });
      expect(await refused.post({ hello: 1 })).toBe(false);
      const byName = new WebhookSender(new URL(hook.url.replace('127.0.0.1', 'localhost')), { allowPrivate: false, log, attempts: 2, firstRetryMs: 10 });
      expect(await byName.post({ hello: 2 })).toBe(false);
      expect(hook.bodies).toEqual([]);
      const allowed = new WebhookSender(new URL(hook.url), { allowPrivate: true, log });
      expect(await allowed.post({ hello: 3 })).toBe(true);
      expect(hook.bodies).toEqual([{ hello: 3 }]);
    } finally {
      await hook.close();
    }
  });
});
