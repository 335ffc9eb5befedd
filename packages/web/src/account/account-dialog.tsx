/**
 * Account settings: the display name, and a new password (which signs the user out everywhere
 * else; this tab stays signed in).
 */
import { ErrorCode, SwitchboardError, type User } from '@switchboard/client';
import { Limits, forbiddenNameCharacter } from '@switchboard/protocol';
import { useState, type FormEvent } from 'react';
import { describeError } from '../errors.js';
import { Modal } from '../ui/modal.js';
import { useStore } from '../use-store.js';

export function AccountDialog({ user, onClose, onUserChanged }: { user: User; onClose: () => void; onUserChanged: (user: User) => void }) {
  const { client } = useStore();
  const [displayName, setDisplayName] = useState(user.displayName);
  const [nameStatus, setNameStatus] = useState<{ error?: string; saved?: boolean }>({});
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [passwordStatus, setPasswordStatus] = useState<{ error?: string; saved?: boolean }>({});
  const [busy, setBusy] = useState(false);

  const saveName = async (event: FormEvent) => {
    event.preventDefault();
    const bad = forbiddenNameCharacter(displayName);
    if (bad !== undefined) {
      setNameStatus({ error: `The display name contains an invisible, control or direction-changing character (${bad}).` });
      return;
    }
    setBusy(true);
    try {
      onUserChanged(await client.accounts.setDisplayName(displayName.trim()));
      setNameStatus({ saved: true });
    } catch (err) {
      setNameStatus({ error: describeError(err) });
    } finally {
      setBusy(false);
    }
  };

  const savePassword = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      await client.accounts.changePassword(current, next);
      setCurrent('');
      setNext('');
      setPasswordStatus({ saved: true });
    } catch (err) {
      const wrong = err instanceof SwitchboardError && err.code === ErrorCode.FORBIDDEN;
      setPasswordStatus({ error: wrong ? 'The current password is wrong.' : describeError(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal title="Account settings" onClose={onClose}>
      <div className="modal-body">
        <form onSubmit={(e) => void saveName(e)}>
          <label className="field">
            <span>Display name</span>
            <input
              name="displayName"
              required
              maxLength={Limits.displayNameMax}
              value={displayName}
              onChange={(e) => {
                setDisplayName(e.target.value);
                setNameStatus({});
              }}
            />
          </label>
          {nameStatus.error && (
            <p className="form-error" role="alert">
              {nameStatus.error}
            </p>
          )}
          {nameStatus.saved && (
            <p className="notice" role="status">
              Display name saved.
            </p>
          )}
          <div className="modal-actions">
            <button type="submit" className="button primary" disabled={busy || displayName.trim() === user.displayName}>
              Save name
            </button>
          </div>
        </form>
        <form onSubmit={(e) => void savePassword(e)}>
          <h3>Change password</h3>
          <label className="field">
            <span>Current password</span>
            <input name="currentPassword" type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} />
          </label>
          <label className="field">
            <span>New password</span>
            <input
              name="newPassword"
              type="password"
              autoComplete="new-password"
              required
              minLength={Limits.passwordMin}
              maxLength={Limits.passwordMax}
              value={next}
              onChange={(e) => setNext(e.target.value)}
            />
            <small className="hint">You stay signed in here; every other device and tab is signed out.</small>
          </label>
          {passwordStatus.error && (
            <p className="form-error" role="alert">
              {passwordStatus.error}
            </p>
          )}
          {passwordStatus.saved && (
            <p className="notice" role="status">
              Password changed. Your other sessions have been signed out.
            </p>
          )}
          <div className="modal-actions">
            <button type="submit" className="button primary" disabled={busy}>
              Change password
            </button>
          </div>
        </form>
      </div>
    </Modal>
  );
}
