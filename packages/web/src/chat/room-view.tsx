/**
 * One open room: its messages, who is typing, the composer, and dropping files anywhere on it
 * to attach them. Also the members panel (presence, read position, invite).
 */
import type { RoomMember, RoomWithReadState, User } from '@switchboard/client';
import { useCallback, useEffect, useRef, useState, type DragEvent } from 'react';
import { useUploads } from './attachments.js';
import { Avatar } from '../ui/avatar.js';
import { Composer } from './composer.js';
import { typingLine } from '../ui/format.js';
import { CloseIcon, PaperclipIcon, UserPlusIcon } from '../ui/icons.js';
import { MessageList } from './message-list.js';
import { useChatState, useStore } from '../use-store.js';

interface RoomViewProps {
  room: RoomWithReadState;
  me: User;
  jumpTo: number | undefined;
  onJumped: () => void;
}

export function RoomView({ room, me, jumpTo, onJumped }: RoomViewProps) {
  const store = useStore();
  const state = useChatState();
  const { uploads, add, remove, clear } = useUploads(store, room.id);
  const [dragging, setDragging] = useState(false);
  const dragDepth = useRef(0);

  useEffect(() => store.openRoom(room.id), [store, room.id]);

  const timeline = state.timelines[room.id] ?? { messages: [], hasMore: true, loaded: false, loadingOlder: false };
  const pending = state.outbox.filter((e) => e.roomId === room.id);
  const members = state.members[room.id] ?? [];
  const typing = (state.typing[room.id] ?? []).map((u) => u.displayName);

  const hasFiles = (e: DragEvent) => e.dataTransfer.types.includes('Files');
  const onDragEnter = (e: DragEvent) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    dragDepth.current++;
    setDragging(true);
  };
  const onDragLeave = (e: DragEvent) => {
    if (!hasFiles(e)) return;
    dragDepth.current = Math.max(0, dragDepth.current - 1);
    if (dragDepth.current === 0) setDragging(false);
  };
  const onDrop = (e: DragEvent) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    dragDepth.current = 0;
    setDragging(false);
    add(Array.from(e.dataTransfer.files));
  };

  return (
    <div
      className="room"
      onDragEnter={onDragEnter}
      onDragOver={(e) => hasFiles(e) && e.preventDefault()}
      onDragLeave={onDragLeave}
      onDrop={onDrop}
    >
      <MessageList
        key={room.id}
        room={room}
        timeline={timeline}
        pending={pending}
        members={members}
        me={me}
        jumpTo={jumpTo}
        onJumped={onJumped}
      />
      <div className="typing-indicator" aria-live="polite" data-testid="typing-indicator">
        {typing.length > 0 && (
          <>
            <span className="typing-dots" aria-hidden="true">
              <span />
              <span />
              <span />
            </span>
            {typingLine(typing)}
          </>
        )}
      </div>
      {room.archived ? (
        // Read-only: the server refuses sends, edits and reactions in an archived room.
        <p className="archived-note" role="status" data-testid="archived-note">
          This room is archived: you can read it, but nobody can write in it.
        </p>
      ) : (
        <Composer
          key={room.id}
          room={room}
          members={members}
          me={me}
          uploads={uploads}
          onAddFiles={add}
          onRemoveUpload={remove}
          onClearUploads={clear}
        />
      )}
      {dragging && (
        <div className="drop-overlay" aria-hidden="true">
          <PaperclipIcon size={32} />
          <span>Drop files to share them in {room.kind === 'dm' ? room.name : `#${room.name}`}</span>
        </div>
      )}
    </div>
  );
}

export function MembersPanel({ room, me, onClose, onInvite }: { room: RoomWithReadState; me: User; onClose: () => void; onInvite: () => void }) {
  const { members, presence } = useChatState();
  const list = members[room.id];
  const online = useCallback((m: RoomMember) => presence[m.id] ?? m.online, [presence]);
  const sorted = [...(list ?? [])].sort((a, b) => Number(online(b)) - Number(online(a)) || a.displayName.localeCompare(b.displayName));
  return (
    <aside
      className="members-panel"
      aria-labelledby="members-heading"
      onKeyDown={(e) => {
        if (e.key === 'Escape') onClose();
      }}
    >
      <header className="panel-header">
        <h2 id="members-heading">Members{list ? ` (${list.length})` : ''}</h2>
        <button type="button" className="icon-button" aria-label="Close members" onClick={onClose}>
          <CloseIcon />
        </button>
      </header>
      {room.kind !== 'dm' && (
        <button type="button" className="sidebar-action" onClick={onInvite}>
          <UserPlusIcon size={16} /> Invite people
        </button>
      )}
      {list === undefined ? (
        <p className="hint">Loading members…</p>
      ) : (
        <ul className="member-list">
          {sorted.map((m) => (
            <li key={m.id} className="member">
              <Avatar id={m.id} name={m.displayName} size={28} online={online(m)} />
              <span className="member-text">
                <span className="member-name">
                  {m.displayName}
                  {m.id === me.id && <span className="you"> (you)</span>}
                </span>
                <span className="member-username">
                  @{m.username} · {online(m) ? 'online' : 'offline'}
                </span>
              </span>
            </li>
          ))}
        </ul>
      )}
    </aside>
  );
}
