/**
 * The signed-in screen: connection banner, sidebar, the open room with its header (topic,
 * members, invite, leave) — or the Games page (`/games`), or, for admins, the monitoring view
 * (`/admin`), the accounts view (`/admin/users`), every room (`/admin/rooms`) or the Integrations
 * page (`/integrations`) — and the notification bell, the dialogs (account settings among them),
 * the document title with the unread count, and browser notifications while the tab is hidden.
 */
import type { Notification, User } from '@switchboard/client';
import { lazy, Suspense, useCallback, useEffect, useState } from 'react';
import { AccountDialog } from './account/account-dialog.js';
import { PresenceDot } from './ui/avatar.js';
import { BrowseRoomsDialog } from './chat/browse-rooms-dialog.js';
import { ConnectionBanner } from './connection-banner.js';
import { CreateRoomDialog } from './chat/create-room-dialog.js';
import { showDesktop } from './desktop-notifications.js';
import { describeError } from './errors.js';
import { ActivityIcon, DoorIcon, FileTextIcon, GamepadIcon, HashIcon, LockIcon, MenuIcon, PlugIcon, PlusIcon, SearchIcon, SlidersIcon, UserPlusIcon, UsersIcon } from './ui/icons.js';
import { useMediaQuery } from './ui/media.js';
import { Modal } from './ui/modal.js';
import { NotificationBell } from './notification-bell.js';
import { InviteDialog, NewDmDialog } from './chat/people-dialog.js';
import { MembersPanel, RoomView } from './chat/room-view.js';
import { ThreadPanel } from './chat/thread-panel.js';
import { RoomSettingsDialog } from './chat/room-settings-dialog.js';
import { navigate, navigateToAdmin, navigateToGames, useAdminRoute, useGamesRoute, useIntegrationsRoute, useRoomRoute } from './router.js';
import { SearchDialog } from './chat/search-dialog.js';
import { Sidebar } from './chat/sidebar.js';
import { useChatState, useStore } from './use-store.js';

type Dialog = 'create' | 'browse' | 'dm' | 'invite' | 'leave' | 'account' | 'search' | 'settings' | undefined;

// Loaded when an admin opens it: nobody else downloads the charts.
const AdminView = lazy(() => import('./admin/admin-view.js').then((m) => ({ default: m.AdminView })));
const IntegrationsView = lazy(() => import('./integrations/integrations-view.js').then((m) => ({ default: m.IntegrationsView })));
const AdminUsersView = lazy(() => import('./admin/users-view.js').then((m) => ({ default: m.AdminUsersView })));
const AdminRoomsView = lazy(() => import('./admin/rooms-view.js').then((m) => ({ default: m.AdminRoomsView })));
// Loaded when someone opens the Games page.
const GamesView = lazy(() => import('./game/games-view.js').then((m) => ({ default: m.GamesView })));
const DocsPanel = lazy(() => import('./docs/docs-panel.js').then((m) => ({ default: m.DocsPanel })));

