/**
 * The admin's rooms view (`/admin/rooms`): every public and private room (never a DM), found by
 * name and optionally only the archived or the active ones, newest activity first, a page at a
 * time; archive one (read-only for its members at once) or unarchive it, each after a confirmation.
 */
import type { AdminRoom, SwitchboardClient } from '@switchboard/client';
import { useCallback, useEffect, useRef, useState } from 'react';
import { describeError } from '../errors.js';
import { DataTable, type Column } from '../ui/data-table.js';
import { formatAgo, formatFull } from '../ui/format.js';
import { HashIcon, LockIcon } from '../ui/icons.js';
import { SearchField } from '../ui/search-field.js';
import './admin.css';

type Shown = 'all' | 'active' | 'archived';

const ARCHIVED_FILTER: Record<Shown, boolean | undefined> = { all: undefined, active: false, archived: true };

export function AdminRoomsView({ client }: { client: SwitchboardClient }) {
  const [query, setQuery] = useState('');
  const [shown, setShown] = useState<Shown>('all');
  const [rooms, setRooms] = useState<AdminRoom[] | undefined>();
  const [next, setNext] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  // Answers can arrive out of order while someone types: only the latest request's counts.
  const latest = useRef(0);

  /** The first page, or (with `before`) the one after what is listed. */
  const load = useCallback(
    async (before?: string) => {
      const request = ++latest.current;
      setBusy(true);
      setError(undefined);
      try {
        const page = await client.accounts.listRooms({ query, archived: ARCHIVED_FILTER[shown], ...(before === undefined ? {} : { before }) });
        if (request !== latest.current) return;
        setRooms((listed) => (before === undefined ? page.rooms : [...(listed ?? []), ...page.rooms]));
        setNext(page.next);
      } catch (err) {
        if (request === latest.current) setError(describeError(err));
      } finally {
        if (request === latest.current) setBusy(false);
      }
    },
    [client, query, shown],
  );
  useEffect(() => void load(), [load]);

  const setArchived = async (room: AdminRoom, archived: boolean) => {
    const question = archived
      ? `Archive #${room.name}? Its ${room.memberCount} members can still read it, but nobody can write in it until it is unarchived.`
      : `Unarchive #${room.name}? Its members can write in it again.`;
    if (!window.confirm(question)) return;
    setError(undefined);
    try {
      const changed = await client.accounts.setRoomArchived(room.id, archived);
      // Archiving changes no room's activity: the row stays where it is, with what changed.
      setRooms((listed) => listed?.map((r) => (r.id === changed.id ? { ...r, ...changed } : r)));
    } catch (err) {
      setError(describeError(err));
    }
  };

  const columns: Column<AdminRoom>[] = [
    {
      header: 'Room',
      rowHeader: true,
      cell: (r) => (
        <span className="admin-room-name">
          {r.kind === 'private' ? <LockIcon size={14} /> : <HashIcon size={14} />}
          {r.name}
          {r.archived && <span className="badge archived-badge">Archived</span>}
        </span>
      ),
      title: (r) => r.topic || undefined,
    },
    { header: 'Kind', cell: (r) => (r.kind === 'private' ? 'Private' : 'Public') },
    { header: 'Members', className: 'num', cell: (r) => r.memberCount.toLocaleString() },
    {
      header: 'Last activity',
      // A room without messages is ordered by its creation, which the tooltip shows.
      cell: (r) => (r.lastMessageAt === null ? <span className="hint">No messages</span> : formatAgo(r.lastMessageAt)),
      title: (r) => (r.lastMessageAt === null ? `Created ${formatFull(r.createdAt)}` : formatFull(r.lastMessageAt)),
    },
    {
      header: 'Actions',
      hideHeader: true,
      className: 'num',
      cell: (r) =>
        r.archived ? (
          <button type="button" className="button small" aria-label={`Unarchive #${r.name}`} onClick={() => void setArchived(r, false)}>
            Unarchive
          </button>
        ) : (
          <button type="button" className="button small danger" aria-label={`Archive #${r.name}`} onClick={() => void setArchived(r, true)}>
            Archive
          </button>
        ),
    },
  ];

  return (
    <div className="admin admin-rooms">
      <div className="admin-filters">
        <SearchField label="Find rooms" placeholder="Room name" onSearch={setQuery} />
        <label className="field">
          <span>Show</span>
          <select name="archived" value={shown} onChange={(e) => setShown(e.target.value as Shown)}>
            <option value="all">All rooms</option>
            <option value="active">Active rooms</option>
            <option value="archived">Archived rooms</option>
          </select>
        </label>
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <DataTable label="Rooms" columns={columns} rows={rooms} rowKey={(r) => r.id} rowData={(r) => ({ 'data-room': r.name })} empty="No room matches." />
      {next !== null && (
        <button type="button" className="button load-more" disabled={busy} onClick={() => void load(next)}>
          {busy ? 'Loading…' : 'Show more rooms'}
        </button>
      )}
    </div>
  );
}
