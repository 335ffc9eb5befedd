/**
 * `client.monitor` against a real server: the admin (the first account) watches live figures,
 * history, alert rules, alerts and error groups; everyone else is refused `FORBIDDEN` — and an
 * ordinary user's client never even asks for `/monitor` unless the app calls it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Alert, type ErrorGroup, type MonitorSnapshot, type Notification, type SwitchboardClient } from '@switchboard/client';
import { eventually, register, startServer, uniqueName, type TestServer } from '../../server/test/helpers.js';
import { closeClients, fast, signedIn } from './support.js';

const WAIT = 10_000;

let t: TestServer;
let admin: SwitchboardClient;
/** `/monitor` handshakes (Socket.IO CONNECT packets) the server received, whoever sent them. */
const monitorHandshakes: string[] = [];

beforeAll(async () => {
  t = await startServer();
  t.server.realtime.io.engine.on('connection', (conn: { on(event: 'packet', cb: (p: { type: string; data?: unknown }) => void): void }) => {
    conn.on('packet', (packet) => {
      if (packet.type === 'message' && typeof packet.data === 'string' && packet.data.startsWith('0/monitor')) monitorHandshakes.push(packet.data);
    });
  });
  // The first account of a fresh server is the admin; its client lives through every test.
  admin = createClient({ ...fast, url: t.url, session: await register(t.url) });
  await admin.ready();
  expect(admin.user?.role).toBe('admin');
});
afterAll(async () => {
  admin.close();
  await t.close();
});
afterEach(() => {
  admin.monitor.close();
  admin.monitor.off('snapshot', remember);
  closeClients();
});

let latest: MonitorSnapshot | undefined;
const remember = (s: MonitorSnapshot) => {
  latest = s;
};
/** Opens the admin's monitor and keeps the latest snapshot in `latest`. */
async function watch(): Promise<void> {
  latest = undefined;
  admin.monitor.on('snapshot', remember);
  await admin.monitor.open();
}

/** Sockets on `/monitor` on the server side, per user. */
const monitorSockets = (userId: string) => [...t.server.realtime.io.of('/monitor').sockets.values()].filter((s) => s.data.userId === userId);

