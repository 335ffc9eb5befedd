/**
 * Browser notifications, when the user opted in: shown only while the tab is hidden (in a
 * visible tab the bell already shows them). The opt-in is remembered per browser.
 */
import type { Notification as SwitchboardNotification } from '@switchboard/client';

const OPT_IN_KEY = 'switchboard.desktopNotifications';

export function desktopSupported(): boolean {
  return typeof window !== 'undefined' && 'Notification' in window;
}

export function desktopEnabled(): boolean {
  return desktopSupported() && Notification.permission === 'granted' && localStorage.getItem(OPT_IN_KEY) === 'on';
}

/** Asks for permission (must run in a click handler); resolves to whether notifications are on. */
export async function enableDesktop(): Promise<boolean> {
  if (!desktopSupported()) return false;
  const permission = Notification.permission === 'granted' ? 'granted' : await Notification.requestPermission();
  if (permission !== 'granted') return false;
  localStorage.setItem(OPT_IN_KEY, 'on');
  return true;
}

export function disableDesktop(): void {
  localStorage.removeItem(OPT_IN_KEY);
}

/** Shows `n` as a browser notification if the tab is hidden and the user opted in. */
export function showDesktop(n: SwitchboardNotification, onClick: () => void): void {
  if (!desktopEnabled() || document.visibilityState !== 'hidden') return;
  const shown = new Notification(n.title, { body: n.body, tag: n.id, icon: '/favicon.svg' });
  shown.onclick = () => {
    window.focus();
    onClick();
    shown.close();
  };
}
