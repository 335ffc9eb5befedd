/** Creating a room: public (anyone can find and join it) or private (members add people). */
import type { Room } from '@switchboard/client';
import { Limits, forbiddenNameCharacter } from '@switchboard/protocol';
import { useEffect, useState, type FormEvent } from 'react';
import type { Person } from './chat-store.js';
import { describeError } from '../errors.js';
import { HashIcon, LockIcon } from '../ui/icons.js';
import { Modal } from '../ui/modal.js';
import { PersonPicker } from './people-dialog.js';
import { useStore } from '../use-store.js';

export function CreateRoomDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (room: Room) => void }) {
  const store = useStore();
  const [name, setName] = useState('');
  const [topic, setTopic] = useState('');
  const [kind, setKind] = useState<'public' | 'private'>('public');
  const [people, setPeople] = useState<Person[] | undefined>();
  const [chosen, setChosen] = useState<ReadonlySet<string>>(new Set());
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (kind === 'private' && !people) void store.people().then(setPeople, () => setPeople([]));
  }, [kind, people, store]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) return;
    // The protocol's name rule, checked here too, so a refused character is named before sending.
    const forbidden = forbiddenNameCharacter(name);
    if (forbidden !== undefined) {
      setError(`The name contains an invisible, control or direction-changing character (${forbidden}).`);
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const room = await store.createRoom({
        name: name.trim(),
        kind,
        ...(topic.trim() ? { topic: topic.trim() } : {}),
        ...(kind === 'private' && chosen.size > 0 ? { memberIds: [...chosen] } : {}),
      });
      onCreated(room);
    } catch (err) {
      setError(describeError(err, 'A public room with that name, or one that looks the same, already exists. Browse rooms to join it.'));
      setBusy(false);
    }
  };

  return (
    <Modal title="Create a room" onClose={onClose}>
      <form className="modal-body" onSubmit={(e) => void submit(e)}>
        <fieldset className="kind-choice">
          <legend>Who can join</legend>
          <label className={kind === 'public' ? 'choice selected' : 'choice'}>
            <input type="radio" name="kind" value="public" checked={kind === 'public'} onChange={() => setKind('public')} />
            <HashIcon />
            <span>
              <strong>Public</strong>
              <small>Anyone on this server can find and join it.</small>
            </span>
          </label>
          <label className={kind === 'private' ? 'choice selected' : 'choice'}>
            <input type="radio" name="kind" value="private" checked={kind === 'private'} onChange={() => setKind('private')} />
            <LockIcon />
            <span>
              <strong>Private</strong>
              <small>Only people invited by its members.</small>
            </span>
          </label>
        </fieldset>
        <label className="field">
          <span>Name</span>
          <input name="name" required maxLength={Limits.roomNameMax} value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. design-reviews" autoFocus />
        </label>
        <label className="field">
          <span>
            Topic <span className="optional">(optional)</span>
          </span>
          <input name="topic" maxLength={Limits.roomTopicMax} value={topic} onChange={(e) => setTopic(e.target.value)} placeholder="What is it about?" />
        </label>
        {kind === 'private' && (
          <div className="field">
            <span id="create-room-people">Add people</span>
            {people === undefined ? (
              <p className="hint">Loading people…</p>
            ) : (
              <PersonPicker people={people} chosen={chosen} onChange={setChosen} labelledBy="create-room-people" />
            )}
          </div>
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
          <button type="submit" className="button primary" disabled={busy || !name.trim()}>
            {busy ? 'Creating…' : 'Create room'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