describe('client.monitor', () => {
  it('delivers a snapshot every second whose connections count the connected clients', async () => {
    await watch();
    await eventually(() => latest !== undefined, WAIT, 'a first snapshot');
    // Snapshots keep coming: several distinct ones, each with the cluster and this node.
    const seen = new Set<number>();
    const off = admin.monitor.on('snapshot', (s) => seen.add(s.at));
    await eventually(() => seen.size >= 2, WAIT, 'more snapshots');
    off();
    expect(latest!.nodes.length).toBeGreaterThanOrEqual(1);
    expect(latest!.cluster.nodesUp).toBeGreaterThanOrEqual(1);

    // Nothing else connects to this server meanwhile: the count settles (two snapshots in a row
    // agree), then follows two more users.
    const counts: number[] = [];
    const offCounts = admin.monitor.on('snapshot', (s) => counts.push(s.cluster.connections));
    await eventually(() => counts.length >= 2 && counts.at(-1) === counts.at(-2), WAIT, 'a settled connection count');
    offCounts();
    const baseline = counts.at(-1)!;
    expect(baseline).toBeGreaterThan(0);
    const others = [await signedIn(t), await signedIn(t)];
    await eventually(() => latest!.cluster.connections >= baseline + 2, WAIT, 'the two new clients in the count');
    await eventually(() => latest!.cluster.usersOnline >= 3, WAIT, 'three users online');
    for (const c of others) c.close();
    await eventually(() => latest!.cluster.connections === baseline, WAIT, 'the count back where it was');

    // Closing the monitor leaves /monitor; reopening comes back.
    admin.monitor.close();
    await eventually(() => monitorSockets(admin.user!.id).length === 0);
    latest = undefined;
    await admin.monitor.open();
    await eventually(() => latest !== undefined, WAIT, 'snapshots after reopening');
  });

  it('refuses a non-admin with FORBIDDEN, and an ordinary client never opens /monitor by itself', async () => {
    const before = monitorHandshakes.length;
    const user = await signedIn(t);
    expect(user.user?.role).toBe('user');
    const room = await user.chat.createRoom({ name: uniqueName('plain'), kind: 'public' });
    await user.chat.send(room.id, 'just chatting');
    await user.notifications.list();
    expect(monitorHandshakes.length).toBe(before);

    const errors: string[] = [];
    user.monitor.on('error', (e) => errors.push(e.code));
    await expect(user.monitor.open()).rejects.toMatchObject({ name: 'SwitchboardError', code: 'FORBIDDEN' });
    expect(errors).toEqual(['FORBIDDEN']);
    expect(monitorHandshakes.length).toBe(before + 1);
    // A request asks again, and is refused the same way rather than waiting for its timeout.
    await expect(user.monitor.rules()).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(monitorHandshakes.length).toBe(before + 2);
    // A refusal is final: no retries behind the app's back, and the rest of the client is unaffected.
    await new Promise((r) => setTimeout(r, 300));
    expect(monitorHandshakes.length).toBe(before + 2);
    expect(user.state).toBe('connected');
    expect((await user.chat.send(room.id, 'still here')).seq).toBe(2);
    expect(monitorSockets(user.user!.id)).toHaveLength(0);
  });

  it('creates, replaces and deletes alert rules; a rule that holds fires and resolves', async () => {
    await watch();
    const { rules: initial } = await admin.monitor.rules();
    const alerts: Alert[] = [];
    admin.monitor.on('alertFiring', (a) => alerts.push(a));
    admin.monitor.on('alertResolved', (a) => alerts.push(a));
    const notified: Notification[] = [];
    admin.notifications.on('notification', (n) => notified.push(n));

    // An impossible condition: it never fires.
    const created = await admin.monitor.setRule({ metric: 'connections', op: '>', threshold: 1e9, forSeconds: 0, severity: 'info', enabled: true });
    expect(created).toMatchObject({ metric: 'connections', op: '>', threshold: 1e9, forSeconds: 0, severity: 'info', enabled: true });
    expect(typeof created.id).toBe('string');
    let listed = await admin.monitor.rules();
    expect(listed.rules).toHaveLength(initial.length + 1);
    expect(listed.rules).toContainEqual(created);

    // Replaced in place: one rule still, now a condition that holds (the admin is connected).
    const replaced = await admin.monitor.setRule({ ...created, threshold: 0, severity: 'warning' });
    expect(replaced).toEqual({ ...created, threshold: 0, severity: 'warning' });
    listed = await admin.monitor.rules();
    expect(listed.rules).toHaveLength(initial.length + 1);
    expect(listed.rules).toContainEqual(replaced);

    await eventually(() => alerts.some((a) => a.ruleId === created.id && a.resolvedAt === null), WAIT, 'the alert to fire');
    const firing = alerts.find((a) => a.ruleId === created.id)!;
    expect(firing).toMatchObject({ metric: 'connections', threshold: 0, severity: 'warning', resolvedAt: null });
    expect(firing.value).toBeGreaterThan(0);
    expect((await admin.monitor.rules()).active.map((a) => a.id)).toContain(firing.id);
    await eventually(() => notified.some((n) => n.kind === 'alert'), WAIT, 'the alert notification');

    // Deleting the rule resolves its alert.
    await admin.monitor.deleteRule(created.id);
    await eventually(() => alerts.some((a) => a.id === firing.id && a.resolvedAt !== null), WAIT, 'the alert to resolve');
    listed = await admin.monitor.rules();
    expect(listed.rules.map((r) => r.id)).not.toContain(created.id);
    expect(listed.active.map((a) => a.id)).not.toContain(firing.id);

    // Unknown ids and bad rules are refused with the protocol's codes.
    await expect(admin.monitor.deleteRule(created.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(admin.monitor.setRule({ ...created })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(admin.monitor.setRule({ metric: 'connections', op: '>', threshold: 1, forSeconds: -1, severity: 'info', enabled: true })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect((await admin.monitor.rules()).rules).toHaveLength(initial.length);
  });

  it('answers history for a metric over a range', async () => {
    await watch();
    await eventually(() => latest !== undefined, WAIT, 'a first snapshot');
    const to = Date.now();
    const history = await admin.monitor.history('connections', to - 60_000, to);
    expect(history.metric).toBe('connections');
    expect(history.stepMs).toBeGreaterThan(0);
    for (const [at, value] of history.points) {
      expect(at).toBeGreaterThanOrEqual(to - 60_000 - history.stepMs);
      expect(at).toBeLessThanOrEqual(to);
      expect(value).toBeGreaterThanOrEqual(0);
    }
    await expect(admin.monitor.history('connections', to, to - 1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('lists an error group after a bad request', async () => {
    const user = await signedIn(t);
    await expect(user.chat.joinRoom('no-such-room')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    let group: ErrorGroup | undefined;
    await eventually(
      async () => {
        group = (await admin.monitor.errors()).find((g) => g.code === 'NOT_FOUND' && g.event === 'room:join');
        return group !== undefined;
      },
      WAIT,
      'the error group',
    );
    expect(group!.count).toBeGreaterThanOrEqual(1);
    expect(group!.firstSeenAt).toBeLessThanOrEqual(group!.lastSeenAt);
    expect(typeof group!.nodeId).toBe('string');
    expect(await admin.monitor.errors(1)).toHaveLength(1);
  });
});
