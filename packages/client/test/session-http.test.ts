/**
 * The session helpers apps use with a token provider (the web app keeps its Session in browser
 * storage and renews it itself): `refresh()` rotates the refresh token, a spent one is refused,
 * and `logout()` ends the login.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, logout, refresh, register, SwitchboardError } from '@switchboard/client';
import { startServer, uniqueName, type TestServer } from '../../server/test/helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
});
afterAll(() => t.close());

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (err: unknown) => (err instanceof SwitchboardError ? err.code : 'not a SwitchboardError'),
  );

describe('SDK session helpers', () => {
  it('refresh() rotates the refresh token and a spent one is refused', async () => {
    const first = await register(t.url, { username: uniqueName('rot'), password: 'tangerine-harbor-7' });
    const second = await refresh(t.url, first.refreshToken);
    expect(second.user.id).toBe(first.user.id);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.expiresIn).toBeGreaterThan(0);
    expect(await refusal(refresh(t.url, first.refreshToken))).toBe(ErrorCode.UNAUTHENTICATED);
  });

  it('logout() ends the login: its refresh token no longer works', async () => {
    const session = await register(t.url, { username: uniqueName('out'), password: 'tangerine-harbor-7' });
    await logout(t.url, session.refreshToken);
    expect(await refusal(refresh(t.url, session.refreshToken))).toBe(ErrorCode.UNAUTHENTICATED);
  });
});
