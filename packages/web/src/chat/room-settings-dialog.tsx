/**
 * A room's settings: muting its notifications (any member), and for its creator or an admin
 * (admins alone for `general`, which nobody created) renaming it, its topic, archiving it
 * (read-only) or unarchiving it, and removing members. DMs have only the mute.
 */
import type { RoomWithReadState, User } from '@switchboard/client';
import { Limits, forbiddenNameCharacter } from '@switchboard/protocol';
import { useEffect, useState, type FormEvent } from 'react';
import { describeError } from '../errors.js';
import { Avatar } from '../ui/avatar.js';
import { Modal } from '../ui/modal.js';
import { useChatState, useStore } from '../use-store.js';

/** Whether `me` may rename, archive and remove members of `room` (the server decides in the end). */
export function mayManage(room: RoomWithReadState, me: User): boolean {
  return room.kind !== 'dm' && (me.role === 'admin' || (room.createdBy !== null && room.createdBy === me.id));
}

export function RoomSettingsDialog({ room, me, onClose }: { room: RoomWithReadState; me: User; onClose: () => void }) {
  const store = useStore();
  const { members } = useChatState();
  const manager = mayManage(room, me);
  const [name, setName] = useState(room.name);
  const [topic, setTopic] = useState(room.topic);
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (manager) store.loadMembers(room.id);
  }, [manager, store, room.id]);

  /** Runs one change; its refusal is shown in the dialog. */
  const run = async (change: () => Promise<void>, conflict?: string) => {
    setBusy(true);
    setError(undefined);
    try {
      await change();
    } catch (err) {
      setError(describeError(err, conflict));
    } finally {
      setBusy(false);
    }
  };

  const save = (e: FormEvent) => {
    e.preventDefault();
    const forbidden = forbiddenNameCharacter(name);
    if (forbidden !== undefined) {
      setError(`The name contains an invisible, control or direction-changing character (${forbidden}).`);
      return;
    }
    const changes = {
      ...(name.trim() !== room.name ? { name: name.trim() } : {}),
      ...(topic.trim() !== room.topic ? { topic: topic.trim() } : {}),
    };
    if (Object.keys(changes).length === 0) return;
    void run(() => store.updateRoom(room.id, changes), 'A public room with that name, or one that looks the same, already exists.');
  };

  const others = (members[room.id] ?? []).filter((m) => m.id !== me.id);
  const label = room.kind === 'dm' ? room.name : `#${room.name}`;
  return (
    <Modal title={`Settings of ${label}`} onClose={onClose}>
      <div className="modal-body room-settings">
        <label className="toggle">
          <input type="checkbox" checked={room.muted} disabled={busy} onChange={(e) => void run(() => store.muteRoom(room.id, e.target.checked))} />
          <span>Mute notifications from this room</span>
        </label>
        {manager && (
          <>
            <form onSubmit={save}>
              <label className="field">
                <span>Name</span>
                <input name="name" required maxLength={Limits.roomNameMax} value={name} onChange={(e) => setName(e.target.value)} />
              </label>
              <label className="field">
                <span>Topic</span>
                <input name="topic" maxLength={Limits.roomTopicMax} value={topic} onChange={(e) => setTopic(e.target.value)} />
              </label>
              <div className="modal-actions">
                <button type="submit" className="button primary" disabled={busy || !name.trim() || (name.trim() === room.name && topic.trim() === room.topic)}>
                  Save
                </button>
              </div>
            </form>
            <section className="settings-section">
              <h3>{room.archived ? 'Archived' : 'Archive'}</h3>
              <p className="hint">
                {room.archived
                  ? 'Nobody can write in this room or edit its documents. Unarchiving opens it again.'
                  : 'An archived room stays readable, but nobody can send, edit or react in it, or edit its documents.'}
              </p>
              <button type="button" className={room.archived ? 'button' : 'button danger'} disabled={busy} onClick={() => void run(() => store.archiveRoom(room.id, !room.archived))}>
                {room.archived ? 'Unarchive room' : 'Archive room'}
              </button>
            </section>
            {others.length > 0 && (
              <section className="settings-section">
                <h3>Members</h3>
                <ul className="settings-members">
                  {others.map((m) => (
                    <li key={m.id}>
                      <Avatar name={m.displayName} id={m.id} size={24} />
                      <span>{m.displayName}</span>
                      <button type="button" className="button small" disabled={busy} aria-label={`Remove ${m.displayName}`} onClick={() => void run(() => store.removeMember(room.id, m.id))}>
                        Remove
                      </button>
                    </li>
                  ))}
                </ul>
              </section>
            )}
          </>
        )}
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
      </div>
    </Modal>
  );
}
