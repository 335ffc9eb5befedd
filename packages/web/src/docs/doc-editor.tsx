/**
 * One document, edited together: CodeMirror bound to the session's text and awareness, so everyone
 * sees the others' cursors and selections with their names and colours. The Yjs document lives as
 * long as the editor does, so edits made while offline merge when the connection comes back.
 * Below it, the version history: save a named version, view one's text, restore it.
 */
import type { CollabSession, Doc, DocVersion, SwitchboardClient, User } from '@switchboard/client';
import { EditorView, basicSetup } from 'codemirror';
import { useEffect, useRef, useState } from 'react';
import { yCollab } from 'y-codemirror.next';
import { describeError } from '../errors.js';

interface DocEditorProps {
  client: SwitchboardClient;
  doc: Doc;
  me: User;
  onRename: (title: string) => void;
  onDelete: () => void;
}

const COLORS = ['#e5484d', '#f76b15', '#d6a100', '#30a46c', '#0090ff', '#6e56cf', '#d6409f', '#12a594'];

/** A colour of the user's own, the same in every session. */
function colorOf(userId: string): string {
  let hash = 0;
  for (const ch of userId) hash = (hash * 31 + ch.charCodeAt(0)) | 0;
  return COLORS[Math.abs(hash) % COLORS.length] ?? '#0090ff';
}

export function DocEditor({ client, doc, me, onRename, onDelete }: DocEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const [session, setSession] = useState<CollabSession | undefined>();
  const [editors, setEditors] = useState(1);
  const [error, setError] = useState<string | undefined>();
  const [title, setTitle] = useState(doc.title);

  useEffect(() => setTitle(doc.title), [doc.title]);

  useEffect(() => {
    let opened: CollabSession | undefined;
    let live = true;
    client.collab.open(doc.id).then(
      (s) => {
        if (!live) {
          s.close();
          return;
        }
        opened = s;
        s.on('closed', (err) => setError(describeError(err)));
        setSession(s);
      },
      (err: unknown) => setError(describeError(err)),
    );
    return () => {
      live = false;
      opened?.close();
      opened?.doc.destroy();
    };
  }, [client, doc.id]);

  useEffect(() => {
    if (!session || !host.current) return;
    const color = colorOf(me.id);
    const { awareness } = session;
    awareness.setLocalStateField('user', { name: me.displayName, color, colorLight: `${color}33` });
    const count = () => setEditors(Math.max(1, awareness.getStates().size));
    awareness.on('change', count);
    count();
    const view = new EditorView({
      parent: host.current,
      extensions: [basicSetup, EditorView.lineWrapping, yCollab(session.text, awareness)],
    });
    return () => {
      awareness.off('change', count);
      view.destroy();
    };
  }, [session, me.id, me.displayName]);

  const rename = () => {
    const name = title.trim();
    if (name && name !== doc.title) onRename(name);
  };

  return (
    <section className="doc-editor" aria-label={`Document ${doc.title}`}>
      <div className="doc-head">
        <input
          className="doc-title-input"
          aria-label="Document title"
          value={title}
          maxLength={120}
          onChange={(e) => setTitle(e.target.value)}
          onBlur={rename}
          onKeyDown={(e) => e.key === 'Enter' && rename()}
        />
        <button type="button" className="button small danger" onClick={() => window.confirm(`Delete “${doc.title}”?`) && onDelete()}>
          Delete
        </button>
      </div>
      <p className="hint doc-presence" data-testid="doc-editing">
        {editors === 1 ? '1 person editing' : `${editors} people editing`}
      </p>
      {error && (
        <p className="inline-error" role="alert">
          {error}
        </p>
      )}
      <div className="doc-codemirror" ref={host} data-testid="doc-editor" />
      {!session && !error && <p className="hint">Connecting…</p>}
      <VersionHistory client={client} docId={doc.id} />
    </section>
  );
}

function VersionHistory({ client, docId }: { client: SwitchboardClient; docId: string }) {
  const [versions, setVersions] = useState<DocVersion[]>([]);
  const [name, setName] = useState('');
  const [viewing, setViewing] = useState<{ version: DocVersion; text: string } | undefined>();
  const [error, setError] = useState<string | undefined>();

  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    let live = true;
    client.docs.versions(docId).then(
      (list) => live && setVersions(list),
      (err: unknown) => live && setError(describeError(err)),
    );
    return () => {
      live = false;
    };
  }, [client, docId, generation]);

  const run = (task: Promise<unknown>) =>
    task.then(
      () => {
        setError(undefined);
        setGeneration((n) => n + 1);
      },
      (err: unknown) => setError(describeError(err)),
    );

  return (
    <details className="doc-versions">
      <summary>Version history</summary>
      <form
        className="docs-create"
        onSubmit={(e) => {
          e.preventDefault();
          void run(client.docs.saveVersion(docId, name.trim() || undefined).then(() => setName('')));
        }}
      >
        <input aria-label="Version name" placeholder="Name this version" value={name} maxLength={120} onChange={(e) => setName(e.target.value)} />
        <button type="submit" className="button small">
          Save version
        </button>
      </form>
      {error && (
        <p className="inline-error" role="alert">
          {error}
        </p>
      )}
      <ul className="docs-list">
        {versions.map((v) => (
          <li key={v.id} className="doc-version">
            <span className="docs-title">{v.name ?? 'Automatic'}</span>
            <time dateTime={new Date(v.createdAt).toISOString()}>{new Date(v.createdAt).toLocaleString()}</time>
            <button type="button" className="button small" onClick={() => void run(client.docs.version(docId, v.id).then(setViewing))}>
              View
            </button>
            <button type="button" className="button small" onClick={() => void run(client.docs.restore(docId, v.id))}>
              Restore
            </button>
          </li>
        ))}
      </ul>
      {viewing && (
        <figure className="doc-version-text">
          <figcaption>
            {viewing.version.name ?? 'Automatic version'}{' '}
            <button type="button" className="link-button" onClick={() => setViewing(undefined)}>
              Hide
            </button>
          </figcaption>
          <pre>{viewing.text}</pre>
        </figure>
      )}
    </details>
  );
}
