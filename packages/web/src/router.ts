/**
 * The app's one route parameter, the open room, kept in the address (`/rooms/<id>`) so a reload
 * or a shared link opens the same room; the server answers every such path with the app.
 */
import { useSyncExternalStore } from 'react';

const ROOM_PATH = /^\/rooms\/([^/]+)\/?$/;
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

/** Opens a room (or the home view) and records it in the browser history. */
export function navigate(roomId: string | undefined, options: { replace?: boolean } = {}): void {
  const path = roomId === undefined ? '/' : `/rooms/${encodeURIComponent(roomId)}`;
  if (path === window.location.pathname) return;
  if (options.replace) window.history.replaceState(null, '', path);
  else window.history.pushState(null, '', path);
  window.dispatchEvent(new Event(CHANGE));
}
