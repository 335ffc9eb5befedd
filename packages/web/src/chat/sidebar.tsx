/**
 * The sidebar: the user's rooms and direct messages with unread badges and presence, the ways
 * to browse, create and start conversations, the Games page's link, the admin views' links for
 * admins, and the signed-in user with account settings and sign-out. On narrow screens it slides
 * in over the content.
 */
import type { RoomWithReadState, User } from '@switchboard/client';
import { useEffect, useRef, type MouseEvent, type ReactNode } from 'react';
import { Avatar } from '../ui/avatar.js';
import { ActivityIcon, CloseIcon, EditIcon, GamepadIcon, HashIcon, LockIcon, LogOutIcon, PlugIcon, PlusIcon, SearchIcon, UsersIcon } from '../ui/icons.js';
import { adminPath, navigate, navigateToAdmin, navigateToGames, navigateToIntegrations, type AdminRoute } from '../router.js';
import { useChatState } from '../use-store.js';

interface SidebarProps {
  user: User;
  activeRoomId: string | undefined;
  open: boolean;
  onClose: () => void;
  onBrowse: () => void;
  onCreate: () => void;
  onNewDm: () => void;
  onSignOut: () => void;
  /** Opens the account settings. */
  onAccount: () => void;
  /** Whether the Games page is open. */
  gamesActive: boolean;
  /** Admins only: the links to the admin views and the Integrations page, and which one is open. */
  admin: { active: AdminRoute | 'integrations' | undefined } | undefined;
}

function UnreadBadge({ count }: { count: number }) {
  if (count <= 0) return null;
  return (
    <span className="badge">
      <span aria-hidden="true">{count > 99 ? '99+' : count}</span>
      <span className="sr-only">, {count} unread</span>
    </span>
  );
}

function RoomLink({ room, active, onChoose, children }: { room: RoomWithReadState; active: boolean; onChoose: () => void; children: ReactNode }) {
  const open = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return; // let the browser open a new tab
    e.preventDefault();
    navigate(room.id);
    onChoose();
  };
  return (
    <a
      href={`/rooms/${encodeURIComponent(room.id)}`}
      className={['room-link', active ? 'active' : '', room.unread > 0 && !active ? 'has-unread' : ''].filter(Boolean).join(' ')}
      aria-current={active ? 'page' : undefined}
      onClick={open}
      data-room-name={room.name}
    >
      {children}
      {/* The open room is being read: its count would only flash until the read mark moves. */}
      {!active && <UnreadBadge count={room.unread} />}
    </a>
  );
}

/** The admin views' links, in the sidebar's order. */
const ADMIN_LINKS: Record<AdminRoute, ReactNode> = {
  monitoring: (
    <>
      <ActivityIcon size={16} /> Monitoring
    </>
  ),
  users: (
    <>
      <UsersIcon size={16} /> Users
    </>
  ),
  rooms: (
    <>
      <HashIcon size={16} /> Rooms
    </>
  ),
};

