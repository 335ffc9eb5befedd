/**
 * A room's documents next to its chat: the list (newest first), kept live by `doc:changed`, with
 * create, rename and delete; choosing one opens its editor. Loaded on demand, so the chat bundle
 * does not carry it.
 */
import type { Doc, SwitchboardClient, User } from '@switchboard/client';
import { useEffect, useState, type FormEvent } from 'react';
import { describeError } from '../errors.js';
import { CloseIcon } from '../ui/icons.js';
import { DocEditor } from './doc-editor.js';
import './docs.css';

interface DocsPanelProps {
  client: SwitchboardClient;
  roomId: string;
  me: User;
  onClose: () => void;
}

const newestFirst = (docs: Doc[]) => [...docs].sort((a, b) => b.createdAt - a.createdAt);

export function DocsPanel({ client, roomId, me, onClose }: DocsPanelProps) {
  const [docs, setDocs] = useState<Doc[] | undefined>();
  const [openId, setOpenId] = useState<string | undefined>();
  const [title, setTitle] = useState('');
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    let live = true;
    client.docs.list(roomId).then(
      (list) => live && setDocs(list),
      (err: unknown) => live && setError(describeError(err)),
    );
    const off = client.docs.on('changed', ({ roomId: changedRoom, doc, action }) => {
      if (changedRoom !== roomId) return;
      setDocs((list = []) => {
        const others = list.filter((d) => d.id !== doc.id);
        return action === 'deleted' ? others : newestFirst([...others, doc]);
      });
      if (action === 'deleted') setOpenId((id) => (id === doc.id ? undefined : id));
    });
    return () => {
      live = false;
      off();
    };
  }, [client, roomId]);

  const run = (task: Promise<unknown>) => task.then(() => setError(undefined), (err: unknown) => setError(describeError(err)));

  const create = (e: FormEvent) => {
    e.preventDefault();
    const name = title.trim();
    if (!name) return;
    void run(
      client.docs.create(roomId, name).then((doc) => {
        setTitle('');
        setDocs((list = []) => newestFirst([...list.filter((d) => d.id !== doc.id), doc]));
        setOpenId(doc.id);
      }),
    );
  };

  const open = docs?.find((d) => d.id === openId);

  return (
    <aside className="docs-panel" aria-labelledby="docs-heading">
      <header className="panel-header">
        {open ? (
          <button type="button" className="link-button" onClick={() => setOpenId(undefined)}>
            ← Documents
          </button>
        ) : (
          <h2 id="docs-heading">Documents{docs ? ` (${docs.length})` : ''}</h2>
        )}
        <button type="button" className="icon-button" aria-label="Close documents" onClick={onClose}>
          <CloseIcon />
        </button>
      </header>
      {error && (
        <p className="inline-error" role="alert">
          {error}
        </p>
      )}
      {open ? (
        <DocEditor
          key={open.id}
          client={client}
          doc={open}
          me={me}
          onRename={(name) => void run(client.docs.rename(open.id, name))}
          onDelete={() => void run(client.docs.remove(open.id))}
        />
      ) : (
        <>
          <form className="docs-create" onSubmit={create}>
            <input aria-label="New document title" placeholder="New document title" value={title} maxLength={120} onChange={(e) => setTitle(e.target.value)} />
            <button type="submit" className="button primary" disabled={!title.trim()}>
              Create
            </button>
          </form>
          {docs === undefined ? (
            <p className="hint">Loading…</p>
          ) : docs.length === 0 ? (
            <p className="hint">No documents in this room yet.</p>
          ) : (
            <ul className="docs-list">
              {docs.map((d) => (
                <li key={d.id}>
                  <button type="button" className="docs-item" onClick={() => setOpenId(d.id)}>
                    <span className="docs-title">{d.title}</span>
                    <time dateTime={new Date(d.updatedAt).toISOString()}>{new Date(d.updatedAt).toLocaleString()}</time>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </aside>
  );
}
