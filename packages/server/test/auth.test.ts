import { SignJWT } from 'jose';
import type { Session } from '@switchboard/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeSockets, connect, connectError, http, next, register, request, startServer, uniqueName, type TestServer } from './helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
});
afterAll(() => t.close());
afterEach(closeSockets);

describe('HTTP auth', () => {
  it('registers: the first account is admin, later ones are users', async () => {
    const first = await register(t.url);
    const second = await register(t.url);
    expect(first.user.role).toBe('admin');
    expect(second.user.role).toBe('user');
    expect(first.expiresIn).toBe(900);
    expect(typeof first.refreshToken).toBe('string');
    expect(first.user).toEqual({
      id: expect.any(String),
      username: first.user.username,
      displayName: first.user.username,
      role: 'admin',
      createdAt: expect.any(Number),
    });
  });

  it('refuses a taken username case-insensitively with 409 CONFLICT', async () => {
    const name = uniqueName('Case');
    await register(t.url, name);
    const res = await http<{ error: { code: string } }>(t.url, 'POST', '/api/auth/register', {
      username: name.toUpperCase(),
      password: 'tangerine-harbor-7',
    });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('CONFLICT');
  });

  it.each([
    [{ username: 'ab', password: 'tangerine-harbor-7' }],
    [{ username: 'has space', password: 'tangerine-harbor-7' }],
    [{ username: 'validname', password: 'short' }],
    [{ username: 'validname', password: 'x'.repeat(129) }],
    [{ username: 42, password: 'tangerine-harbor-7' }],
    [{}],
  ])('rejects bad registration input %j with 400 INVALID_ARGUMENT', async (body) => {
    const res = await http<{ error: { code: string; message: string } }>(t.url, 'POST', '/api/auth/register', body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_ARGUMENT');
    expect(res.body.error.message).toBeTruthy();
  });

  it('answers malformed JSON and oversized bodies with the wire error shape', async () => {
    const bad = await http<{ error: { code: string } }>(t.url, 'POST', '/api/auth/login', '{"username":');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_ARGUMENT');
    const big = await http<{ error: { code: string } }>(t.url, 'POST', '/api/auth/login', {
      username: 'x',
      password: 'y'.repeat(200_000),
    });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('logs in case-insensitively, refuses a wrong password with 401, and /api/me needs a bearer', async () => {
    const name = uniqueName('Login');
    const s = await register(t.url, name, 'tangerine-harbor-7');
    const login = await http<Session>(t.url, 'POST', '/api/auth/login', { username: name.toLowerCase(), password: 'tangerine-harbor-7' });
    expect(login.status).toBe(200);
    expect(login.body.user.id).toBe(s.user.id);
    const wrong = await http<{ error: { code: string } }>(t.url, 'POST', '/api/auth/login', { username: name, password: 'nope-nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('UNAUTHENTICATED');
    const me = await http<{ user: { id: string } }>(t.url, 'GET', '/api/me', undefined, login.body.accessToken);
    expect(me.status).toBe(200);
    expect(me.body.user.id).toBe(s.user.id);
    expect((await http(t.url, 'GET', '/api/me')).status).toBe(401);
    expect((await http(t.url, 'GET', '/api/me', undefined, 'not.a.jwt')).status).toBe(401);
  });

  it('throttles failed logins per username and IP with 429 after 10 failures', async () => {
    const name = uniqueName('Brute');
    await register(t.url, name, 'tangerine-harbor-7');
    for (let i = 0; i < 10; i++) {
      const res = await http(t.url, 'POST', '/api/auth/login', { username: name, password: `wrong-${i}-pass` });
      expect(res.status).toBe(401);
    }
    const blocked = await http<{ error: { code: string; retryAfterMs: number } }>(t.url, 'POST', '/api/auth/login', {
      username: name,
      password: 'tangerine-harbor-7',
    });
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe('RATE_LIMITED');
    expect(blocked.body.error.retryAfterMs).toBeGreaterThan(0);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('rotates refresh tokens; reusing a spent one revokes the whole login', async () => {
    const s = await register(t.url);
    const r1 = await http<Session>(t.url, 'POST', '/api/auth/refresh', { refreshToken: s.refreshToken });
    expect(r1.status).toBe(200);
    expect(r1.body.refreshToken).not.toBe(s.refreshToken);
    const r2 = await http<Session>(t.url, 'POST', '/api/auth/refresh', { refreshToken: r1.body.refreshToken });
    expect(r2.status).toBe(200);

    const chat = await connect(t.url, '/chat', r2.body.accessToken);
    const dropped = new Promise<string>((resolve) => chat.once('disconnect', (reason) => resolve(reason)));
    // Reuse of the first (spent) token: 401, and every token of the login is refused from now on.
    const reuse = await http<{ error: { code: string } }>(t.url, 'POST', '/api/auth/refresh', { refreshToken: s.refreshToken });
    expect(reuse.status).toBe(401);
    expect(await dropped).toBe('io server disconnect');
    expect((await http(t.url, 'GET', '/api/me', undefined, r2.body.accessToken)).status).toBe(401);
    expect((await http(t.url, 'POST', '/api/auth/refresh', { refreshToken: r2.body.refreshToken })).status).toBe(401);
    expect(await connectError(t.url, '/chat', { token: r2.body.accessToken })).toBe('UNAUTHENTICATED');
  });

  it('logout revokes the login: 204, access token refused, sockets disconnected; other logins live on', async () => {
    const name = uniqueName('Out');
    const a = await register(t.url, name, 'tangerine-harbor-7');
    const b = (await http<Session>(t.url, 'POST', '/api/auth/login', { username: name, password: 'tangerine-harbor-7' })).body;
    const chat = await connect(t.url, '/chat', a.accessToken);
    const notif = await connect(t.url, '/notifications', a.accessToken);
    const other = await connect(t.url, '/chat', b.accessToken);
    const dropped = Promise.all([chat, notif].map((s) => new Promise((r) => s.once('disconnect', r))));
    const out = await http(t.url, 'POST', '/api/auth/logout', { refreshToken: a.refreshToken });
    expect(out.status).toBe(204);
    await dropped;
    expect((await http(t.url, 'GET', '/api/me', undefined, a.accessToken)).status).toBe(401);
    expect((await http(t.url, 'POST', '/api/auth/refresh', { refreshToken: a.refreshToken })).status).toBe(401);
    expect(other.connected).toBe(true);
    expect((await http(t.url, 'GET', '/api/me', undefined, b.accessToken)).status).toBe(200);
  });

  it('closes registration with ALLOW_REGISTRATION=false (403)', async () => {
    const closed = await startServer({ ALLOW_REGISTRATION: 'false' });
    try {
      const res = await http<{ error: { code: string } }>(closed.url, 'POST', '/api/auth/register', {
        username: 'someone',
        password: 'tangerine-harbor-7',
      });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
    } finally {
      await closed.close();
    }
  });
});

describe('socket handshake', () => {
  it.each(['/chat', '/notifications', '/'])('refuses missing, malformed and forged tokens on %s', async (ns) => {
    const s = await register(t.url);
    expect(await connectError(t.url, ns, {})).toBe('UNAUTHENTICATED');
    expect(await connectError(t.url, ns, { token: 42 })).toBe('UNAUTHENTICATED');
    expect(await connectError(t.url, ns, { token: 'garbage' })).toBe('UNAUTHENTICATED');
    const forged = await new SignJWT({ sid: 'x' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(s.user.id)
      .setIssuer('switchboard')
      .setAudience('switchboard')
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode('a'.repeat(48)));
    expect(await connectError(t.url, ns, { token: forged })).toBe('UNAUTHENTICATED');
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${s.accessToken.split('.')[1]}.`;
    expect(await connectError(t.url, ns, { token: unsigned })).toBe('UNAUTHENTICATED');
  });

  it('refuses an expired token', async () => {
    const short = await startServer({ ACCESS_TOKEN_TTL: 5 });
    try {
      const s = await register(short.url);
      await new Promise((r) => setTimeout(r, 6000));
      expect(await connectError(short.url, '/chat', { token: s.accessToken })).toBe('UNAUTHENTICATED');
    } finally {
      await short.close();
    }
  });

  it('sends auth:expired and disconnects when the token expires, unless renewed', async () => {
    const short = await startServer({ ACCESS_TOKEN_TTL: 5 });
    try {
      const s = await register(short.url);
      const other = await register(short.url);
      const renewed = await connect(short.url, '/chat', s.accessToken);
      const lapsed = await connect(short.url, '/notifications', s.accessToken);
      const expired = next(lapsed, 'auth:expired', () => true, 8000);
      const gone = new Promise((r) => lapsed.once('disconnect', r));

      // A token of another user, or garbage, does not renew.
      const foreign = await request(renewed, 'auth:renew', { token: other.accessToken });
      expect(foreign).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
      expect(await request(renewed, 'auth:renew', { token: 'nope' })).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
      expect(await request(renewed, 'auth:renew', {})).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });

      await new Promise((r) => setTimeout(r, 1100)); // a later iat/exp
      const fresh = await http<Session>(short.url, 'POST', '/api/auth/refresh', { refreshToken: s.refreshToken });
      expect(await request(renewed, 'auth:renew', { token: fresh.body.accessToken })).toEqual({ ok: true });

      await expired;
      await gone;
      // Both sockets held the same first token, so its expiry has passed for `renewed` too;
      // the renewed token lives at least one second longer, which leaves room for this check.
      await new Promise((r) => setTimeout(r, 400));
      expect(renewed.connected).toBe(true);
    } finally {
      await short.close();
    }
  });

  it('refuses a browser Origin that is neither same-origin nor allowed', async () => {
    const res = await fetch(`${t.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
    const same = await fetch(`${t.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: t.url } });
    expect(same.status).toBe(200);
  });
});

describe('health', () => {
  it('answers /healthz and /readyz', async () => {
    expect((await http(t.url, 'GET', '/healthz')).status).toBe(200);
    const ready = await http<{ status: string }>(t.url, 'GET', '/readyz');
    expect(ready).toMatchObject({ status: 200, body: { status: 'ready' } });
  });
});