export function Sidebar({ user, activeRoomId, open, onClose, onBrowse, onCreate, onNewDm, onSignOut, onAccount, gamesActive, admin }: SidebarProps) {
  const { rooms, presence, members } = useChatState();
  const closeButton = useRef<HTMLButtonElement>(null);
  // Slid in over the content (narrow screens): focus goes with it.
  useEffect(() => {
    if (open) closeButton.current?.focus();
  }, [open]);
  const channels = rooms.filter((r) => r.kind !== 'dm');
  const dms = rooms.filter((r) => r.kind === 'dm');
  const peerOf = (roomId: string) => members[roomId]?.find((m) => m.id !== user.id);

  return (
    <nav
      id="sidebar"
      className={open ? 'sidebar open' : 'sidebar'}
      aria-label="Rooms and direct messages"
      onKeyDown={(e) => {
        if (open && e.key === 'Escape') onClose();
      }}
    >
      <div className="sidebar-header">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          <span>Switchboard</span>
        </div>
        <button ref={closeButton} type="button" className="icon-button sidebar-close" aria-label="Close the room list" onClick={onClose}>
          <CloseIcon />
        </button>
      </div>
      <div className="sidebar-scroll">
        <button type="button" className="sidebar-action" onClick={onBrowse}>
          <SearchIcon size={16} /> Browse rooms
        </button>
        <a
          href="/games"
          className={gamesActive ? 'sidebar-action active' : 'sidebar-action'}
          aria-current={gamesActive ? 'page' : undefined}
          onClick={(e) => {
            if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return; // a new tab
            e.preventDefault();
            navigateToGames();
            onClose();
          }}
        >
          <GamepadIcon size={16} /> Games
        </a>
        {admin &&
          (['monitoring', 'users', 'rooms'] as const).map((view) => (
            <a
              key={view}
              href={adminPath(view)}
              className={admin.active === view ? 'sidebar-action active' : 'sidebar-action'}
              aria-current={admin.active === view ? 'page' : undefined}
              onClick={(e) => {
                if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return; // a new tab
                e.preventDefault();
                navigateToAdmin(view);
                onClose();
              }}
            >
              {ADMIN_LINKS[view]}
            </a>
          ))}
        {admin && (
          <a
            href="/integrations"
            className={admin.active === 'integrations' ? 'sidebar-action active' : 'sidebar-action'}
            aria-current={admin.active === 'integrations' ? 'page' : undefined}
            onClick={(e) => {
              if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return; // a new tab
              e.preventDefault();
              navigateToIntegrations();
              onClose();
            }}
          >
            <PlugIcon size={16} /> Integrations
          </a>
        )}
        <section className="sidebar-section" aria-labelledby="rooms-heading">
          <div className="section-header">
            <h2 id="rooms-heading">Rooms</h2>
            <button type="button" className="icon-button small" aria-label="Create a room" title="Create a room" onClick={onCreate}>
              <PlusIcon size={16} />
            </button>
          </div>
          {channels.length === 0 ? (
            <p className="sidebar-empty">No rooms yet. Browse or create one.</p>
          ) : (
            <ul>
              {channels.map((room) => (
                <li key={room.id}>
                  <RoomLink room={room} active={room.id === activeRoomId} onChoose={onClose}>
                    <span className="room-icon">{room.kind === 'private' ? <LockIcon size={15} /> : <HashIcon size={15} />}</span>
                    <span className="room-name">{room.name}</span>
                    {room.kind === 'private' && <span className="sr-only"> (private)</span>}
                  </RoomLink>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section className="sidebar-section" aria-labelledby="dms-heading">
          <div className="section-header">
            <h2 id="dms-heading">Direct messages</h2>
            <button type="button" className="icon-button small" aria-label="New direct message" title="New direct message" onClick={onNewDm}>
              <PlusIcon size={16} />
            </button>
          </div>
          {dms.length === 0 ? (
            <p className="sidebar-empty">No conversations yet.</p>
          ) : (
            <ul>
              {dms.map((room) => {
                const peer = peerOf(room.id);
                const online = peer ? (presence[peer.id] ?? peer.online) : undefined;
                return (
                  <li key={room.id}>
                    <RoomLink room={room} active={room.id === activeRoomId} onChoose={onClose}>
                      <Avatar id={peer?.id ?? room.id} name={room.name} size={20} online={online} />
                      <span className="room-name">{room.name}</span>
                      {online !== undefined && <span className="sr-only">{online ? ' (online)' : ' (offline)'}</span>}
                    </RoomLink>
                  </li>
                );
              })}
            </ul>
          )}
        </section>
      </div>
      <footer className="sidebar-footer">
        <Avatar id={user.id} name={user.displayName} size={32} online={true} />
        <div className="me">
          <span className="me-name">{user.displayName}</span>
          <span className="me-username">@{user.username}</span>
        </div>
        <button type="button" className="icon-button" aria-label="Account settings" title="Account settings" onClick={onAccount}>
          <EditIcon />
        </button>
        <button type="button" className="icon-button" aria-label="Sign out" title="Sign out" onClick={onSignOut}>
          <LogOutIcon />
        </button>
      </footer>
    </nav>
  );
}
