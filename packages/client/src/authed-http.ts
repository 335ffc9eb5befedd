/**
 * HTTP requests with the client's current access token (PROTOCOL §3): a token the server refuses
 * (401) is renewed and the request sent once more; failures are SwitchboardErrors with the body's
 * code, and `RATE_LIMITED` carries `Retry-After` as `retryAfterMs`.
 */
import { ErrorCode } from '@switchboard/protocol';
import { SwitchboardError } from './errors.js';
import { baseUrl } from './http.js';
import type { TokenSource } from './tokens.js';

export async function authedRequest<T>(server: string, tokens: TokenSource, method: string, path: string, body?: unknown): Promise<T> {
  const send = async (token: string) => {
    try {
      return await fetch(baseUrl(server) + path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw SwitchboardError.noAnswer(`${method} ${path}`, err);
    }
  };
  const token = await tokens.get();
  let res = await send(token);
  if (res.status === 401) {
    tokens.invalidate(token);
    res = await send(await tokens.get());
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (res.ok) return parsed as T;
  const wire = SwitchboardError.fromWire((parsed as { error?: unknown } | undefined)?.error, `${method} ${path} failed with HTTP ${res.status}`);
  const retryAfter = Number(res.headers.get('retry-after'));
  if (wire.code === ErrorCode.RATE_LIMITED && wire.retryAfterMs === undefined && retryAfter > 0) {
    throw new SwitchboardError(wire.code, wire.message, { retryAfterMs: retryAfter * 1000 });
  }
  throw wire;
}
