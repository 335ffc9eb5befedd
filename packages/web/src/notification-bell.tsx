/**
 * The notification bell: the unread count, and a panel listing notifications (newest first)
 * with click-through to the message's room (or, for a game invitation, a Join game action that
 * opens the Games page and joins the game by its code), mark read, mark all read, older pages, and the
 * opt-in to browser notifications.
 */
import type { Notification } from '@switchboard/client';
import { useEffect, useId, useRef, useState } from 'react';
import { desktopEnabled, desktopSupported, disableDesktop, enableDesktop } from './desktop-notifications.js';
import { formatAgo, formatFull } from './ui/format.js';
import { AlertIcon, AtIcon, BellIcon, ChatIcon, CheckIcon, GamepadIcon, UserPlusIcon } from './ui/icons.js';
import { useChatState, useStore } from './use-store.js';

function KindIcon({ kind }: { kind: string }) {
  if (kind === 'mention') return <AtIcon size={16} />;
  if (kind === 'invite') return <UserPlusIcon size={16} />;
  if (kind === 'alert') return <AlertIcon size={16} />;
  if (kind === 'game') return <GamepadIcon size={16} />;
  return <ChatIcon size={16} />;
}

export function NotificationBell({ onOpen }: { onOpen: (n: Notification) => void }) {
  const store = useStore();
  const { notifications } = useChatState();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [desktop, setDesktop] = useState(desktopEnabled);
  const panel = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const id = useId();

  useEffect(() => {
    if (!open) return;
    panel.current?.focus();
    store.loadNotifications().catch(() => setError('Notifications could not be loaded. They will appear when you are back online.'));
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        setOpen(false);
        button.current?.focus();
      }
    };
    const onPointer = (e: PointerEvent) => {
      const target = e.target as Node;
      if (!panel.current?.contains(target) && !button.current?.contains(target)) setOpen(false);
    };
    document.addEventListener('keydown', onKey);
    document.addEventListener('pointerdown', onPointer);
    return () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('pointerdown', onPointer);
    };
  }, [open, store]);

  const { unread, items, hasMore, loaded } = notifications;
  const label = unread > 0 ? `Notifications, ${unread} unread` : 'Notifications';

  const choose = (n: Notification) => {
    setOpen(false);
    if (n.readAt === null) void store.markNotificationsRead([n.id]).catch(() => undefined);
    onOpen(n);
  };

  const toggleDesktop = async () => {
    if (desktop) {
      disableDesktop();
      setDesktop(false);
    } else {
      setDesktop(await enableDesktop());
    }
  };

  return (
    <div className="bell">
      <button
        ref={button}
        type="button"
        className="icon-button bell-button"
        aria-label={label}
        title={label}
        aria-expanded={open}
        aria-controls={open ? `${id}-panel` : undefined}
        onClick={() => setOpen(!open)}
        data-testid="notification-bell"
      >
        <BellIcon size={20} />
        {unread > 0 && (
          <span className="badge bell-badge" aria-hidden="true" data-testid="notification-count">
            {unread > 99 ? '99+' : unread}
          </span>
        )}
      </button>
      {open && (
        <div ref={panel} id={`${id}-panel`} className="notification-panel" role="dialog" aria-label="Notifications" tabIndex={-1}>
          <header className="panel-header">
            <h2>Notifications</h2>
            <button type="button" className="button small" disabled={unread === 0} onClick={() => void store.markNotificationsRead('all').catch(() => undefined)}>
              <CheckIcon size={14} /> Mark all read
            </button>
          </header>
          {error && (
            <p className="inline-error" role="alert">
              {error}
            </p>
          )}
          {loaded && items.length === 0 ? (
            <p className="empty-panel">You are all caught up. Mentions, direct messages and invitations show up here.</p>
          ) : (
            <ul className="notification-list">
              {items.map((n) => (
                <li key={n.id} className={n.readAt === null ? 'notification unread' : 'notification'}>
                  <button type="button" className="notification-main" onClick={() => choose(n)}>
                    <span className={`notification-icon kind-${n.kind}`}>
                      <KindIcon kind={n.kind} />
                    </span>
                    <span className="notification-text">
                      <span className="notification-title">{n.title}</span>
                      {n.body && <span className="notification-body">{n.body}</span>}
                      <time className="notification-time" dateTime={new Date(n.createdAt).toISOString()} title={formatFull(n.createdAt)}>
                        {formatAgo(n.createdAt)}
                      </time>
                    </span>
                    {n.readAt === null && <span className="sr-only">(unread)</span>}
                  </button>
                  {n.kind === 'game' && typeof n.data.code === 'string' && (
                    <button type="button" className="button small" aria-label={`Join game: ${n.title}`} onClick={() => choose(n)}>
                      Join game
                    </button>
                  )}
                  {n.readAt === null && (
                    <button
                      type="button"
                      className="icon-button small"
                      aria-label={`Mark read: ${n.title}`}
                      title="Mark read"
                      onClick={() => void store.markNotificationsRead([n.id]).catch(() => undefined)}
                    >
                      <span className="unread-dot" aria-hidden="true" />
                    </button>
                  )}
                </li>
              ))}
            </ul>
          )}
          {hasMore && (
            <button type="button" className="button small wide" onClick={() => void store.loadMoreNotifications().catch(() => undefined)}>
              Show older
            </button>
          )}
          {desktopSupported() && (
            <footer className="panel-footer">
              <label className="switch">
                <input type="checkbox" checked={desktop} onChange={() => void toggleDesktop()} />
                <span>Browser notifications when this tab is in the background</span>
              </label>
            </footer>
          )}
        </div>
      )}
    </div>
  );
}
