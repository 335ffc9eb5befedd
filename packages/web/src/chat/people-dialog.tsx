/**
 * Choosing people: inviting them to a room, or starting a direct conversation. The people on
 * offer are those the user shares a room with; typing a name also searches everyone on the
 * server (`user:search`), and those results follow the known people.
 */
import type { Room } from '@switchboard/client';
import { Limits } from '@switchboard/protocol';
import { useEffect, useState } from 'react';
import { Avatar } from '../ui/avatar.js';
import type { Person } from './chat-store.js';
import { describeError } from '../errors.js';
import { SearchIcon } from '../ui/icons.js';
import { Modal } from '../ui/modal.js';
import { useChatState, useStore } from '../use-store.js';

/** Wait after the last keystroke before searching the server, so typing a name costs one request. */
const SEARCH_DELAY_MS = 250;

function matches(p: Person, query: string): boolean {
  const q = query.trim().toLowerCase();
  return q === '' || p.username.toLowerCase().includes(q) || p.displayName.toLowerCase().includes(q);
}

/**
 * The server's answer for `query` (trimmed, cut to what `user:search` accepts): undefined while
 * the query is blank or its answer is pending.
 */
function useDirectorySearch(query: string): { found?: Person[]; searching: boolean; error?: string } {
  const store = useStore();
  const q = [...query.trim()].slice(0, Limits.userSearchQueryMax).join('');
  const [answer, setAnswer] = useState<{ query: string; found?: Person[]; error?: string } | undefined>();

  useEffect(() => {
    if (q === '') return;
    let cancelled = false;
    const timer = setTimeout(() => {
      store.searchPeople(q).then(
        (found) => !cancelled && setAnswer({ query: q, found }),
        (err: unknown) => !cancelled && setAnswer({ query: q, error: describeError(err) }),
      );
    }, SEARCH_DELAY_MS);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [store, q]);

  if (q === '') return { searching: false };
  if (answer?.query !== q) return { searching: true };
  return { found: answer.found, error: answer.error, searching: false };
}

/** The known people matching `query`, then the server's other matches not in `exclude`. */
function mergePeople(known: readonly Person[], query: string, found: readonly Person[] | undefined, exclude?: ReadonlySet<string>): Person[] {
  const list = known.filter((p) => matches(p, query));
  const ids = new Set(list.map((p) => p.id));
  for (const p of found ?? []) {
    if (ids.has(p.id) || exclude?.has(p.id)) continue;
    ids.add(p.id);
    list.push(p);
  }
  return list;
}

/** Announces the server search to screen readers and sighted users alike. */
function SearchStatus({ searching, error }: { searching: boolean; error?: string }) {
  return (
    <p className="hint" aria-live="polite">
      {searching ? 'Searching everyone…' : error ? `Could not search everyone: ${error}` : ''}
    </p>
  );
}

/**
 * A searchable list of people with a checkbox each: the known people, and anyone on the server
 * once a name is typed (except those in `exclude`). Chosen people stay listed while the search
 * changes, so they can be unchosen.
 */
export function PersonPicker({
  people,
  chosen,
  onChange,
  labelledBy,
  exclude,
}: {
  people: readonly Person[];
  chosen: ReadonlySet<string>;
  onChange: (chosen: ReadonlySet<string>) => void;
  labelledBy: string;
  exclude?: ReadonlySet<string>;
}) {
  const { presence } = useChatState();
  const [query, setQuery] = useState('');
  const { found, searching, error } = useDirectorySearch(query);
  // Who was ticked here, to keep listing the chosen whatever the current search finds.
  const [ticked, setTicked] = useState<ReadonlyMap<string, Person>>(new Map());
  const matching = mergePeople(people, query, found, exclude);
  const matchingIds = new Set(matching.map((p) => p.id));
  const keptChosen = [...chosen].flatMap((id) => {
    const p = ticked.get(id);
    return p && !matchingIds.has(id) ? [p] : [];
  });
  const shown = [...keptChosen, ...matching];
  return (
    <div className="person-picker">
      <label className="search-field">
        <SearchIcon />
        <input type="search" aria-label="Find people" placeholder="Find people by name" value={query} onChange={(e) => setQuery(e.target.value)} />
      </label>
      <SearchStatus searching={searching} error={error} />
      {shown.length === 0 && !searching && (
        <p className="hint">{query.trim() ? 'Nobody matches.' : 'Type a name to find anyone on this server.'}</p>
      )}
      <ul className="person-list" aria-labelledby={labelledBy}>
        {shown.map((p) => (
          <li key={p.id}>
            <label className="person">
              <input
                type="checkbox"
                checked={chosen.has(p.id)}
                onChange={(e) => {
                  const next = new Set(chosen);
                  if (e.target.checked) {
                    next.add(p.id);
                    setTicked(new Map(ticked).set(p.id, p));
                  } else next.delete(p.id);
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
          <PersonPicker people={candidates} chosen={chosen} onChange={setChosen} labelledBy="invite-people" exclude={members} />
        )}
        <InviteLink roomId={room.id} />
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

/**
 * A link that lets people without an account sign up straight into the room (PROTOCOL §4.3), made
 * on demand, with a button that copies it.
 */
function InviteLink({ roomId }: { roomId: string }) {
  const { client } = useStore();
  const [url, setUrl] = useState<string | undefined>();
  const [copied, setCopied] = useState(false);
  const [error, setError] = useState<string | undefined>();

  const create = async () => {
    setError(undefined);
    try {
      setUrl((await client.accounts.createInvite({ roomId })).url);
    } catch (err) {
      setError(describeError(err));
    }
  };
  const copy = async (link: string) => {
    try {
      await navigator.clipboard.writeText(link);
      setCopied(true);
    } catch {
      setError('The link could not be copied: select it and copy it by hand.');
    }
  };

  return (
    <div className="invite-link">
      {url === undefined ? (
        <button type="button" className="link-button" onClick={() => void create()}>
          Or create an invite link for people without an account
        </button>
      ) : (
        <label className="field">
          <span>Invite link (valid for 7 days)</span>
          <span className="invite-link-row">
            <input readOnly value={url} name="inviteUrl" onFocus={(e) => e.target.select()} />
            <button type="button" className="button" onClick={() => void copy(url)}>
              {copied ? 'Copied' : 'Copy'}
            </button>
          </span>
        </label>
      )}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </div>
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

  const { found, searching, error: searchError } = useDirectorySearch(query);
  const shown = people && mergePeople(people, query, found);
  return (
    <Modal title="New direct message" onClose={onClose}>
      <div className="modal-body">
        <label className="search-field">
          <SearchIcon />
          <input type="search" aria-label="Find a person" placeholder="Find anyone by name" value={query} onChange={(e) => setQuery(e.target.value)} autoFocus />
        </label>
        <SearchStatus searching={searching} error={searchError} />
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        {shown === undefined ? (
          <p className="hint">Loading people…</p>
        ) : shown.length === 0 ? (
          searching ? null : (
            <p className="empty-panel">{query.trim() ? 'Nobody matches.' : 'Type a name to find anyone on this server.'}</p>
          )
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
