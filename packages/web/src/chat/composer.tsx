/**
 * The message composer: Enter sends, Shift+Enter starts a new line, `@` offers the room's
 * members, typing is announced to the room (renewed while typing, withdrawn when idle or sent),
 * files can be attached, and each room keeps its own draft.
 */
import type { RoomMember, RoomWithReadState, User } from '@switchboard/client';
import { Limits } from '@switchboard/protocol';
import { useEffect, useId, useLayoutEffect, useRef, useState, type ChangeEvent, type KeyboardEvent } from 'react';
import { UploadList, type Upload } from './attachments.js';
import { Avatar } from '../ui/avatar.js';
import { PaperclipIcon, SendIcon } from '../ui/icons.js';
import { useStore } from '../use-store.js';

/** A `typing: true` is renewed this often while typing (the server expires it after 6 s). */
const TYPING_RENEW_MS = 3000;
/** No keystroke for this long: no longer typing. */
const TYPING_IDLE_MS = 4000;
const MAX_SUGGESTIONS = 8;

const drafts = new Map<string, string>();

interface ComposerProps {
  room: RoomWithReadState;
  members: readonly RoomMember[];
  me: User;
  uploads: readonly Upload[];
  onAddFiles: (files: File[]) => void;
  onRemoveUpload: (key: string) => void;
  onClearUploads: () => void;
}

/** The `@partial` right before the caret, if the caret is in one. */
function mentionAt(text: string, caret: number): { start: number; query: string } | undefined {
  const match = /(^|[^A-Za-z0-9_.-])@([A-Za-z0-9_.-]*)$/.exec(text.slice(0, caret));
  if (!match) return undefined;
  return { start: caret - (match[2]?.length ?? 0) - 1, query: match[2] ?? '' };
}

