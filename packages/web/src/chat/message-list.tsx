/**
 * A room's messages: day separators, grouping of consecutive messages, the "New messages" line,
 * read receipts, the outbox's pending and failed messages at the end, infinite scroll back
 * through history, and staying pinned to the bottom while new messages arrive. Marks the room
 * read while its latest message is on screen and the tab is visible.
 */
import type { Message, OutboxEntry, RoomMember, RoomWithReadState, User } from '@switchboard/client';
import { Fragment, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { Timeline } from './chat-store.js';
import { dayKey, formatDay, nameList } from '../ui/format.js';
import { ArrowDownIcon } from '../ui/icons.js';
import { MessageItem, PendingItem } from './message-item.js';
import { mentions } from './rich-text.js';
import { useStore } from '../use-store.js';

/** Messages of one sender closer together than this are grouped. */
const GROUP_MS = 5 * 60_000;
/** Within this many pixels of the bottom counts as "at the bottom". */
const BOTTOM_SLACK = 80;
/** Older messages load when the reader comes this close to the top. */
const TOP_SLACK = 300;

interface MessageListProps {
  room: RoomWithReadState;
  timeline: Timeline;
  pending: readonly OutboxEntry[];
  members: readonly RoomMember[];
  me: User;
  /** Scroll to and highlight this message (a notification was opened). */
  jumpTo: number | undefined;
  onJumped: () => void;
}

/** Where the "Seen by" line goes: under my latest message someone else has read. */
function readReceipt(messages: readonly Message[], members: readonly RoomMember[], me: User, isDm: boolean): { seq: number; text: string } | undefined {
  const others = members.filter((m) => m.id !== me.id);
  if (others.length === 0) return undefined;
  // Sending moves the sender's read mark to their message.
  const readUpTo = new Map(others.map((m) => [m.id, m.lastReadSeq]));
  for (const m of messages) {
    const r = readUpTo.get(m.senderId);
    if (r !== undefined && m.seq > r) readUpTo.set(m.senderId, m.seq);
  }
  let latestMine: Message | undefined;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.senderId !== me.id || m.deleted) continue;
    latestMine ??= m;
    const readers = others.filter((o) => (readUpTo.get(o.id) ?? 0) >= m.seq);
    if (readers.length === 0) continue;
    const text = isDm ? 'Seen' : readers.length === others.length && others.length > 3 ? 'Seen by everyone' : `Seen by ${nameList(readers.map((r) => r.displayName))}`;
    return { seq: m.seq, text };
  }
  return latestMine ? { seq: latestMine.seq, text: 'Sent' } : undefined;
}

