/**
 * The admin's accounts view (`/admin/users`): find people, make them admins or users, deactivate
 * (which signs them out everywhere at once) or reactivate them, and reset a password (the
 * temporary one is shown here, once, to be passed on).
 */
import type { AdminUser, SwitchboardClient } from '@switchboard/client';
import { useCallback, useEffect, useState } from 'react';
import { describeError } from '../errors.js';
import { formatAgo } from '../ui/format.js';
import './admin.css';

/** Wait after the last keystroke before searching, so typing a name costs one request. */
const SEARCH_DELAY_MS = 250;

export function AdminUsersView({ client, me }: { client: SwitchboardClient; me: string }) {
  const [query, setQuery] = useState('');
  const [users, setUsers] = useState<AdminUser[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [temporary, setTemporary] = useState<{ username: string; password: string } | undefined>();

  const load = useCallback(
    (q: string) => client.accounts.listUsers(q).then(setUsers, (err: unknown) => setError(describeError(err))),
    [client],
  );
  useEffect(() => {
    const timer = setTimeout(() => void load(query.trim()), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [load, query]);

  const act = async (work: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await work();
      await load(query.trim());
    } catch (err) {
      setError(describeError(err, 'There must always be an active admin: make someone else admin first.'));
    }
  };

  return (
    <div className="admin admin-users">
      <label className="field">
        <span>Find people</span>
        <input type="search" name="query" placeholder="Username or display name" value={query} onChange={(e) => setQuery(e.target.value)} />
      </label>
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
      {users === undefined ? (
        <p className="hint">Loading…</p>
      ) : (
        <table className="admin-table">
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Role</th>
              <th scope="col">Last seen</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.id} data-username={u.username}>
                <td>
                  {u.displayName} <span className="hint">@{u.username}</span>
                </td>
                <td>
                  <select
                    aria-label={`Role of @${u.username}`}
                    value={u.role}
                    onChange={(e) => void act(() => client.accounts.updateUser(u.id, { role: e.target.value === 'admin' ? 'admin' : 'user' }))}
                  >
                    <option value="user">User</option>
                    <option value="admin">Admin</option>
                  </select>
                </td>
                <td>{u.lastSeenAt === null ? 'never' : formatAgo(u.lastSeenAt)}</td>
                <td>{u.deactivated ? 'Deactivated' : 'Active'}</td>
                <td className="admin-actions">
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
                    onClick={() =>
                      void act(async () => setTemporary({ username: u.username, password: await client.accounts.resetPassword(u.id) }))
                    }
                  >
                    Reset password
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