export function Composer({ room, members, me, uploads, onAddFiles, onRemoveUpload, onClearUploads }: ComposerProps) {
  const store = useStore();
  const id = useId();
  const [text, setText] = useState(() => drafts.get(room.id) ?? '');
  const [caret, setCaret] = useState(0);
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState<number | undefined>();
  const input = useRef<HTMLTextAreaElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const typing = useRef<{ sentAt: number; idle: ReturnType<typeof setTimeout> | undefined }>({ sentAt: 0, idle: undefined });

  const stopTyping = () => {
    const t = typing.current;
    clearTimeout(t.idle);
    t.idle = undefined;
    if (t.sentAt !== 0) store.setTyping(room.id, false);
    t.sentAt = 0;
  };

  useEffect(() => {
    input.current?.focus();
    return () => {
      const t = typing.current;
      clearTimeout(t.idle);
      if (t.sentAt !== 0) store.setTyping(room.id, false);
      t.sentAt = 0;
    };
  }, [store, room.id]);

  useEffect(() => {
    drafts.set(room.id, text);
  }, [room.id, text]);

  // Grow with the text, up to a limit (then it scrolls).
  useLayoutEffect(() => {
    const el = input.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, 200)}px`;
  }, [text]);

  const mention = mentionAt(text, caret);
  // A name typed out in full needs no suggestions (and Enter then sends).
  const typedInFull = mention !== undefined && members.some((m) => m.username.toLowerCase() === mention.query.toLowerCase());
  const suggestions =
    mention && !typedInFull && dismissed !== mention.start
      ? members
          .filter((m) => m.id !== me.id)
          .filter((m) => {
            const q = mention.query.toLowerCase();
            return m.username.toLowerCase().startsWith(q) || m.displayName.toLowerCase().split(/\s+/).some((w) => w.startsWith(q));
          })
          .slice(0, MAX_SUGGESTIONS)
      : [];
  const open = suggestions.length > 0;
  const activeIndex = Math.min(active, Math.max(0, suggestions.length - 1));

  /** Where the caret goes once React has put a new value into the textarea (which moves it to the end). */
  const pendingCaret = useRef<number | undefined>(undefined);
  // Before the browser handles the next key: a caret placed later (in an animation frame, as this
  // once was) let quick typing land at the end of the text and then jumped back over it.
  useLayoutEffect(() => {
    const at = pendingCaret.current;
    if (at === undefined) return;
    pendingCaret.current = undefined;
    input.current?.setSelectionRange(at, at);
  });

  const insertMention = (member: RoomMember) => {
    // The textarea's own value and caret, not the last render's: keys pressed since then count.
    const el = input.current;
    const value = el?.value ?? text;
    const at = el?.selectionStart ?? caret;
    const live = mentionAt(value, at);
    if (!live) return;
    const before = `${value.slice(0, live.start)}@${member.username} `;
    const next = before + value.slice(at);
    setText(next);
    setCaret(before.length);
    setActive(0);
    pendingCaret.current = before.length;
    el?.focus();
    announceTyping(next);
  };

  const announceTyping = (value: string) => {
    const t = typing.current;
    clearTimeout(t.idle);
    if (value.trim() === '') {
      stopTyping();
      return;
    }
    const now = Date.now();
    if (now - t.sentAt > TYPING_RENEW_MS) {
      t.sentAt = now;
      store.setTyping(room.id, true);
    }
    t.idle = setTimeout(stopTyping, TYPING_IDLE_MS);
  };

  const ready = uploads.filter((u) => u.status === 'done' && u.fileId !== undefined);
  const uploading = uploads.some((u) => u.status === 'uploading');
  const canSend = (text.trim() !== '' || ready.length > 0) && !uploading;

  const send = () => {
    if (!canSend) return;
    store.send(room.id, text.trim() === '' ? '' : text, ready.map((u) => u.fileId!));
    setText('');
    setCaret(0);
    onClearUploads();
    stopTyping();
  };

  const onChange = (e: ChangeEvent<HTMLTextAreaElement>) => {
    setText(e.target.value);
    setCaret(e.target.selectionStart);
    setActive(0);
    announceTyping(e.target.value);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.nativeEvent.isComposing) return;
    if (open) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const step = e.key === 'ArrowDown' ? 1 : -1;
        setActive((activeIndex + step + suggestions.length) % suggestions.length);
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        const chosen = suggestions[activeIndex];
        if (chosen) insertMention(chosen);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        setDismissed(mention?.start);
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      send();
    }
  };

  const label = room.kind === 'dm' ? `Message ${room.name}` : `Message #${room.name}`;
  const listId = `${id}-mentions`;

  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      {uploads.length > 0 && <UploadList uploads={uploads} onRemove={onRemoveUpload} />}
      {open && (
        <ul className="mention-list" id={listId} role="listbox" aria-label="People in this room">
          {suggestions.map((m, i) => (
            <li
              key={m.id}
              id={`${listId}-${m.id}`}
              role="option"
              aria-selected={i === activeIndex}
              className={i === activeIndex ? 'active' : undefined}
              onMouseDown={(e) => {
                e.preventDefault();
                insertMention(m);
              }}
            >
              <Avatar id={m.id} name={m.displayName} size={22} online={m.online} />
              <span className="mention-name">{m.displayName}</span>
              <span className="mention-username">@{m.username}</span>
            </li>
          ))}
        </ul>
      )}
      <div className="composer-box">
        <button type="button" className="icon-button" aria-label="Attach files" title="Attach files" onClick={() => fileInput.current?.click()}>
          <PaperclipIcon />
        </button>
        <input
          ref={fileInput}
          type="file"
          multiple
          hidden
          aria-label="Choose files to attach"
          onChange={(e) => {
            onAddFiles(Array.from(e.target.files ?? []));
            e.target.value = '';
          }}
        />
        <textarea
          ref={input}
          className="composer-input"
          rows={1}
          value={text}
          maxLength={Limits.messageTextMax}
          placeholder={label}
          aria-label={label}
          role="combobox"
          aria-autocomplete="list"
          aria-expanded={open}
          aria-controls={open ? listId : undefined}
          aria-activedescendant={open && suggestions[activeIndex] ? `${listId}-${suggestions[activeIndex].id}` : undefined}
          aria-describedby={`${id}-hint`}
          onChange={onChange}
          onKeyDown={onKeyDown}
          onSelect={(e) => setCaret(e.currentTarget.selectionStart)}
          onBlur={() => stopTyping()}
          onPaste={(e) => {
            const files = Array.from(e.clipboardData.files);
            if (files.length > 0) {
              e.preventDefault();
              onAddFiles(files);
            }
          }}
        />
        <button type="submit" className="icon-button send" aria-label="Send message" title="Send" disabled={!canSend}>
          <SendIcon />
        </button>
      </div>
      <p className="composer-hint" id={`${id}-hint`}>
        <kbd>Enter</kbd> to send, <kbd>Shift</kbd>+<kbd>Enter</kbd> for a new line, <kbd>@</kbd> to mention
      </p>
    </form>
  );
}