export function MessageList({ room, timeline, pending, members, me, jumpTo, onJumped }: MessageListProps) {
  const store = useStore();
  const scroller = useRef<HTMLDivElement>(null);
  const content = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const lastHeight = useRef(0);
  const lastFirstSeq = useRef<number | undefined>(undefined);
  const [showJump, setShowJump] = useState(false);
  const [highlight, setHighlight] = useState<number | undefined>();
  // The read mark when the room was opened: the "New messages" line goes after it (not in a
  // room never read, where everything would be new).
  const [unreadFrom] = useState(() => (room.unread > 0 && room.lastReadSeq > 0 ? room.lastReadSeq : undefined));

  const { hasMore, loaded, loadingOlder } = timeline;
  // Replies live in their thread's panel; reading the room still reads them (`latestSeq`).
  const messages = useMemo(() => timeline.messages.filter((m) => m.threadId === null), [timeline.messages]);
  const stored = useMemo(() => new Set(messages.map((m) => m.clientMsgId)), [messages]);
  const waiting = pending.filter((e) => !stored.has(e.clientMsgId) && e.threadId === undefined);
  const receipt = useMemo(() => readReceipt(messages, members, me, room.kind === 'dm'), [messages, members, me, room.kind]);
  const latestSeq = timeline.messages.at(-1)?.seq ?? 0;

  const markRead = useCallback(() => {
    if (latestSeq > room.lastReadSeq && atBottom.current && document.visibilityState === 'visible') store.markRead(room.id, latestSeq);
  }, [store, room.id, room.lastReadSeq, latestSeq]);

  useEffect(() => {
    markRead();
    const onVisible = () => markRead();
    document.addEventListener('visibilitychange', onVisible);
    window.addEventListener('focus', onVisible);
    return () => {
      document.removeEventListener('visibilitychange', onVisible);
      window.removeEventListener('focus', onVisible);
    };
  }, [markRead]);

  const loadOlder = useCallback(() => {
    if (loaded && hasMore && !loadingOlder) void store.loadOlder(room.id);
  }, [store, room.id, loaded, hasMore, loadingOlder]);

  // Keep the view steady: older messages added above keep what is on screen in place; new ones
  // at the end follow when the reader is at the bottom.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const first = messages[0]?.seq;
    if (lastFirstSeq.current !== undefined && first !== undefined && first < lastFirstSeq.current && !atBottom.current) {
      el.scrollTop += el.scrollHeight - lastHeight.current;
    } else if (atBottom.current) {
      el.scrollTop = el.scrollHeight;
    }
    lastFirstSeq.current = first;
    lastHeight.current = el.scrollHeight;
    // A short room fills no screen: keep loading until it scrolls or the beginning is reached.
    if (el.scrollHeight <= el.clientHeight + TOP_SLACK) loadOlder();
  }, [messages, waiting.length, loadOlder]);

  // Images and edits change heights after rendering: stay pinned to the bottom.
  useEffect(() => {
    const el = scroller.current;
    const inner = content.current;
    if (!el || !inner) return;
    const observer = new ResizeObserver(() => {
      if (atBottom.current) el.scrollTop = el.scrollHeight;
      lastHeight.current = el.scrollHeight;
    });
    observer.observe(inner);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    if (jumpTo === undefined || !loaded) return;
    let cancelled = false;
    void store.loadUntil(room.id, jumpTo).then(() => {
      if (cancelled) return;
      requestAnimationFrame(() => {
        // A reply is shown in its thread: open that beside the room.
        const reply = store.state.timelines[room.id]?.messages.find((m) => m.seq === jumpTo && m.threadId !== null);
        if (reply?.threadId) store.openThread(room.id, reply.threadId);
        const target = scroller.current?.querySelector(`[data-seq="${jumpTo}"]`);
        if (target) {
          atBottom.current = false;
          target.scrollIntoView({ block: 'center' });
          setHighlight(jumpTo);
        }
        onJumped();
      });
    });
    return () => {
      cancelled = true;
    };
  }, [jumpTo, loaded, store, room.id, onJumped]);

  useEffect(() => {
    if (highlight === undefined) return;
    const timer = setTimeout(() => setHighlight(undefined), 2500);
    return () => clearTimeout(timer);
  }, [highlight]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < BOTTOM_SLACK;
    lastHeight.current = el.scrollHeight;
    setShowJump(!atBottom.current);
    if (el.scrollTop < TOP_SLACK) loadOlder();
    markRead();
  };

  const toBottom = () => {
    const el = scroller.current;
    if (!el) return;
    atBottom.current = true;
    el.scrollTo({ top: el.scrollHeight, behavior: 'smooth' });
    setShowJump(false);
    markRead();
  };

  const onEdit = useCallback((m: Message, text: string) => store.edit(m.id, text), [store]);
  const onDelete = useCallback((m: Message) => store.delete(m), [store]);

  return (
    <div className="message-list-wrap">
      <div
        className="message-list"
        ref={scroller}
        onScroll={onScroll}
        role="log"
        aria-label={`Messages in ${room.kind === 'dm' ? room.name : `#${room.name}`}`}
        aria-busy={!loaded || loadingOlder}
        tabIndex={0}
      >
        <div ref={content} className="message-list-content">
          {loaded && !hasMore ? (
            <div className="room-start">
              <h2>{room.kind === 'dm' ? room.name : `#${room.name}`}</h2>
              <p>
                {room.kind === 'dm'
                  ? `This is the beginning of your conversation with ${room.name}.`
                  : `This is the very beginning of #${room.name}.${room.topic ? ` ${room.topic}` : ''}`}
              </p>
            </div>
          ) : (
            <div className="history-more">
              {loaded ? (
                <button type="button" className="button small" onClick={loadOlder} disabled={loadingOlder}>
                  {loadingOlder ? 'Loading older messages…' : 'Load older messages'}
                </button>
              ) : (
                <span className="hint">Loading messages…</span>
              )}
            </div>
          )}
          {messages.map((m, i) => {
            const prev = messages[i - 1];
            const newDay = !prev || dayKey(prev.createdAt) !== dayKey(m.createdAt);
            // The first unread message shown: replies between are in their threads.
            const newLine = unreadFrom !== undefined && m.seq > unreadFrom && (prev ? prev.seq <= unreadFrom : m.seq === unreadFrom + 1) && m.senderId !== me.id;
            const compact =
              !newDay && !newLine && prev !== undefined && prev.senderId === m.senderId && !prev.deleted && m.createdAt - prev.createdAt < GROUP_MS;
            return (
              <Fragment key={m.seq}>
                {newDay && (
                  <div className="day-separator" role="separator" aria-label={formatDay(m.createdAt)}>
                    <span>{formatDay(m.createdAt)}</span>
                  </div>
                )}
                {newLine && (
                  <div className="new-separator" role="separator" aria-label="New messages">
                    <span>New</span>
                  </div>
                )}
                <MessageItem
                  message={m}
                  mine={m.senderId === me.id}
                  compact={compact}
                  username={me.username}
                  mentionsMe={m.senderId !== me.id && !m.deleted && mentions(m.text, me.username)}
                  highlighted={highlight === m.seq}
                  canDelete={m.senderId === me.id || me.role === 'admin'}
                  receipt={receipt?.seq === m.seq ? receipt.text : undefined}
                  onEdit={onEdit}
                  onDelete={onDelete}
                />
              </Fragment>
            );
          })}
          {waiting.map((entry) => (
            <PendingItem
              key={entry.clientMsgId}
              entry={entry}
              username={me.username}
              onRetry={() => store.retry(entry.clientMsgId)}
              onDiscard={() => store.discard(entry.clientMsgId)}
            />
          ))}
        </div>
      </div>
      {showJump && (
        <button type="button" className="jump-latest" onClick={toBottom}>
          <ArrowDownIcon size={16} /> Jump to latest
        </button>
      )}
    </div>
  );
}
