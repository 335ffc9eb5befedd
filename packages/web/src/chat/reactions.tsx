/**
 * Reactions under a message: one chip per emoji with its count (pressed when the user is among
 * those who chose it; a click toggles that), a tooltip naming who reacted, and a compact picker of
 * common emoji. `:shortcode:` reactions show as their emoji when markdown-it-emoji knows the name.
 */
import type { Message, Reaction } from '@switchboard/client';
import { Limits } from '@switchboard/protocol';
import shortcodes from 'markdown-it-emoji/lib/data/full.mjs';
import { useEffect, useRef, useState } from 'react';
import { nameList } from '../ui/format.js';
import './threads.css';
import { useChatState, useStore } from '../use-store.js';

/** What the picker offers: the reactions people reach for most. */
const COMMON = ['👍', '❤️', '😂', '🎉', '😮', '😢', '🙏', '🔥', '👀', '✅', '🚀', '👏', '💯', '🤔', '😄', '👎'];

const nameOf = new Map(Object.entries(shortcodes).map(([name, emoji]) => [emoji, name]));

/** The emoji a reaction shows: itself, or the emoji of a known `:shortcode:`. */
export function emojiGlyph(emoji: string): string {
  const code = /^:([a-z0-9_+-]+):$/.exec(emoji)?.[1];
  return (code !== undefined ? shortcodes[code] : undefined) ?? emoji;
}

/** Who reacted, by name: "You, Ann and Bo reacted with :tada:". */
function whoReacted(reaction: Reaction, meId: string, names: ReadonlyMap<string, string>, membersKnown: boolean): string {
  const people = reaction.userIds.map((id) => (id === meId ? 'You' : (names.get(id) ?? (membersKnown ? 'someone who left' : 'someone'))));
  const name = nameOf.get(reaction.emoji);
  return `${nameList(people, 10)} reacted with ${name === undefined ? reaction.emoji : `:${name}:`}`;
}

export function ReactionBar({ message }: { message: Message }) {
  const store = useStore();
  const { me, members } = useChatState();
  const [error, setError] = useState<string | undefined>();
  if (message.reactions.length === 0 && !error) return null;
  const list = members[message.roomId];
  const names = new Map((list ?? []).map((m) => [m.id, m.displayName]));
  const toggle = (reaction: Reaction) => {
    setError(undefined);
    store.react(message.id, reaction.emoji, !reaction.userIds.includes(me.id)).catch((err: unknown) => {
      setError(err instanceof Error ? err.message : 'That did not work.');
    });
  };
  return (
    <div className="reactions" role="group" aria-label="Reactions">
      {message.reactions.map((r) => {
        const who = whoReacted(r, me.id, names, list !== undefined);
        return (
          <button
            key={r.emoji}
            type="button"
            className="reaction"
            aria-pressed={r.userIds.includes(me.id)}
            aria-label={`${who} (${r.userIds.length})`}
            title={who}
            data-emoji={r.emoji}
            onClick={() => toggle(r)}
          >
            <span className="reaction-emoji">{emojiGlyph(r.emoji)}</span>
            <span className="reaction-count">{r.userIds.length}</span>
          </button>
        );
      })}
      {error && (
        <span className="inline-error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}

/** The "Add reaction" button of a message's toolbar, with its picker. */
export function ReactionPicker({ message }: { message: Message }) {
  const store = useStore();
  const { me } = useChatState();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const root = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => {
      if (!root.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', close);
    return () => document.removeEventListener('mousedown', close);
  }, [open]);

  const full = message.reactions.length >= Limits.reactionsPerMessageMax;
  const choose = (emoji: string) => {
    const mine = message.reactions.find((r) => r.emoji === emoji)?.userIds.includes(me.id) ?? false;
    setOpen(false);
    setError(undefined);
    store.react(message.id, emoji, !mine).catch((err: unknown) => setError(err instanceof Error ? err.message : 'That did not work.'));
  };

  return (
    <div className="reaction-picker-wrap" ref={root}>
      <button type="button" className="icon-button" aria-label="Add reaction" title="Add reaction" aria-expanded={open} onClick={() => setOpen(!open)}>
        <span aria-hidden="true" className="add-reaction-glyph">
          ☺+
        </span>
      </button>
      {open && (
        <div
          className="reaction-picker"
          role="menu"
          aria-label="Pick a reaction"
          onKeyDown={(e) => {
            if (e.key === 'Escape') setOpen(false);
          }}
        >
          {COMMON.map((emoji) => {
            const taken = message.reactions.some((r) => r.emoji === emoji);
            return (
              <button
                key={emoji}
                type="button"
                role="menuitem"
                className="picker-emoji"
                title={`:${nameOf.get(emoji) ?? emoji}:`}
                disabled={full && !taken}
                onClick={() => choose(emoji)}
              >
                {emoji}
              </button>
            );
          })}
        </div>
      )}
      {error && (
        <span className="inline-error picker-error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}
