/**
 * One message in the list: sender, time, text, attachments, edited/deleted states, and the
 * sender's own edit and delete actions. Also the outbox's messages that are not stored yet
 * ("Sending…", or "Not sent" with Retry and Discard).
 */
import type { Message, OutboxEntry } from '@switchboard/client';
import { Limits } from '@switchboard/protocol';
import { memo, useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { AttachmentList } from './attachments.js';
import { Avatar } from '../ui/avatar.js';
import { formatFull, formatTime } from '../ui/format.js';
import { AlertIcon, ChatIcon, ClockIcon, EditIcon, TrashIcon } from '../ui/icons.js';
import { MessageText } from './message-text.js';
import { ReactionBar, ReactionPicker } from './reactions.js';
import { ThreadSummary } from './thread-summary.js';
import { useStore } from '../use-store.js';

interface MessageItemProps {
  message: Message;
  mine: boolean;
  /** Follows a message of the same sender shortly before: no name or avatar. */
  compact: boolean;
  /** The signed-in user's username (mentions of it stand out). */
  username: string;
  mentionsMe: boolean;
  highlighted: boolean;
  canDelete: boolean;
  /** "Seen by …" under this message. */
  receipt: string | undefined;
  onEdit: (message: Message, text: string) => Promise<void>;
  onDelete: (message: Message) => Promise<void>;
  /** Shown in the thread panel: no thread summary or "Reply in thread" there. */
  inThread?: boolean;
}

export const MessageItem = memo(function MessageItem(props: MessageItemProps) {
  const { message, mine, compact, username, mentionsMe, highlighted, canDelete, receipt, inThread = false } = props;
  const store = useStore();
  const [mode, setMode] = useState<'view' | 'edit' | 'confirm-delete'>('view');
  const [error, setError] = useState<string | undefined>();
  const classes = ['message', compact ? 'compact' : '', mine ? 'mine' : '', mentionsMe ? 'mentions-me' : '', highlighted ? 'highlighted' : ''];
  const time = (
    <time dateTime={new Date(message.createdAt).toISOString()} title={formatFull(message.createdAt)}>
      {formatTime(message.createdAt)}
    </time>
  );

  const act = async (action: () => Promise<void>) => {
    setError(undefined);
    try {
      await action();
      setMode('view');
    } catch (err) {
      setError(err instanceof Error ? err.message : 'That did not work. Please try again.');
    }
  };

  return (
    <article
      className={classes.filter(Boolean).join(' ')}
      data-seq={message.seq}
      data-message-id={message.id}
      data-state="sent"
      aria-label={`${message.senderName} at ${formatTime(message.createdAt)}`}
    >
      <div className="message-gutter">{compact ? <span className="gutter-time">{time}</span> : <Avatar id={message.senderId} name={message.senderName} size={36} />}</div>
      <div className="message-body">
        {!compact && (
          <header className="message-header">
            <span className="sender">{message.senderName}</span>
            {time}
          </header>
        )}
        {message.deleted ? (
          <p className="message-text deleted">This message was deleted.</p>
        ) : mode === 'edit' ? (
          <EditForm message={message} onCancel={() => setMode('view')} onSave={(text) => act(() => props.onEdit(message, text))} />
        ) : (
          <>
            {message.text && (
              <div className="message-text">
                <MessageText text={message.text} me={username} />
                {message.editedAt !== null && (
                  <span className="edited" title={`Edited ${formatFull(message.editedAt)}`}>
                    {' '}
                    (edited)
                  </span>
                )}
              </div>
            )}
            {message.attachments.length > 0 && <AttachmentList attachments={message.attachments} />}
          </>
        )}
        <ReactionBar message={message} />
        {!inThread && <ThreadSummary message={message} />}
        {mode === 'confirm-delete' && (
          <div className="confirm" role="group" aria-label="Delete this message?">
            <span>Delete this message for everyone?</span>
            <button type="button" className="button danger small" onClick={() => void act(() => props.onDelete(message))} autoFocus>
              Delete
            </button>
            <button type="button" className="button small" onClick={() => setMode('view')}>
              Cancel
            </button>
          </div>
        )}
        {error && (
          <p className="inline-error" role="alert">
            {error}
          </p>
        )}
        {receipt && <p className="receipt">{receipt}</p>}
      </div>
      {!message.deleted && mode === 'view' && (
        <div className="message-actions" role="toolbar" aria-label="Message actions">
          <ReactionPicker message={message} />
          {!inThread && message.threadId === null && (
            <button
              type="button"
              className="icon-button"
              aria-label="Reply in thread"
              title="Reply in thread"
              onClick={() => store.openThread(message.roomId, message.id)}
            >
              <ChatIcon size={16} />
            </button>
          )}
          {mine && (
            <button type="button" className="icon-button" aria-label="Edit message" title="Edit" onClick={() => setMode('edit')}>
              <EditIcon size={16} />
            </button>
          )}
          {(mine || canDelete) && (
            <button type="button" className="icon-button" aria-label="Delete message" title="Delete" onClick={() => setMode('confirm-delete')}>
              <TrashIcon size={16} />
            </button>
          )}
        </div>
      )}
    </article>
  );
});

function EditForm({ message, onSave, onCancel }: { message: Message; onSave: (text: string) => Promise<void>; onCancel: () => void }) {
  const [text, setText] = useState(message.text);
  const [busy, setBusy] = useState(false);
  const ref = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
  }, []);
  const save = async () => {
    if (!text.trim()) return;
    if (text === message.text) return onCancel();
    setBusy(true);
    await onSave(text);
    setBusy(false);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      onCancel();
    } else if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void save();
    }
  };
  return (
    <div className="edit-form">
      <textarea
        ref={ref}
        aria-label="Edit message"
        value={text}
        maxLength={Limits.messageTextMax}
        rows={Math.min(8, text.split('\n').length + 1)}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
      />
      <div className="edit-actions">
        <span className="hint">Enter to save, Esc to cancel</span>
        <button type="button" className="button small" onClick={onCancel}>
          Cancel
        </button>
        <button type="button" className="button primary small" disabled={busy} onClick={() => void save()}>
          Save
        </button>
      </div>
    </div>
  );
}

/** A message still in the outbox. */
export function PendingItem({ entry, username, onRetry, onDiscard }: { entry: OutboxEntry; username: string; onRetry: () => void; onDiscard: () => void }) {
  const failed = entry.status === 'failed';
  return (
    <article className={`message mine compact ${failed ? 'failed' : 'pending'}`} data-state={entry.status} data-client-msg-id={entry.clientMsgId}>
      <div className="message-gutter">
        <span className="gutter-time">{failed ? <AlertIcon size={14} /> : <ClockIcon size={14} />}</span>
      </div>
      <div className="message-body">
        {entry.text && (
          <div className="message-text">
            <MessageText text={entry.text} me={username} />
          </div>
        )}
        {entry.attachmentIds && entry.attachmentIds.length > 0 && (
          <p className="hint">
            {entry.attachmentIds.length} attachment{entry.attachmentIds.length === 1 ? '' : 's'}
          </p>
        )}
        {failed ? (
          <p className="send-state failed" role="alert">
            Not sent{entry.error ? `: ${entry.error.message}` : ''}.{' '}
            <button type="button" className="link-button" onClick={onRetry}>
              Retry
            </button>{' '}
            <button type="button" className="link-button" onClick={onDiscard}>
              Discard
            </button>
          </p>
        ) : (
          <p className="send-state">Sending…</p>
        )}
      </div>
    </article>
  );
}

