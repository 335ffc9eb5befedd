/**
 * The HTTP half of the contract the SDK needs (PROTOCOL §3): register, login, refresh, logout
 * and `/api/me`, on `fetch`. Failures become SwitchboardErrors with the body's code.
 */
import { ErrorCode, type LoginInput, type RegisterInput, type Session, type User } from '@switchboard/protocol';
import { SwitchboardError } from './errors.js';
import type { TokenSource } from './tokens.js';

/** `http://host:port` (or with a path prefix), without a trailing slash. */
export function baseUrl(url: string): string {
  return url.replace(/\/+$/, '');
}

async function call<T>(url: string, method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(baseUrl(url) + path, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    throw SwitchboardError.noAnswer(`${method} ${path}`, err);
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (res.ok) return parsed as T;
  const error = (parsed as { error?: unknown } | undefined)?.error;
  const wire = SwitchboardError.fromWire(error, `${method} ${path} failed with HTTP ${res.status}`);
  const retryAfter = Number(res.headers.get('retry-after'));
  if (wire.code === ErrorCode.RATE_LIMITED && retryAfter > 0) {
    throw new SwitchboardError(wire.code, wire.message, { retryAfterMs: retryAfter * 1000 });
  }
  throw wire;
}

/** Creates an account (`POST /api/auth/register`) and returns its first Session. */
export function register(url: string, input: RegisterInput): Promise<Session> {
  return call<Session>(url, 'POST', '/api/auth/register', input);
}

/** Logs in (`POST /api/auth/login`). */
export function login(url: string, input: LoginInput): Promise<Session> {
  return call<Session>(url, 'POST', '/api/auth/login', input);
}

/** Trades a refresh token for a new Session; the presented refresh token is spent. */
export function refresh(url: string, refreshToken: string): Promise<Session> {
  return call<Session>(url, 'POST', '/api/auth/refresh', { refreshToken });
}

/** Ends the login the refresh token belongs to. */
export async function logout(url: string, refreshToken: string): Promise<void> {
  await call<undefined>(url, 'POST', '/api/auth/logout', { refreshToken });
}

/** The user an access token speaks for. */
export async function me(url: string, accessToken: string): Promise<User> {
  return (await call<{ user: User }>(url, 'GET', '/api/me', undefined, accessToken)).user;
}

/**
 * A request with the client's current access token; one the server refuses (401) is renewed and
 * the request sent once more. Failures are SwitchboardErrors with the protocol's code.
 */
export async function authorizedCall<T>(url: string, tokens: TokenSource, method: string, path: string, body?: unknown): Promise<T> {
  const token = await tokens.get();
  try {
    return await call<T>(url, method, path, body, token);
  } catch (err) {
    if (!(err instanceof SwitchboardError) || err.code !== ErrorCode.UNAUTHENTICATED) throw err;
    tokens.invalidate(token);
    return call<T>(url, method, path, body, await tokens.get());
  }
}
