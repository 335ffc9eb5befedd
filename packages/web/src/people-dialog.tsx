/**
 * Choosing people: inviting them to a room, or starting a direct conversation. The people on
 * offer are those the user shares a room with (the server has no user directory to search).
 */
import type { Room } from '@switchboard/client';
import { useEffect, useState } from 'react';
import { Avatar } from './avatar.js';
import type { Person } from './chat-store.js';
import { describeError } from './errors.js';
import { SearchIcon } from './icons.js';
import { Modal } from './modal.js';
import { useChatState, useStore } from './use-store.js';

function matches(p: Person, query: string): boolean {
  const q = query.trim().toLowerCase();
  return q === '' || p.username.toLowerCase().includes(q) || p.displayName.toLowerCase().includes(q);
}

/** A filterable list of people with a checkbox each. */
export function PersonPicker({
  people,
  chosen,
  onChange,
  labelledBy,
}: {
  people: readonly Person[];
  chosen: ReadonlySet<string>;
  onChange: (chosen: ReadonlySet<string>) => void;
  labelledBy: string;
}) {
  const { presence } = useChatState();
  const [query, setQuery] = useState('');
  if (people.length === 0) return <p className="hint">Nobody to add yet: people appear here once you share a room with them.</p>;
  const shown = people.filter((p) => matches(p, query));
  return (
    <div className="person-picker">
      <label className="search-field">
        <SearchIcon />
        <input type="search" aria-label="Filter people" placeholder="Filter by name" value={query} onChange={(e) => setQuery(e.target.value)} />
      </label>
      <ul className="person-list" aria-labelledby={labelledBy}>
        {shown.map((p) => (
          <li key={p.id}>
            <label className="person">
              <input
                type="checkbox"
                checked={chosen.has(p.id)}
                onChange={(e) => {
                  const next = new Set(chosen);
                  if (e.target.checked) next.add(p.id);
                  else next.delete(p.id);
                  onChange(next);
                }}
              />
              <Avatar id={p.id} name={p.displayName} size={28} online={presence[p.id] ?? false} />
              <span className="person-name">{p.displayName}</span>
              <span className="person-username">@{p.username}</span>
            </label>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function InviteDialog({ room, onClose }: { room: Room; onClose: () => void }) {
  const store = useStore();
  const state = useChatState();
  const [people, setPeople] = useState<Person[] | undefined>();
  const [chosen, setChosen] = useState<ReadonlySet<string>>(new Set());
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const members = new Set((state.members[room.id] ?? []).map((m) => m.id));

  useEffect(() => {
    void store.people().then(setPeople, () => setPeople([]));
  }, [store]);

  const invite = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await store.invite(room.id, [...chosen]);
      onClose();
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  const candidates = people?.filter((p) => !members.has(p.id));
  return (
    <Modal title={`Invite people to #${room.name}`} onClose={onClose}>
      <div className="modal-body">
        <span id="invite-people" className="sr-only">
          People to invite
        </span>
        {candidates === undefined ? (
          <p className="hint">Loading people…</p>
        ) : (
          <PersonPicker people={candidates} chosen={chosen} onChange={setChosen} labelledBy="invite-people" />
        )}
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <div className="modal-actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="button" className="button primary" disabled={busy || chosen.size === 0} onClick={() => void invite()}>
            {busy ? 'Inviting…' : chosen.size > 1 ? `Invite ${chosen.size} people` : 'Invite'}
          </button>
        </div>
      </div>
    </Modal>
  );
}

export function NewDmDialog({ onClose, onOpen }: { onClose: () => void; onOpen: (roomId: string) => void }) {
  const store = useStore();
  const { presence } = useChatState();
  const [people, setPeople] = useState<Person[] | undefined>();
  const [query, setQuery] = useState('');
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    void store.people().then(setPeople, () => setPeople([]));
  }, [store]);

  const open = async (p: Person) => {
    setError(undefined);
    try {
      const room = await store.openDm(p.id);
      onOpen(room.id);
    } catch (err) {
      setError(describeError(err));
    }
  };

  const shown = people?.filter((p) => matches(p, query));
  return (
    <Modal title="New direct message" onClose={onClose}>
      <div className="modal-body">
        <label className="search-field">
          <SearchIcon />
          <input type="search" aria-label="Find a person" placeholder="Find a person" value={query} onChange={(e) => setQuery(e.target.value)} autoFocus />
        </label>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        {shown === undefined ? (
          <p className="hint">Loading people…</p>
        ) : shown.length === 0 ? (
          <p className="empty-panel">{people?.length ? 'Nobody matches.' : 'People appear here once you share a room with them. Join a room first!'}</p>
        ) : (
          <ul className="person-list" aria-label="People">
            {shown.map((p) => (
              <li key={p.id}>
                <button type="button" className="person" onClick={() => void open(p)}>
                  <Avatar id={p.id} name={p.displayName} size={28} online={presence[p.id] ?? false} />
                  <span className="person-name">{p.displayName}</span>
                  <span className="person-username">@{p.username}</span>
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
    </Modal>
  );
}
