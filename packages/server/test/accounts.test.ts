/**
 * Accounts after sign-up (PROTOCOL §4.3) on both databases: the display name, a password change
 * that ends the user's other logins (a connected socket included), and invite links — closed
 * registration, the invite's room, expiry, and `maxUses` under parallel registrations.
 */
import type { Invite, Session, User } from '@switchboard/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeSockets, connect, dialects, http, ok, register, startServer, uniqueName, type TestServer } from './helpers.js';

type ErrorBody = { error: { code: string; message: string } };

const login = (url: string, username: string, password: string) =>
  http<Session & ErrorBody>(url, 'POST', '/api/auth/login', { username, password });

describe.each(dialects)('accounts on %s', (dialect) => {
  let t: TestServer;
  let admin: Session;
  beforeAll(async () => {
    t = await startServer({ dialect });
    admin = await register(t.url);
  });
  afterAll(() => t.close());
  afterEach(closeSockets);

  it('changes the display name, validated as every name people see', async () => {
    const user = await register(t.url);
    const res = await http<{ user: User }>(t.url, 'PATCH', '/api/me', { displayName: '  Ada Lovelace ' }, user.accessToken);
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ id: user.user.id, displayName: 'Ada Lovelace' });
    expect((await http<{ user: User }>(t.url, 'GET', '/api/me', undefined, user.accessToken)).body.user.displayName).toBe('Ada Lovelace');
    for (const displayName of ['', 'bad\u202Ename', 42, 'x'.repeat(65)]) {
      const bad = await http<ErrorBody>(t.url, 'PATCH', '/api/me', { displayName }, user.accessToken);
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('INVALID_ARGUMENT');
    }
    expect((await http(t.url, 'PATCH', '/api/me', { displayName: 'Nobody' })).status).toBe(401);
  });

  it('changes the password: other logins end at once (their sockets too), the caller stays', async () => {
    const username = uniqueName('pw');
    const password = 'violet-tangerine-41';
    const first = await register(t.url, username, password);
    const second = (await login(t.url, username, password)).body;
    const socket = await connect(t.url, '/chat', second.accessToken);
    const disconnected = new Promise<string>((resolve) => socket.on('disconnect', resolve));

    const wrong = await http<ErrorBody>(t.url, 'POST', '/api/me/password', { currentPassword: 'not-it-at-all', newPassword: 'orchid-lantern-55' }, first.accessToken);
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.code).toBe('FORBIDDEN');
    const weak = await http<ErrorBody>(t.url, 'POST', '/api/me/password', { currentPassword: password, newPassword: 'password1' }, first.accessToken);
    expect(weak.status).toBe(400);
    const short = await http<ErrorBody>(t.url, 'POST', '/api/me/password', { currentPassword: password, newPassword: 'short' }, first.accessToken);
    expect(short.status).toBe(400);
    expect(socket.connected).toBe(true);

    const changed = await http(t.url, 'POST', '/api/me/password', { currentPassword: password, newPassword: 'orchid-lantern-55' }, first.accessToken);
    expect(changed.status).toBe(204);
    expect(await disconnected).toBe('io server disconnect');
    expect((await http(t.url, 'GET', '/api/me', undefined, second.accessToken)).status).toBe(401);
    expect((await http(t.url, 'POST', '/api/auth/refresh', { refreshToken: second.refreshToken })).status).toBe(401);
    // The caller's login goes on, refresh included.
    expect((await http(t.url, 'GET', '/api/me', undefined, first.accessToken)).status).toBe(200);
    expect((await http(t.url, 'POST', '/api/auth/refresh', { refreshToken: first.refreshToken })).status).toBe(200);
    expect((await login(t.url, username, password)).status).toBe(401);
    expect((await login(t.url, username, 'orchid-lantern-55')).status).toBe(200);
  });

  it('counts wrong current passwords against the failed-login budget, so a stolen token cannot guess', async () => {
    const user = await register(t.url);
    const attempt = () =>
      http<ErrorBody & { retryAfterMs?: number }>(t.url, 'POST', '/api/me/password', { currentPassword: 'guess-guess-guess', newPassword: 'orchid-lantern-55' }, user.accessToken);
    for (let i = 0; i < 10; i++) expect((await attempt()).status).toBe(403);
    const limited = await attempt();
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('creates invites: admins for any room or none, members for their room only', async () => {
    const member = await register(t.url);
    const outsider = await register(t.url);
    const chat = await connect(t.url, '/chat', member.accessToken);
    const { room } = await ok<{ room: { id: string } }>(chat, 'room:create', { name: uniqueName('Invited'), kind: 'private' });

    const byMember = await http<{ invite: Invite }>(t.url, 'POST', '/api/invites', { roomId: room.id, maxUses: 2, expiresIn: 3600 }, member.accessToken);
    expect(byMember.status).toBe(201);
    expect(byMember.body.invite).toEqual({
      code: expect.stringMatching(/^[A-Za-z0-9_-]{16,}$/),
      url: `${t.url}/invite/${byMember.body.invite.code}`,
      roomId: room.id,
      maxUses: 2,
      expiresAt: expect.any(Number),
    });
    const open = await http<{ invite: Invite }>(t.url, 'POST', '/api/invites', {}, admin.accessToken);
    expect(open.status).toBe(201);
    expect(open.body.invite.maxUses).toBeNull();
    expect(open.body.invite.roomId).toBeNull();
    // Seven days by default.
    expect(open.body.invite.expiresAt - Date.now()).toBeGreaterThan(6.9 * 24 * 3600_000);
    expect((await http(t.url, 'POST', '/api/invites', { roomId: room.id }, admin.accessToken)).status).toBe(201);

    expect((await http<ErrorBody>(t.url, 'POST', '/api/invites', { roomId: room.id }, outsider.accessToken)).body.error.code).toBe('FORBIDDEN');
    expect((await http<ErrorBody>(t.url, 'POST', '/api/invites', {}, outsider.accessToken)).body.error.code).toBe('FORBIDDEN');
    expect((await http<ErrorBody>(t.url, 'POST', '/api/invites', { roomId: 'nosuchroom' }, admin.accessToken)).body.error.code).toBe('NOT_FOUND');
    for (const body of [{ maxUses: 0 }, { maxUses: 1.5 }, { expiresIn: 1 }, { roomId: 'bad id!' }, { expiresIn: '60' }]) {
      const bad = await http<ErrorBody>(t.url, 'POST', '/api/invites', body, admin.accessToken);
      expect(bad.status).toBe(400);
    }
    expect((await http(t.url, 'POST', '/api/invites', {})).status).toBe(401);
  });

  it('never lets more accounts in than maxUses, however many register at once', async () => {
    const chat = await connect(t.url, '/chat', admin.accessToken);
    const { room } = await ok<{ room: { id: string } }>(chat, 'room:create', { name: uniqueName('Limited'), kind: 'private' });
    const { invite } = (await http<{ invite: Invite }>(t.url, 'POST', '/api/invites', { roomId: room.id, maxUses: 3 }, admin.accessToken)).body;
    const attempts = await Promise.all(
      Array.from({ length: 10 }, () =>
        http<Session & ErrorBody>(t.url, 'POST', '/api/auth/register', { username: uniqueName('par'), password: 'violet-tangerine-41', inviteCode: invite.code }),
      ),
    );
    const admitted = attempts.filter((a) => a.status === 201);
    expect(admitted).toHaveLength(3);
    for (const refused of attempts.filter((a) => a.status !== 201)) {
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('FORBIDDEN');
      expect(refused.body.error.message).toMatch(/invite/);
    }
    // Each admitted account is a member of the invite's (private) room; nothing else was stored.
    const { members } = await ok<{ members: { id: string }[] }>(chat, 'room:members', { roomId: room.id });
    expect(members.map((m) => m.id).sort()).toEqual([admin.user.id, ...admitted.map((a) => a.body.user.id)].sort());
  });

  it('refuses unknown and expired codes; a refused code stores no account', async () => {
    const { invite } = (await http<{ invite: Invite }>(t.url, 'POST', '/api/invites', { expiresIn: 60 }, admin.accessToken)).body;
    // Expiry without waiting: the invite's time runs out in the database.
    await t.server.database.db.updateTable('invites').set({ expires_at: Date.now() - 1 }).where('code', '=', invite.code).execute();
    const username = uniqueName('late');
    for (const inviteCode of [invite.code, 'unknowncode123']) {
      const res = await http<ErrorBody>(t.url, 'POST', '/api/auth/register', { username, password: 'violet-tangerine-41', inviteCode });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
    }
    expect((await login(t.url, username, 'violet-tangerine-41')).status).toBe(401);
    // The username is still free.
    expect((await http(t.url, 'POST', '/api/auth/register', { username, password: 'violet-tangerine-41' })).status).toBe(201);
  });

  it('lets invited people register while registration is closed, and joins them to the room', async () => {
    const chat = await connect(t.url, '/chat', admin.accessToken);
    const { room } = await ok<{ room: { id: string } }>(chat, 'room:create', { name: uniqueName('Closed'), kind: 'public' });
    const { invite } = (await http<{ invite: Invite }>(t.url, 'POST', '/api/invites', { roomId: room.id }, admin.accessToken)).body;
    closeSockets();
    await t.stop();
    t = await t.restart({ ALLOW_REGISTRATION: 'false' });

    const closed = await http<ErrorBody>(t.url, 'POST', '/api/auth/register', { username: uniqueName('shut'), password: 'violet-tangerine-41' });
    expect(closed.status).toBe(403);
    const joined = await http<Session>(t.url, 'POST', '/api/auth/register', { username: uniqueName('inv'), password: 'violet-tangerine-41', inviteCode: invite.code });
    expect(joined.status).toBe(201);
    const socket = await connect(t.url, '/chat', joined.body.accessToken);
    const { rooms } = await ok<{ rooms: { id: string }[] }>(socket, 'room:list', {});
    expect(rooms.map((r) => r.id)).toContain(room.id);
  });
});
