/**
 * Tokens: proactive refresh across access-token expiry (server with ACCESS_TOKEN_TTL=5), a token
 * provider, recovery from a refused handshake, the end of a login, and logout.
 */
import type { Session } from '@switchboard/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { login, register as sdkRegister, SwitchboardError } from '@switchboard/client';
import { eventually, http, register, startServer, uniqueName, type TestServer } from '../../server/test/helpers.js';
import { client, closeClients, serverSockets } from './support.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer({ ACCESS_TOKEN_TTL: 5 });
});
afterAll(() => t.close());
afterEach(closeClients);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SDK auth', () => {
  it('stays connected across access-token expiry: refreshes, rotates, renews the live sockets', async () => {
    const name = uniqueName('fresh');
    const first = await sdkRegister(t.url, { username: name, password: 'tangerine-harbor-7' });
    const withPassword = client({ url: t.url, username: name, password: 'tangerine-harbor-7' });

    // A token provider: the app's own auth (here, plain refreshes) hands out access tokens.
    let current: Session = await register(t.url);
    let provided = 0;
    const withProvider = client({
      url: t.url,
      getToken: async () => {
        provided++;
        current = (await http<Session>(t.url, 'POST', '/api/auth/refresh', { refreshToken: current.refreshToken })).body;
        return current.accessToken;
      },
    });
    await Promise.all([withPassword.ready(), withProvider.ready()]);
    expect(withPassword.user?.id).toBe(first.user.id);
    expect(withProvider.user?.id).toBe(current.user.id);

    const initial = withPassword.session!;
    const sessions: Session[] = [];
    withPassword.on('session', (s) => sessions.push(s));
    const states: string[] = [];
    for (const c of [withPassword, withProvider]) c.on('state', (s) => states.push(s));
    const socketIds = [withPassword, withProvider].map((c) => serverSockets(t, '/chat', c.user!.id).map((s) => s.id));

    await sleep(7_000); // past the 5 s expiry of the tokens the clients connected with

    expect(states).toEqual([]);
    expect(sessions.length).toBeGreaterThanOrEqual(1);
    // Each refresh rotated the refresh token, and the newest one is kept.
    const refreshTokens = [initial, ...sessions].map((s) => s.refreshToken);
    expect(new Set(refreshTokens).size).toBe(refreshTokens.length);
    expect(withPassword.session).toEqual(sessions.at(-1));
    expect(provided).toBeGreaterThanOrEqual(2);
    // The very same server-side sockets: renewed in place, never dropped.
    expect([withPassword, withProvider].map((c) => serverSockets(t, '/chat', c.user!.id).map((s) => s.id))).toEqual(socketIds);

    const room = await withPassword.chat.createRoom({ name: uniqueName('ttl'), kind: 'public' });
    await withProvider.chat.joinRoom(room.id);
    const sent = await withPassword.chat.send(room.id, 'still here');
    expect(sent.seq).toBe(1);
    expect((await withProvider.chat.send(room.id, 'me too')).seq).toBe(2);
  });

  it('recovers from a refused handshake by refreshing, then connects', async () => {
    const session = await register(t.url);
    const c = client({ url: t.url, session: { ...session, accessToken: 'not.a.token' } });
    const renewed = new Promise<Session>((resolve) => c.on('session', resolve));
    await c.ready();
    const next = await renewed;
    expect(next.refreshToken).not.toBe(session.refreshToken);
    expect(c.session).toEqual(next);
    expect(c.state).toBe('connected');
    expect(serverSockets(t, '/chat', session.user.id)).toHaveLength(1);
  });

  it('stops with UNAUTHENTICATED when its login is ended elsewhere', async () => {
    const session = await register(t.url);
    const c = client({ url: t.url, session });
    await c.ready();
    const failed = new Promise<SwitchboardError>((resolve) => c.on('error', resolve));
    const states: string[] = [];
    c.on('state', (s) => states.push(s));
    expect((await http(t.url, 'POST', '/api/auth/logout', { refreshToken: session.refreshToken })).status).toBe(204);
    const err = await failed;
    expect(err).toBeInstanceOf(SwitchboardError);
    expect(err.code).toBe('UNAUTHENTICATED');
    await eventually(() => c.state === 'disconnected');
    expect(states.at(-1)).toBe('disconnected');
    await expect(c.ready()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('a password client logs in again when its login is ended elsewhere', async () => {
    const name = uniqueName('again');
    await sdkRegister(t.url, { username: name, password: 'tangerine-harbor-7' });
    const c = client({ url: t.url, username: name, password: 'tangerine-harbor-7' });
    await c.ready();
    const before = c.session!;
    const back = new Promise<Session>((resolve) => c.on('session', resolve));
    await http(t.url, 'POST', '/api/auth/logout', { refreshToken: before.refreshToken });
    const after = await back;
    await eventually(() => c.state === 'connected');
    expect(after.user.id).toBe(before.user.id);
    expect(after.refreshToken).not.toBe(before.refreshToken);
    await c.ready();
  });

  it('logout() ends the login on the server and disconnects for good', async () => {
    const name = uniqueName('bye');
    await sdkRegister(t.url, { username: name, password: 'tangerine-harbor-7' });
    const session = await login(t.url, { username: name, password: 'tangerine-harbor-7' });
    const c = client({ url: t.url, session });
    await c.ready();
    await c.logout();
    expect(c.state).toBe('disconnected');
    expect((await http(t.url, 'POST', '/api/auth/refresh', { refreshToken: c.session!.refreshToken })).status).toBe(401);
    await eventually(() => serverSockets(t, '/chat', session.user.id).length === 0);
    await expect(c.ready()).rejects.toBeInstanceOf(SwitchboardError);
  });

  it('register() and login() report HTTP failures with the protocol code', async () => {
    const name = uniqueName('dup');
    await sdkRegister(t.url, { username: name, password: 'tangerine-harbor-7' });
    await expect(sdkRegister(t.url, { username: name, password: 'tangerine-harbor-7' })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(login(t.url, { username: name, password: 'wrong-password' })).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
  });
});
