/**
 * The app's routes, kept in the address so a reload or a shared link opens the same screen: the
 * open room (`/rooms/<id>`), the admin views (`/admin` monitoring, `/admin/users` accounts,
 * `/admin/rooms` every room), the Integrations page (`/integrations`), the Games page (`/games`,
 * `/games?join=<code>` to join a game by its code, as from a game invitation) and an invite link (`/invite/<code>`, which opens sign-up); the
 * server answers every such path with the app.
 */
import { useSyncExternalStore } from 'react';

const ROOM_PATH = /^\/rooms\/([^/]+)\/?$/;
const ADMIN_PATH = /^\/admin\/?$/;
const INTEGRATIONS_PATH = /^\/integrations\/?$/;
const GAMES_PATH = /^\/games\/?$/;
const ADMIN_USERS_PATH = /^\/admin\/users\/?$/;
const ADMIN_ROOMS_PATH = /^\/admin\/rooms\/?$/;
const INVITE_PATH = /^\/invite\/([A-Za-z0-9_-]+)\/?$/;
const CHANGE = 'switchboard:navigate';

function currentRoom(): string | undefined {
  const match = ROOM_PATH.exec(window.location.pathname);
  return match?.[1] ? decodeURIComponent(match[1]) : undefined;
}

function subscribe(listener: () => void): () => void {
  window.addEventListener('popstate', listener);
  window.addEventListener(CHANGE, listener);
  return () => {
    window.removeEventListener('popstate', listener);
    window.removeEventListener(CHANGE, listener);
  };
}

/** The id of the room in the address, if any. */
export function useRoomRoute(): string | undefined {
  return useSyncExternalStore(subscribe, currentRoom);
}

export type AdminRoute = 'monitoring' | 'users' | 'rooms';

const ADMIN_PATHS: Record<AdminRoute, string> = { monitoring: '/admin', users: '/admin/users', rooms: '/admin/rooms' };

/** The address of an admin view. */
export function adminPath(view: AdminRoute): string {
  return ADMIN_PATHS[view];
}

/** Which admin view the address is, if any. */
export function useAdminRoute(): AdminRoute | undefined {
  return useSyncExternalStore(subscribe, () => {
    const path = window.location.pathname;
    if (ADMIN_PATH.test(path)) return 'monitoring';
    if (ADMIN_USERS_PATH.test(path)) return 'users';
    return ADMIN_ROOMS_PATH.test(path) ? 'rooms' : undefined;
  });
}

/** Whether the address is the Integrations page's. */
export function useIntegrationsRoute(): boolean {
  return useSyncExternalStore(subscribe, () => INTEGRATIONS_PATH.test(window.location.pathname));
}

/** Opens the Integrations page and records it in the browser history. */
export function navigateToIntegrations(): void {
  go('/integrations', {});
}

/** Whether the address is the Games page's. */
export function useGamesRoute(): boolean {
  return useSyncExternalStore(subscribe, () => GAMES_PATH.test(window.location.pathname));
}

/** Opens the Games page (joining the game of `options.join`, a code) and records it in the browser history. */
export function navigateToGames(options: { join?: string; replace?: boolean } = {}): void {
  go(options.join === undefined ? '/games' : `/games?join=${encodeURIComponent(options.join)}`, options);
}

/** The code of the game to join in the Games page's address (`/games?join=<code>`), if any. */
export function useGameJoinRoute(): string | undefined {
  return useSyncExternalStore(subscribe, () =>
    GAMES_PATH.test(window.location.pathname) ? (new URLSearchParams(window.location.search).get('join') ?? undefined) : undefined,
  );
}

/** The invite code of an invite link's address (`/invite/<code>`), if this is one. */
export function inviteCodeInAddress(): string | undefined {
  return INVITE_PATH.exec(window.location.pathname)?.[1];
}

/** Opens an admin view and records it in the browser history. */
export function navigateToAdmin(view: AdminRoute = 'monitoring'): void {
  go(adminPath(view), {});
}

/** Opens a room (or the home view) and records it in the browser history. */
export function navigate(roomId: string | undefined, options: { replace?: boolean } = {}): void {
  go(roomId === undefined ? '/' : `/rooms/${encodeURIComponent(roomId)}`, options);
}

function go(path: string, options: { replace?: boolean }): void {
  if (path === window.location.pathname + window.location.search) return;
  if (options.replace) window.history.replaceState(null, '', path);
  else window.history.pushState(null, '', path);
  window.dispatchEvent(new Event(CHANGE));
}
