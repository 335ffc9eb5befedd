/**
 * The admin's accounts view (`/admin/users`): find people, make them admins or users, deactivate
 * (which signs them out everywhere at once) or reactivate them, and reset a password (the
 * temporary one is shown here, once, to be passed on).
 */
import type { AdminUser, SwitchboardClient } from '@switchboard/client';
import { useCallback, useEffect, useState } from 'react';
import { describeError } from '../errors.js';
import { DataTable, type Column } from '../ui/data-table.js';
import { formatAgo, formatFull } from '../ui/format.js';
import { SearchField } from '../ui/search-field.js';
import './admin.css';

export function AdminUsersView({ client, me }: { client: SwitchboardClient; me: string }) {
  const [query, setQuery] = useState('');
  const [users, setUsers] = useState<AdminUser[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [temporary, setTemporary] = useState<{ username: string; password: string } | undefined>();

  const load = useCallback(
    (q: string) => client.accounts.listUsers(q).then(setUsers, (err: unknown) => setError(describeError(err))),
    [client],
  );
  useEffect(() => void load(query), [load, query]);

  const act = async (work: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await work();
      await load(query);
    } catch (err) {
      setError(describeError(err, 'There must always be an active admin: make someone else admin first.'));
    }
  };

  const columns: Column<AdminUser>[] = [
    {
      header: 'User',
      cell: (u) => (
        <>
          {u.displayName} <span className="hint">@{u.username}</span>
        </>
      ),
    },
    {
      header: 'Role',
      cell: (u) => (
        <select
          aria-label={`Role of @${u.username}`}
          value={u.role}
          onChange={(e) => void act(() => client.accounts.updateUser(u.id, { role: e.target.value === 'admin' ? 'admin' : 'user' }))}
        >
          <option value="user">User</option>
          <option value="admin">Admin</option>
        </select>
      ),
    },
    { header: 'Last seen', cell: (u) => (u.lastSeenAt === null ? 'never' : formatAgo(u.lastSeenAt)), title: (u) => (u.lastSeenAt === null ? undefined : formatFull(u.lastSeenAt)) },
    { header: 'Status', cell: (u) => (u.deactivated ? 'Deactivated' : 'Active') },
    {
      header: 'Actions',
      hideHeader: true,
      className: 'num',
      cell: (u) => (
        <div className="admin-actions">
          {u.id !== me && (
            <button
              type="button"
              className={u.deactivated ? 'button' : 'button danger'}
              onClick={() => void act(() => client.accounts.updateUser(u.id, { deactivated: !u.deactivated }))}
            >
              {u.deactivated ? `Reactivate @${u.username}` : `Deactivate @${u.username}`}
            </button>
          )}
          <button
            type="button"
            className="button"
            onClick={() => void act(async () => setTemporary({ username: u.username, password: await client.accounts.resetPassword(u.id) }))}
          >
            Reset password
          </button>
        </div>
      ),
    },
  ];

  return (
    <div className="admin admin-users">
      <SearchField label="Find people" placeholder="Username or display name" onSearch={setQuery} />
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {temporary && (
        <p className="notice" role="status">
          Temporary password for @{temporary.username}: <code className="temporary-password">{temporary.password}</code> — pass it on; it is not
          shown again.
        </p>
      )}
      <DataTable label="Accounts" columns={columns} rows={users} rowKey={(u) => u.id} rowData={(u) => ({ 'data-username': u.username })} empty="Nobody matches." />
    </div>
  );
}
