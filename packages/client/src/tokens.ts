/**
 * Access tokens for the connection: where they come from (a password login, a Session, or the
 * app's own provider), when they are renewed (a quarter of their lifetime, at most a minute,
 * before they expire), and refresh-token rotation (PROTOCOL §3). Every refresh spends the
 * refresh token it presents and presenting a spent one ends the whole login, so refreshes run
 * strictly one at a time and the newest refresh token always replaces the old one.
 */
import { ErrorCode, type Session, type User } from '@switchboard/protocol';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { Emitter } from './emitter.js';
import { SwitchboardError } from './errors.js';
import { login, logout, me, refresh } from './http.js';

/** How the client authenticates: one of three. */
export type Credentials =
  /** Logs in with `POST /api/auth/login`; a login that can no longer be refreshed is redone. */
  | { username: string; password: string }
  /** A Session from `register()`/`login()` (or one the app stored); refreshed as it nears expiry. */
  | { session: Session }
  /** Apps with their own auth: called whenever a fresh access token is needed. */
  | { getToken: () => Promise<string> };

export interface TokenEvents {
  /** A new Session from a login or refresh: apps that persist sessions must store this one. */
  session: (session: Session) => void;
  /** A scheduled renewal produced a newer access token. */
  renewed: (token: string) => void;
  /** Tokens can no longer be obtained (login ended, password refused): the client must stop. */
  fatal: (error: SwitchboardError) => void;
}

/** Renewal cannot succeed by trying again: the server refused the credentials themselves. */
function isFatal(err: unknown): err is SwitchboardError {
  return (
    err instanceof SwitchboardError &&
    !err.local &&
    (err.code === ErrorCode.UNAUTHENTICATED || err.code === ErrorCode.FORBIDDEN)
  );
}

/** `exp` of a JWT in ms (not verified: only to schedule renewal), or undefined. */
function jwtExpiry(token: string): number | undefined {
  const part = token.split('.')[1];
  if (part === undefined) return undefined;
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const exp: unknown = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

export class TokenSource extends Emitter<TokenEvents> {
  private current: string | undefined;
  private refreshAt = Infinity;
  private session: Session | undefined;
  private renewing: Promise<string> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  private closed = false;
  /** The signed-in user, once known. */
  user: User | undefined;

  constructor(
    /** The base URL to call now (it moves to another node with the connection). */
    private readonly url: () => string,
    private readonly credentials: Credentials,
    private readonly retry: BackoffOptions,
  ) {
    super();
    if ('session' in credentials) this.adopt(credentials.session);
  }

  /** The latest Session (undefined with a token provider). */
  get currentSession(): Session | undefined {
    return this.session;
  }

  /** The newest access token obtained, without renewing. */
  get latest(): string | undefined {
    return this.current;
  }

  /** A usable access token: the current one, or a renewed one when it nears expiry or was refused. */
  get(): Promise<string> {
    if (this.closed) return Promise.reject(new SwitchboardError(ErrorCode.UNAVAILABLE, 'client closed', { local: true }));
    if (this.current !== undefined && Date.now() < this.refreshAt) return Promise.resolve(this.current);
    return this.renew();
  }

  /** The server refused `token`: the next `get()` renews — unless a renewal already replaced it. */
  invalidate(token: string | undefined): void {
    if (token !== undefined && token === this.current) this.current = undefined;
  }

  /** Ends the login on the server (with a Session; a token provider's login belongs to the app). */
  async logout(): Promise<void> {
    await this.renewing?.catch(() => undefined);
    this.close();
    if (this.session) await logout(this.url(), this.session.refreshToken);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private renew(): Promise<string> {
    this.renewing ??= this.obtain()
      .catch((err: unknown) => {
        if (isFatal(err) && !this.closed) {
          this.close();
          this.emit('fatal', err);
        }
        throw err;
      })
      .finally(() => {
        this.renewing = undefined;
      });
    return this.renewing;
  }

  private async obtain(): Promise<string> {
    const c = this.credentials;
    if ('getToken' in c) {
      const token = await c.getToken();
      this.user ??= await me(this.url(), token);
      this.setToken(token, jwtExpiry(token));
      return token;
    }
    let session: Session;
    if (this.session) {
      try {
        session = await refresh(this.url(), this.session.refreshToken);
      } catch (err) {
        // A password client whose login ended simply logs in again.
        if (!(isFatal(err) && 'password' in c)) throw err;
        session = await login(this.url(), c);
      }
    } else if ('password' in c) {
      session = await login(this.url(), c);
    } else {
      throw new SwitchboardError(ErrorCode.UNAUTHENTICATED, 'no credentials');
    }
    // Kept even when closing meanwhile: the refresh token just presented is spent, and a
    // following logout must present this one.
    this.adopt(session);
    this.emit('session', session);
    return session.accessToken;
  }

  private adopt(session: Session): void {
    this.session = session;
    this.user = session.user;
    this.setToken(session.accessToken, Date.now() + session.expiresIn * 1000);
  }

  private setToken(token: string, expiresAt: number | undefined): void {
    this.current = token;
    this.failures = 0;
    const now = Date.now();
    if (expiresAt === undefined) {
      this.refreshAt = Infinity;
    } else {
      const remaining = expiresAt - now;
      // At least a second ahead, so a token that looks expired (clock skew) cannot spin renewals.
      this.refreshAt = Math.max(now + 1000, expiresAt - Math.min(60_000, remaining / 4));
    }
    this.schedule(this.refreshAt - now);
  }

  private schedule(delay: number): void {
    clearTimeout(this.timer);
    if (this.closed || !Number.isFinite(delay)) return;
    this.timer = setTimeout(() => {
      this.renew().then(
        (token) => this.emit('renewed', token),
        (err: unknown) => {
          if (!isFatal(err)) this.schedule(backoffDelay(this.failures++, this.retry));
        },
      );
    }, delay);
  }
}
