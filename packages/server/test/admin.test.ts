/**
 * Administration (PROTOCOL §4.3) on both databases: finding accounts, roles (effective at once),
 * the last active admin kept (also when two admins demote each other at the same moment),
 * deactivation ending every connection of the user on every transport — and on another node — and
 * refusing new ones, password resets, and the NDJSON export.
 */
import type { AdminUser, ExportLine, Session } from '@switchboard/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeCollab, openRaw, roomWithDoc } from './collab-client.js';
import { closeSockets, connect, connectError, dialects, http, ok, register, startServer, uniqueName, type TestServer } from './helpers.js';
import { startCluster, type TestCluster } from './multinode.js';
import { connectWs, openSse } from './plain-clients.js';

type ErrorBody = { error: { code: string; message: string } };
const PASSWORD = 'violet-tangerine-41';

afterEach(() => {
  closeSockets();
  closeCollab();
});

describe.each(dialects)('administration on %s', (dialect) => {
  let t: TestServer;
  let admin: Session;
  beforeAll(async () => {
    t = await startServer({ dialect });
    admin = await register(t.url);
  });
  afterAll(() => t.close());

  const patch = (id: string, body: unknown, token = admin.accessToken) =>
    http<{ user: AdminUser } & ErrorBody>(t.url, 'PATCH', `/api/admin/users/${id}`, body, token);

  it('is for admins only, and validates its input', async () => {
    const user = await register(t.url);
    const routes: [string, string, unknown?][] = [
      ['GET', '/api/admin/users'],
      ['PATCH', `/api/admin/users/${admin.user.id}`, { role: 'user' }],
      ['POST', `/api/admin/users/${admin.user.id}/password`],
      ['GET', '/api/admin/export'],
    ];
    for (const [method, path, body] of routes) {
      const res = await http<ErrorBody>(t.url, method, path, body, user.accessToken);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
      expect((await http(t.url, method, path, body)).status).toBe(401);
    }
    for (const body of [{}, { role: 'bot' }, { role: 'owner' }, { deactivated: 'yes' }]) {
      expect((await patch(user.user.id, body)).status).toBe(400);
    }
    expect((await patch('bad id!', { role: 'user' })).status).toBe(400);
    expect((await patch('nosuchuser', { role: 'user' })).body.error.code).toBe('NOT_FOUND');
    expect((await http(t.url, 'GET', '/api/admin/users?limit=0', undefined, admin.accessToken)).status).toBe(400);
    expect((await http(t.url, 'GET', `/api/admin/users?query=${'x'.repeat(65)}`, undefined, admin.accessToken)).status).toBe(400);
  });

  it('documents its routes in the OpenAPI document', async () => {
    const res = await http<{ paths: Record<string, Record<string, { tags?: string[]; requestBody?: unknown }>> }>(t.url, 'GET', '/api/docs/json');
    expect(res.status).toBe(200);
    const { paths } = res.body;
    expect(paths['/api/admin/users']?.get?.tags).toEqual(['admin']);
    expect(paths['/api/admin/users/{id}']?.patch?.requestBody).toBeDefined();
    expect(paths['/api/admin/users/{id}/password']?.post?.tags).toEqual(['admin']);
    expect(paths['/api/admin/export']?.get?.tags).toEqual(['admin']);
    expect(paths['/api/me']?.patch?.requestBody).toBeDefined();
    expect(paths['/api/me/password']?.post?.requestBody).toBeDefined();
    expect(paths['/api/invites']?.post?.requestBody).toBeDefined();
  });

  it('finds accounts by username or display name, with their standing', async () => {
    const prefix = uniqueName('find');
    const a = await register(t.url, `${prefix}a`);
    await register(t.url, `${prefix}b`);
    await register(t.url, `${prefix}c`);
    await http(t.url, 'PATCH', '/api/me', { displayName: 'Grace Hopper' }, a.accessToken);
    const found = await http<{ users: AdminUser[] }>(t.url, 'GET', `/api/admin/users?query=${prefix}`, undefined, admin.accessToken);
    expect(found.status).toBe(200);
    expect(found.body.users.map((u) => u.username)).toEqual([`${prefix}a`, `${prefix}b`, `${prefix}c`]);
    expect(found.body.users[0]).toEqual({
      id: a.user.id,
      username: `${prefix}a`,
      displayName: 'Grace Hopper',
      role: 'user',
      createdAt: a.user.createdAt,
      deactivated: false,
      lastSeenAt: null,
    });
    const byName = await http<{ users: AdminUser[] }>(t.url, 'GET', '/api/admin/users?query=grace%20hop', undefined, admin.accessToken);
    expect(byName.body.users.map((u) => u.id)).toContain(a.user.id);
    const limited = await http<{ users: AdminUser[] }>(t.url, 'GET', `/api/admin/users?query=${prefix}&limit=2`, undefined, admin.accessToken);
    expect(limited.body.users).toHaveLength(2);
    const everyone = await http<{ users: AdminUser[] }>(t.url, 'GET', '/api/admin/users', undefined, admin.accessToken);
    expect(everyone.body.users.length).toBeGreaterThanOrEqual(4);
  });

  it('changes roles, effective at once for the tokens already out', async () => {
    const user = await register(t.url);
    const promoted = await patch(user.user.id, { role: 'admin' });
    expect(promoted.status).toBe(200);
    expect(promoted.body.user.role).toBe('admin');
    expect((await http(t.url, 'GET', '/api/admin/users', undefined, user.accessToken)).status).toBe(200);
    // What only admins may hold open closes when they stop being one; the chat stays.
    const monitor = await connect(t.url, '/monitor', user.accessToken);
    const chat = await connect(t.url, '/chat', user.accessToken);
    const monitorGone = new Promise<string>((resolve) => monitor.on('disconnect', resolve));
    expect((await patch(user.user.id, { role: 'user' })).body.user.role).toBe('user');
    expect(await monitorGone).toBe('io server disconnect');
    expect((await http(t.url, 'GET', '/api/admin/users', undefined, user.accessToken)).status).toBe(403);
    expect(await connectError(t.url, '/monitor', { token: user.accessToken })).toBe('FORBIDDEN');
    expect(chat.connected).toBe(true);
  });

  it('keeps one active admin: demoting or deactivating the last one is a CONFLICT, also in a race', async () => {
    const fresh = await startServer({ dialect });
    try {
      const first = await register(fresh.url);
      const second = await register(fresh.url);
      const on = (id: string, body: unknown, token: string) =>
        http<{ user: AdminUser } & ErrorBody>(fresh.url, 'PATCH', `/api/admin/users/${id}`, body, token);
      for (const body of [{ role: 'user' }, { deactivated: true }]) {
        const res = await on(first.user.id, body, first.accessToken);
        expect(res.status).toBe(409);
        expect(res.body.error.code).toBe('CONFLICT');
      }
      expect((await on(second.user.id, { role: 'admin' }, first.accessToken)).status).toBe(200);
      // Both step down at the same moment: one of them must stay admin.
      const [a, b] = await Promise.all([
        on(first.user.id, { role: 'user' }, first.accessToken),
        on(second.user.id, { deactivated: true }, second.accessToken),
      ]);
      expect([a.status, b.status].sort()).toEqual([200, 409]);
      const { users } = (await http<{ users: AdminUser[] }>(fresh.url, 'GET', '/api/admin/users', undefined, a.status === 200 ? second.accessToken : first.accessToken)).body;
      expect(users.filter((u) => u.role === 'admin' && !u.deactivated)).toHaveLength(1);
    } finally {
      await fresh.close();
    }
  });

  it('deactivation ends every connection of the user at once and refuses new logins', async () => {
    const username = uniqueName('gone');
    const user = await register(t.url, username, PASSWORD);
    const other = (await http<Session>(t.url, 'POST', '/api/auth/login', { username, password: PASSWORD })).body;
    const chat = await connect(t.url, '/chat', user.accessToken);
    const notifications = await connect(t.url, '/notifications', other.accessToken, { transports: ['polling'] });
    const ws = await connectWs(t.url, user.accessToken);
    const sse = await openSse(t.url, { token: other.accessToken });
    expect(sse.status).toBe(200);
    const owner = { session: user, chat };
    const { doc } = await roomWithDoc(t.url, owner);
    const collab = await openRaw(t.url, doc.id, user.accessToken);
    const gone = (socket: typeof chat) => new Promise<string>((resolve) => socket.on('disconnect', resolve));
    const chatGone = gone(chat);
    const notificationsGone = gone(notifications);

    const res = await patch(user.user.id, { deactivated: true });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ id: user.user.id, deactivated: true });
    expect(await chatGone).toBe('io server disconnect');
    expect(await notificationsGone).toBe('io server disconnect');
    expect((await ws.closed).code).toBe(4003);
    expect(await collab.closed).toBe(4401);
    await sse.ended;

    // New logins and connections are refused, whatever the token or password.
    expect((await http(t.url, 'GET', '/api/me', undefined, user.accessToken)).status).toBe(401);
    expect(await connectError(t.url, '/chat', { token: other.accessToken })).toBe('UNAUTHENTICATED');
    expect((await http(t.url, 'POST', '/api/auth/refresh', { refreshToken: other.refreshToken })).status).toBe(401);
    const refused = await http<ErrorBody>(t.url, 'POST', '/api/auth/login', { username, password: PASSWORD });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('UNAUTHENTICATED');

    // Reactivated, the account logs in again.
    expect((await patch(user.user.id, { deactivated: false })).body.user.deactivated).toBe(false);
    expect((await http(t.url, 'POST', '/api/auth/login', { username, password: PASSWORD })).status).toBe(200);
  });

  it('resets a password: a temporary one for the admin to pass on, every login of the user ended', async () => {
    const username = uniqueName('reset');
    const user = await register(t.url, username, PASSWORD);
    const chat = await connect(t.url, '/chat', user.accessToken);
    const gone = new Promise<string>((resolve) => chat.on('disconnect', resolve));
    const res = await http<{ temporaryPassword: string }>(t.url, 'POST', `/api/admin/users/${user.user.id}/password`, undefined, admin.accessToken);
    expect(res.status).toBe(200);
    expect(res.body.temporaryPassword.length).toBeGreaterThanOrEqual(12);
    expect(await gone).toBe('io server disconnect');
    expect((await http(t.url, 'GET', '/api/me', undefined, user.accessToken)).status).toBe(401);
    expect((await http(t.url, 'POST', '/api/auth/login', { username, password: PASSWORD })).status).toBe(401);
    expect((await http(t.url, 'POST', '/api/auth/login', { username, password: res.body.temporaryPassword })).status).toBe(200);
  });

  it('exports users without secrets, rooms, memberships and messages as NDJSON', async () => {
    const user = await register(t.url);
    const chat = await connect(t.url, '/chat', user.accessToken);
    const { room } = await ok<{ room: { id: string } }>(chat, 'room:create', { name: uniqueName('Export'), kind: 'public' });
    const { message } = await ok<{ message: { id: string } }>(chat, 'message:send', { roomId: room.id, clientMsgId: 'export-1', text: 'to be exported' });

    const res = await fetch(`${t.url}/api/admin/export`, { headers: { authorization: `Bearer ${admin.accessToken}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const text = await res.text();
    expect(text).not.toMatch(/scrypt|password/i);
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as ExportLine);
    const types = lines.map((l) => l.type);
    // Users first, then rooms, memberships and messages.
    expect(types.join(' ')).toMatch(/^(user )+(room )+(membership )+(message ?)+$/);
    expect(lines).toContainEqual({ type: 'user', data: expect.objectContaining({ id: user.user.id, username: user.user.username, deactivated: false }) });
    expect(lines).toContainEqual({ type: 'room', data: expect.objectContaining({ id: room.id, createdBy: user.user.id, lastSeq: 1 }) });
    expect(lines).toContainEqual({ type: 'membership', data: expect.objectContaining({ roomId: room.id, userId: user.user.id }) });
    expect(lines).toContainEqual({
      type: 'message',
      data: expect.objectContaining({ id: message.id, roomId: room.id, seq: 1, senderId: user.user.id, text: 'to be exported', deleted: false }),
    });
  });
});

describe('administration across nodes', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster(2);
  });
  afterAll(() => cluster.close());

  it('deactivation on one node ends the connections of the user on the other', async () => {
    const [a, b] = cluster.nodes as [TestServer, TestServer];
    const admin = await register(a.url);
    const user = await register(b.url);
    const chat = await connect(b.url, '/chat', user.accessToken);
    const ws = await connectWs(b.url, user.accessToken);
    const gone = new Promise<string>((resolve) => chat.on('disconnect', resolve));
    const res = await http(a.url, 'PATCH', `/api/admin/users/${user.user.id}`, { deactivated: true }, admin.accessToken);
    expect(res.status).toBe(200);
    expect(await gone).toBe('io server disconnect');
    expect((await ws.closed).code).toBe(4003);
    expect(await connectError(b.url, '/chat', { token: user.accessToken })).toBe('UNAUTHENTICATED');
  });
});