export function Workspace({ user, onSignOut, onUserChanged }: { user: User; onSignOut: () => void; onUserChanged: (user: User) => void }) {
  const store = useStore();
  const state = useChatState();
  const routeRoom = useRoomRoute();
  const isAdmin = user.role === 'admin';
  // Anyone else at /admin falls back to a room, like at an unknown room's address.
  const adminRoute = useAdminRoute();
  const integrationsRoute = useIntegrationsRoute();
  const gamesView = useGamesRoute();
  // An admin page takes the room's place.
  const adminView = !isAdmin ? undefined : integrationsRoute ? 'integrations' : adminRoute;
  const monitorView = adminView === 'monitoring' || adminView === 'users' || adminView === 'rooms';
  const integrationsView = adminView === 'integrations';
  // The Games page takes the room's place too, for everyone.
  const page = gamesView ? 'games' : adminView;
  const pageTitle = gamesView ? 'Games' : adminView === 'users' ? 'Users' : adminView === 'rooms' ? 'Rooms' : adminView === 'integrations' ? 'Integrations' : 'Monitoring';
  const [sidebarOpen, setSidebarOpen] = useState(false);
  // Wide screens show the members beside the messages; narrower ones over them, on demand.
  const wide = useMediaQuery('(min-width: 1200px)');
  const [membersOpen, setMembersOpen] = useState(wide);
  const [docsOpen, setDocsOpen] = useState(false);
  const [dialog, setDialog] = useState<Dialog>();
  const [jump, setJump] = useState<{ roomId: string; seq: number } | undefined>();
  const [error, setError] = useState<string | undefined>();

  const narrow = useMediaQuery('(max-width: 767px)');
  useEffect(() => {
    if (!wide) setMembersOpen(false);
  }, [wide]);
  useEffect(() => {
    if (!narrow) setSidebarOpen(false);
  }, [narrow]);

  const room = state.rooms.find((r) => r.id === routeRoom);
  const { ready, rooms } = state;

  // An unknown room in the address (left, or never joined) falls back to the first room.
  useEffect(() => {
    if (!ready || page || (routeRoom !== undefined && room)) return;
    const first = rooms.find((r) => r.kind !== 'dm') ?? rooms[0];
    navigate(first?.id, { replace: true });
  }, [ready, page, routeRoom, room, rooms]);

  // Muted rooms do not call for attention: they count neither in the title nor on the menu button.
  const totalUnread = rooms.reduce((n, r) => n + (r.muted ? 0 : r.unread), 0);
  useEffect(() => {
    const where = page ? pageTitle : room ? (room.kind === 'dm' ? room.name : `#${room.name}`) : undefined;
    document.title = `${totalUnread > 0 ? `(${totalUnread}) ` : ''}${where ? `${where} · Switchboard` : 'Switchboard'}`;
  }, [page, pageTitle, room, totalUnread]);

  const openNotification = useCallback((n: Notification) => {
    if (n.kind === 'alert') {
      navigateToAdmin();
      setSidebarOpen(false);
      return;
    }
    if (n.kind === 'game') {
      if (typeof n.data.code !== 'string') return;
      navigateToGames({ join: n.data.code });
      setSidebarOpen(false);
      return;
    }
    const roomId = typeof n.data.roomId === 'string' ? n.data.roomId : undefined;
    if (!roomId) return;
    navigate(roomId);
    setSidebarOpen(false);
    if (typeof n.data.seq === 'number') setJump({ roomId, seq: n.data.seq });
  }, []);

  useEffect(() => store.onNotification((n) => showDesktop(n, () => openNotification(n))), [store, openNotification]);

  const onJumped = useCallback(() => setJump(undefined), []);
  const closeDialog = useCallback(() => setDialog(undefined), []);
  const openRoom = useCallback((roomId: string) => {
    setDialog(undefined);
    setSidebarOpen(false);
    navigate(roomId);
  }, []);

  const leave = async () => {
    if (!room) return;
    setDialog(undefined);
    setError(undefined);
    try {
      await store.leaveRoom(room.id);
      navigate(undefined, { replace: true });
    } catch (err) {
      setError(describeError(err));
    }
  };

  const members = room ? state.members[room.id] : undefined;
  const peer = room?.kind === 'dm' ? members?.find((m) => m.id !== user.id) : undefined;
  const pendingCount = state.outbox.filter((e) => e.status === 'pending').length;

  return (
    <div className={sidebarOpen ? 'app sidebar-is-open' : 'app'}>
      <a className="skip-link" href="#composer-area" onClick={(e) => {
        e.preventDefault();
        document.querySelector<HTMLTextAreaElement>('.composer-input')?.focus();
      }}>
        Skip to the message box
      </a>
      <ConnectionBanner connection={state.connection} backOnline={state.backOnline} pending={pendingCount} />
      <div className="layout">
        <Sidebar
          user={user}
          activeRoomId={room?.id}
          open={sidebarOpen}
          onClose={() => setSidebarOpen(false)}
          onBrowse={() => setDialog('browse')}
          onCreate={() => setDialog('create')}
          onNewDm={() => setDialog('dm')}
          onSignOut={onSignOut}
          onAccount={() => setDialog('account')}
          gamesActive={gamesView}
          admin={isAdmin ? { active: adminView } : undefined}
        />
        {sidebarOpen && <div className="scrim" aria-hidden="true" onClick={() => setSidebarOpen(false)} />}
        <main className="main" id="composer-area">
          <header className="topbar">
            <button
              type="button"
              className="icon-button menu-button"
              aria-label="Open the room list"
              aria-controls="sidebar"
              aria-expanded={sidebarOpen}
              onClick={() => setSidebarOpen(true)}
            >
              <MenuIcon />
              {totalUnread > 0 && <span className="menu-dot" aria-hidden="true" />}
            </button>
            <div className="room-title">
              {monitorView ? (
                <h1>
                  {adminView === 'users' ? <UsersIcon size={18} /> : adminView === 'rooms' ? <HashIcon size={18} /> : <ActivityIcon size={18} />}
                  <span>{pageTitle}</span>
                </h1>
              ) : integrationsView ? (
                <h1>
                  <PlugIcon size={18} />
                  <span>Integrations</span>
                </h1>
              ) : gamesView ? (
                <h1>
                  <GamepadIcon size={18} />
                  <span>Games</span>
                </h1>
              ) : room ? (
                <>
                  <h1>
                    {room.kind === 'dm' ? null : room.kind === 'private' ? <LockIcon size={18} /> : <HashIcon size={18} />}
                    <span>{room.name}</span>
                    {peer && <PresenceDot online={state.presence[peer.id] ?? peer.online} />}
                    {room.archived && <span className="badge archived-badge">Archived</span>}
                  </h1>
                  {room.topic && <p className="room-topic" title={room.topic}>{room.topic}</p>}
                </>
              ) : (
                <h1>{ready ? 'Welcome' : 'Loading…'}</h1>
              )}
            </div>
            {room && (
              <div className="room-actions">
                {room.kind !== 'dm' && (
                  <button type="button" className="icon-button" aria-label="Invite people" title="Invite people" onClick={() => setDialog('invite')}>
                    <UserPlusIcon />
                  </button>
                )}
                <button
                  type="button"
                  className={docsOpen ? 'icon-button pressed' : 'icon-button'}
                  aria-label="Documents"
                  title="Documents"
                  aria-pressed={docsOpen}
                  onClick={() => {
                    // The documents take the members panel's place, so the chat keeps its room.
                    if (!docsOpen) setMembersOpen(false);
                    setDocsOpen(!docsOpen);
                  }}
                >
                  <FileTextIcon />
                </button>
                <button
                  type="button"
                  className={membersOpen ? 'icon-button pressed with-count' : 'icon-button with-count'}
                  aria-label={`Members${members ? ` (${members.length})` : ''}`}
                  title="Members"
                  aria-pressed={membersOpen}
                  onClick={() => setMembersOpen(!membersOpen)}
                >
                  <UsersIcon />
                  <span className="count" aria-hidden="true">
                    {members?.length ?? room.memberCount}
                  </span>
                </button>
                <button type="button" className="icon-button" aria-label="Room settings" title="Room settings" onClick={() => setDialog('settings')}>
                  <SlidersIcon />
                </button>
                {room.kind !== 'dm' && (
                  <button type="button" className="icon-button" aria-label={`Leave #${room.name}`} title="Leave room" onClick={() => setDialog('leave')}>
                    <DoorIcon />
                  </button>
                )}
              </div>
            )}
            {!page && (
              <button type="button" className="icon-button" aria-label="Search messages" title="Search messages" onClick={() => setDialog('search')}>
                <SearchIcon />
              </button>
            )}
            <NotificationBell onOpen={openNotification} />
          </header>
          {error && (
            <p className="inline-error page-error" role="alert">
              {error}
            </p>
          )}
          {gamesView ? (
            <Suspense fallback={<p className="hint admin-loading">Loading…</p>}>
              <GamesView client={store.client} me={user.id} />
            </Suspense>
          ) : monitorView ? (
            <Suspense fallback={<p className="hint admin-loading">Loading…</p>}>
              {adminView === 'users' ? (
                <AdminUsersView client={store.client} me={user.id} />
              ) : adminView === 'rooms' ? (
                <AdminRoomsView client={store.client} />
              ) : (
                <AdminView client={store.client} />
              )}
            </Suspense>
          ) : integrationsView ? (
            <Suspense fallback={<p className="hint admin-loading">Loading…</p>}>
              <IntegrationsView client={store.client} rooms={rooms.filter((r) => r.kind !== 'dm')} />
            </Suspense>
          ) : room ? (
            <RoomView key={room.id} room={room} me={user} jumpTo={jump?.roomId === room.id ? jump.seq : undefined} onJumped={onJumped} />
          ) : (
            <Welcome user={user} ready={ready} onBrowse={() => setDialog('browse')} onCreate={() => setDialog('create')} />
          )}
        </main>
        {room && docsOpen && !page && (
          <Suspense fallback={<p className="hint">Loading…</p>}>
            <DocsPanel key={room.id} client={store.client} roomId={room.id} me={user} onClose={() => setDocsOpen(false)} />
          </Suspense>
        )}
        {room && membersOpen && !wide && <div className="scrim members-scrim" aria-hidden="true" onClick={() => setMembersOpen(false)} />}
        {room && !page && <ThreadPanel room={room} me={user} />}
        {room && membersOpen && <MembersPanel room={room} me={user} onClose={() => setMembersOpen(false)} onInvite={() => setDialog('invite')} />}
      </div>
      {dialog === 'create' && <CreateRoomDialog onClose={closeDialog} onCreated={(r) => openRoom(r.id)} />}
      {dialog === 'browse' && <BrowseRoomsDialog onClose={closeDialog} onOpen={openRoom} />}
      {dialog === 'search' && (
        <SearchDialog
          room={room && room.kind !== 'dm' ? room : undefined}
          onClose={closeDialog}
          onOpen={(message) => {
            openRoom(message.roomId);
            setJump({ roomId: message.roomId, seq: message.seq });
          }}
        />
      )}
      {dialog === 'dm' && <NewDmDialog onClose={closeDialog} onOpen={openRoom} />}
      {dialog === 'invite' && room && <InviteDialog room={room} onClose={closeDialog} />}
      {dialog === 'account' && <AccountDialog user={user} onClose={closeDialog} onUserChanged={onUserChanged} />}
      {dialog === 'settings' && room && <RoomSettingsDialog room={room} me={user} onClose={closeDialog} />}
      {dialog === 'leave' && room && (
        <Modal title={`Leave #${room.name}?`} onClose={closeDialog}>
          <div className="modal-body">
            <p>
              {room.kind === 'private'
                ? 'This room is private: you will need an invitation from one of its members to come back.'
                : 'You can join it again at any time from Browse rooms.'}
            </p>
            <div className="modal-actions">
              <button type="button" className="button" onClick={closeDialog} autoFocus>
                Cancel
              </button>
              <button type="button" className="button danger" onClick={() => void leave()}>
                Leave room
              </button>
            </div>
          </div>
        </Modal>
      )}
    </div>
  );
}

function Welcome({ user, ready, onBrowse, onCreate }: { user: User; ready: boolean; onBrowse: () => void; onCreate: () => void }) {
  return (
    <div className="welcome">
      {ready ? (
        <>
          <h2>Welcome to Switchboard, {user.displayName}</h2>
          <p>Rooms are where your team talks. Join one that exists, or start a new one.</p>
          <div className="welcome-actions">
            <button type="button" className="button primary" onClick={onBrowse}>
              <SearchIcon size={16} /> Browse rooms
            </button>
            <button type="button" className="button" onClick={onCreate}>
              <PlusIcon size={16} /> Create a room
            </button>
          </div>
        </>
      ) : (
        <p className="hint" role="status">
          Connecting…
        </p>
      )}
    </div>
  );
}
