/**
 * The signed-in Session, kept in localStorage so a reload (or a second tab) stays signed in, and
 * the SDK token provider built on it.
 *
 * Every refresh spends the refresh token it presents, and presenting a spent one ends the whole
 * login (PROTOCOL §3). Several tabs share one stored Session, so refreshes are serialized across
 * tabs with the Web Locks API and each tab first looks whether another one already renewed the
 * tokens before spending the refresh token itself.
 */
import { ErrorCode, refresh, SwitchboardError, type Session } from '@switchboard/client';

const STORAGE_KEY = 'switchboard.session';
const LOCK_NAME = 'switchboard.refresh';
/**
 * A stored access token closer than this to its expiry is renewed rather than handed out (the
 * SDK itself asks for a new one well before expiry: a quarter of the lifetime, at most a minute).
 */
const EXPIRY_MARGIN_MS = 5_000;

function isSession(value: unknown): value is Session {
  const s = value as Partial<Session> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.accessToken === 'string' &&
    typeof s.refreshToken === 'string' &&
    typeof s.user?.id === 'string'
  );
}

/** The stored Session, if any (a corrupt entry counts as none). */
export function loadSession(): Session | undefined {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    const parsed: unknown = raw === null ? undefined : JSON.parse(raw);
    return isSession(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export function saveSession(session: Session): void {
  localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
}

export function clearSession(): void {
  localStorage.removeItem(STORAGE_KEY);
}

/** Calls `listener` when another tab signs in as someone else or signs out. */
export function onSessionChangedElsewhere(listener: (session: Session | undefined) => void): () => void {
  const handler = (event: StorageEvent) => {
    if (event.key === STORAGE_KEY || event.key === null) listener(loadSession());
  };
  window.addEventListener('storage', handler);
  return () => window.removeEventListener('storage', handler);
}

/** `exp` of a JWT in ms (read, not verified: only to decide whether to renew). */
function tokenExpiry(token: string): number {
  const part = token.split('.')[1];
  if (part === undefined) return 0;
  try {
    const exp: unknown = (JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : 0;
  } catch {
    return 0;
  }
}

async function exclusively(task: () => Promise<string>): Promise<string> {
  // Web Locks exist in secure contexts (https, localhost); elsewhere a tab refreshes on its own.
  const locks = typeof navigator !== 'undefined' ? (navigator as Partial<Navigator>).locks : undefined;
  return locks ? await locks.request(LOCK_NAME, task) : task();
}

/**
 * The SDK's `getToken`: hands out the stored access token while it is fresh and was not refused,
 * otherwise renews it (or adopts the one another tab just obtained). `onSession` hears every
 * renewed Session (its user may have a new display name).
 */
export function storedTokenProvider(url: string, onSession: (session: Session) => void): () => Promise<string> {
  let handedOut: string | undefined;
  return () =>
    exclusively(async () => {
      const stored = loadSession();
      if (!stored) throw new SwitchboardError(ErrorCode.UNAUTHENTICATED, 'signed out');
      // The SDK asks again only when its token nears expiry or was refused: a different stored
      // token is one another tab renewed in the meantime.
      if (stored.accessToken !== handedOut && tokenExpiry(stored.accessToken) > Date.now() + EXPIRY_MARGIN_MS) {
        handedOut = stored.accessToken;
        return stored.accessToken;
      }
      const next = await refresh(url, stored.refreshToken);
      saveSession(next);
      handedOut = next.accessToken;
      onSession(next);
      return next.accessToken;
    });
}
