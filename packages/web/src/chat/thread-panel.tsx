/**
 * The thread panel beside the room: the root, its replies (live, and caught up after a reconnect like any
 * message) and a composer whose messages are replies. Replies are sent through the SDK outbox, so
 * one written offline goes out when the connection is back.
 */
import type { Message, RoomWithReadState, User } from '@switchboard/client';
import { Limits } from '@switchboard/protocol';
import { useCallback, useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react';
import { CloseIcon, SendIcon } from '../ui/icons.js';
import { MessageItem, PendingItem } from './message-item.js';
import { useChatState, useStore } from '../use-store.js';
import './threads.css';

export function ThreadPanel({ room, me }: { room: RoomWithReadState; me: User }) {
  const store = useStore();
  const { thread, outbox } = useChatState();
  const list = useRef<HTMLDivElement>(null);
  const onEdit = useCallback((m: Message, text: string) => store.edit(m.id, text), [store]);
  const onDelete = useCallback((m: Message) => store.delete(m), [store]);
  const replies = thread?.replies ?? [];
  const stored = new Set(replies.map((m) => m.clientMsgId));
  const pending = outbox.filter((e) => e.threadId === thread?.rootId && !stored.has(e.clientMsgId));

  // New replies keep the newest in view.
  useLayoutEffect(() => {
    const el = list.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [replies.length, pending.length]);

  if (!thread || thread.roomId !== room.id) return null;
  const { root } = thread;
  const item = (m: Message) => (
    <MessageItem
      key={m.id}
      message={m}
      mine={m.senderId === me.id}
      compact={false}
      username={me.username}
      mentionsMe={false}
      highlighted={false}
      canDelete={m.senderId === me.id || me.role === 'admin'}
      receipt={undefined}
      onEdit={onEdit}
      onDelete={onDelete}
      inThread
    />
  );
  return (
    <aside
      className="thread-panel"
      aria-labelledby="thread-heading"
      onKeyDown={(e) => {
        if (e.key === 'Escape') store.closeThread();
      }}
    >
      <header className="panel-header">
        <h2 id="thread-heading">
          Thread <span className="thread-room">{room.kind === 'dm' ? room.name : `#${room.name}`}</span>
        </h2>
        <button type="button" className="icon-button" aria-label="Close thread" onClick={() => store.closeThread()}>
          <CloseIcon />
        </button>
      </header>
      <div className="thread-messages" ref={list} role="log" aria-label="Replies" aria-busy={!thread.loaded}>
        {root ? item(root) : <p className="hint">Loading…</p>}
        <div className="thread-divider" role="separator">
          <span>
            {root ? `${root.replyCount} ${root.replyCount === 1 ? 'reply' : 'replies'}` : ''}
          </span>
        </div>
        {replies.map(item)}
        {thread.loaded && thread.hasMore && (
          <button type="button" className="button small thread-more" onClick={() => void store.loadReplies()}>
            Load more replies
          </button>
        )}
        {pending.map((entry) => (
          <PendingItem
            key={entry.clientMsgId}
            entry={entry}
            username={me.username}
            onRetry={() => store.retry(entry.clientMsgId)}
            onDiscard={() => store.discard(entry.clientMsgId)}
          />
        ))}
      </div>
      <ThreadComposer roomId={room.id} rootId={thread.rootId} />
    </aside>
  );
}

function ThreadComposer({ roomId, rootId }: { roomId: string; rootId: string }) {
  const store = useStore();
  const [text, setText] = useState('');
  const input = useRef<HTMLTextAreaElement>(null);
  useEffect(() => input.current?.focus(), [rootId]);
  const send = () => {
    if (!text.trim()) return;
    store.sendReply(roomId, rootId, text);
    setText('');
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      send();
    }
  };
  return (
    <div className="thread-composer">
      <textarea
        ref={input}
        className="thread-input"
        aria-label="Reply in thread"
        placeholder="Reply…"
        value={text}
        rows={2}
        maxLength={Limits.messageTextMax}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
      />
      <button type="button" className="icon-button send-reply" aria-label="Send reply" disabled={!text.trim()} onClick={send}>
        <SendIcon size={18} />
      </button>
    </div>
  );
}
