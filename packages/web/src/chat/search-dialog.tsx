/**
 * Searching messages in the user's rooms (`message:search`): results newest first, each showing its
 * room, sender, time and an excerpt with the matches marked; choosing one opens its room at that
 * message. The excerpt is shown as text — only the `«…»` marks become `<mark>` elements.
 */
import type { Message, SearchResult } from '@switchboard/client';
import { SnippetMark } from '@switchboard/protocol';
import { useEffect, useState } from 'react';
import { describeError } from '../errors.js';
import { formatFull } from '../ui/format.js';
import { SearchIcon } from '../ui/icons.js';
import { Modal } from '../ui/modal.js';
import { useChatState, useStore } from '../use-store.js';
import './search.css';

/** Milliseconds of quiet typing before a query is sent. */
const DEBOUNCE_MS = 250;
const PAGE = 20;

/** The snippet as text runs, the matches in `<mark>`. */
function Snippet({ text }: { text: string }) {
  const parts: { text: string; match: boolean }[] = [];
  let rest = text;
  while (rest.length > 0) {
    const start = rest.indexOf(SnippetMark.start);
    const end = start < 0 ? -1 : rest.indexOf(SnippetMark.end, start + 1);
    if (start < 0 || end < 0) {
      parts.push({ text: rest, match: false });
      break;
    }
    if (start > 0) parts.push({ text: rest.slice(0, start), match: false });
    parts.push({ text: rest.slice(start + 1, end), match: true });
    rest = rest.slice(end + 1);
  }
  return <>{parts.map((p, i) => (p.match ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>))}</>;
}

interface SearchDialogProps {
  /** The room on screen, which the search can be limited to. */
  room: { id: string; name: string } | undefined;
  onClose: () => void;
  onOpen: (message: Message) => void;
}

export function SearchDialog({ room, onClose, onOpen }: SearchDialogProps) {
  const store = useStore();
  const { rooms } = useChatState();
  const [query, setQuery] = useState('');
  const [onlyHere, setOnlyHere] = useState(false);
  const [found, setFound] = useState<{ results: SearchResult[]; hasMore: boolean } | undefined>();
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const roomId = onlyHere ? room?.id : undefined;

  useEffect(() => {
    if (query.trim() === '') {
      setFound(undefined);
      return;
    }
    let cancelled = false;
    const timer = setTimeout(() => {
      store.client.chat.search(query, { limit: PAGE, ...(roomId ? { roomId } : {}) }).then(
        (page) => {
          if (cancelled) return;
          setFound(page);
          setError(undefined);
        },
        (err: unknown) => !cancelled && setError(describeError(err)),
      );
    }, DEBOUNCE_MS);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [store, query, roomId]);

  const more = async () => {
    const last = found?.results.at(-1);
    if (!found || !last) return;
    setLoadingMore(true);
    try {
      const page = await store.client.chat.search(query, { limit: PAGE, before: last.message.id, ...(roomId ? { roomId } : {}) });
      setFound({ results: [...found.results, ...page.results], hasMore: page.hasMore });
    } catch (err) {
      setError(describeError(err));
    } finally {
      setLoadingMore(false);
    }
  };

  const roomName = (id: string) => {
    const r = rooms.find((x) => x.id === id);
    return r ? (r.kind === 'dm' ? r.name : `#${r.name}`) : '';
  };

  return (
    <Modal title="Search messages" onClose={onClose} wide>
      <div className="modal-body">
        <label className="search-field">
          <SearchIcon />
          <input type="search" aria-label="Search messages" placeholder="Words to find" value={query} onChange={(e) => setQuery(e.target.value)} autoFocus />
        </label>
        {room && (
          <label className="search-scope">
            <input type="checkbox" checked={onlyHere} onChange={(e) => setOnlyHere(e.target.checked)} /> Only in #{room.name}
          </label>
        )}
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        {found === undefined ? (
          <p className="hint">Every word must occur; results come newest first.</p>
        ) : found.results.length === 0 ? (
          <p className="empty-panel">No message matches “{query.trim()}”.</p>
        ) : (
          <ul className="search-results" aria-label="Search results">
            {found.results.map(({ message, snippet }) => (
              <li key={message.id}>
                <button type="button" className="search-result" onClick={() => onOpen(message)}>
                  <span className="browse-meta">
                    {roomName(message.roomId)} · {message.senderName} · <time dateTime={new Date(message.createdAt).toISOString()}>{formatFull(message.createdAt)}</time>
                  </span>
                  <span className="search-snippet">
                    <Snippet text={snippet} />
                  </span>
                </button>
              </li>
            ))}
          </ul>
        )}
        {found?.hasMore && (
          <button type="button" className="button small" disabled={loadingMore} onClick={() => void more()}>
            {loadingMore ? 'Loading…' : 'More results'}
          </button>
        )}
      </div>
    </Modal>
  );
}
