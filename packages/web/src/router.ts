/**
 * The app's routes, kept in the address so a reload or a shared link opens the same screen: the
 * open room (`/rooms/<id>`), the admin view (`/admin`) and the Integrations page (`/integrations`);
 * the server answers every such path with the app.
 */
import { useSyncExternalStore } from 'react';

const ROOM_PATH = /^\/rooms\/([^/]+)\/?$/;
const ADMIN_PATH = /^\/admin\/?$/;
const INTEGRATIONS_PATH = /^\/integrations\/?$/;
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

/** Whether the address is the admin view's. */
export function useAdminRoute(): boolean {
  return useSyncExternalStore(subscribe, () => ADMIN_PATH.test(window.location.pathname));
}

/** Whether the address is the Integrations page's. */
export function useIntegrationsRoute(): boolean {
  return useSyncExternalStore(subscribe, () => INTEGRATIONS_PATH.test(window.location.pathname));
}

/** Opens the Integrations page and records it in the browser history. */
export function navigateToIntegrations(): void {
  go('/integrations', {});
}

/** Opens the admin view and records it in the browser history. */
export function navigateToAdmin(): void {
  go('/admin', {});
}

/** Opens a room (or the home view) and records it in the browser history. */
export function navigate(roomId: string | undefined, options: { replace?: boolean } = {}): void {
  go(roomId === undefined ? '/' : `/rooms/${encodeURIComponent(roomId)}`, options);
}

function go(path: string, options: { replace?: boolean }): void {
  if (path === window.location.pathname) return;
  if (options.replace) window.history.replaceState(null, '', path);
  else window.history.pushState(null, '', path);
  window.dispatchEvent(new Event(CHANGE));
}
