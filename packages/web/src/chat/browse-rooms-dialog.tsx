/** Browsing public rooms: search by name, join, or open one already joined. */
import type { Room } from '@switchboard/client';
import { useEffect, useState } from 'react';
import { describeError } from '../errors.js';
import { HashIcon, SearchIcon } from '../ui/icons.js';
import { Modal } from '../ui/modal.js';
import { useChatState, useStore } from '../use-store.js';

export function BrowseRoomsDialog({ onClose, onOpen }: { onClose: () => void; onOpen: (roomId: string) => void }) {
  const store = useStore();
  const { rooms: mine } = useChatState();
  const [query, setQuery] = useState('');
  const [rooms, setRooms] = useState<Room[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [joining, setJoining] = useState<string | undefined>();

  useEffect(() => {
    let cancelled = false;
    const timer = setTimeout(() => {
      store.browseRooms(query).then(
        (found) => {
          if (!cancelled) {
            setRooms(found);
            setError(undefined);
          }
        },
        (err: unknown) => !cancelled && setError(describeError(err)),
      );
    }, 200);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [store, query]);

  const joined = new Set(mine.map((r) => r.id));

  const join = async (room: Room) => {
    setJoining(room.id);
    setError(undefined);
    try {
      await store.joinRoom(room.id);
      onOpen(room.id);
    } catch (err) {
      setError(describeError(err));
      setJoining(undefined);
    }
  };

  return (
    <Modal title="Browse rooms" onClose={onClose} wide>
      <div className="modal-body">
        <label className="search-field">
          <SearchIcon />
          <input type="search" aria-label="Search rooms" placeholder="Search rooms by name" value={query} onChange={(e) => setQuery(e.target.value)} autoFocus />
        </label>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        {rooms === undefined ? (
          <p className="hint">Loading rooms…</p>
        ) : rooms.length === 0 ? (
          <p className="empty-panel">{query ? `No public room matches “${query}”.` : 'There are no public rooms yet. Create the first one!'}</p>
        ) : (
          <ul className="browse-list" aria-label="Public rooms">
            {rooms.map((room) => (
              <li key={room.id} className="browse-item">
                <HashIcon />
                <div className="browse-text">
                  <span className="browse-name">{room.name}</span>
                  <span className="browse-meta">
                    {room.memberCount} member{room.memberCount === 1 ? '' : 's'}
                    {room.topic ? ` · ${room.topic}` : ''}
                  </span>
                </div>
                {joined.has(room.id) ? (
                  <button type="button" className="button small" onClick={() => onOpen(room.id)} aria-label={`Open ${room.name}`}>
                    Open
                  </button>
                ) : (
                  <button type="button" className="button primary small" disabled={joining !== undefined} onClick={() => void join(room)} aria-label={`Join ${room.name}`}>
                    {joining === room.id ? 'Joining…' : 'Join'}
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
      </div>
    </Modal>
  );
}
