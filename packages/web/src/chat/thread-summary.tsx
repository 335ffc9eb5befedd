/** Under a root message: how many replies its thread has and when the last came; opens the thread. */
import type { Message } from '@switchboard/client';
import { dayKey, formatDay, formatFull, formatTime } from '../ui/format.js';
import { useStore } from '../use-store.js';

export function ThreadSummary({ message }: { message: Message }) {
  const store = useStore();
  if (message.replyCount === 0) return null;
  const label = `${message.replyCount} ${message.replyCount === 1 ? 'reply' : 'replies'}`;
  return (
    <button type="button" className="thread-summary" onClick={() => store.openThread(message.roomId, message.id)}>
      <span className="thread-count">{label}</span>
      {message.lastReplyAt !== null && (
        <span className="thread-last" title={formatFull(message.lastReplyAt)}>
          Last reply {dayKey(message.lastReplyAt) === dayKey(Date.now()) ? formatTime(message.lastReplyAt) : formatDay(message.lastReplyAt)}
        </span>
      )}
    </button>
  );
}
