/**
 * Message search on `/chat` (PROTOCOL §4.3): `message:search` finds messages by their words in the
 * rooms the caller belongs to, newest first. The query is plain text: every word must occur, and
 * nothing in it is an operator (quotes, `OR`, `NOT`, `*`, `-`, parentheses are searched as text).
 */
import { z } from 'zod';
import { codePointLength } from './limits.js';
import type { Message } from './models.js';
import { Id } from './schemas.js';

export const SearchLimits = {
  /** Code points of a query, after control characters became spaces and the ends were trimmed. */
  queryMax: 200,
  /** Results per page when `limit` is not given. */
  pageDefault: 20,
  /** Results per page at most: a larger `limit` is clamped, not refused. */
  pageMax: 50,
} as const;
export type SearchLimits = typeof SearchLimits;

/** The marks around each match in a result's `snippet`. */
export const SnippetMark = { start: '«', end: '»' } as const;

/** Control characters (NUL among them, which PostgreSQL text refuses) search as the spaces they separate. */
const CONTROL = /\p{Cc}/gu;

export const MessageSearchInput = z.object({
  query: z
    .string()
    .transform((s) => s.normalize('NFC').replace(CONTROL, ' ').trim())
    .refine((s) => s.length > 0, { message: 'must not be blank' })
    .refine((s) => codePointLength(s) <= SearchLimits.queryMax, {
      message: `must be at most ${SearchLimits.queryMax} characters`,
    }),
  /** Only this room (the caller must be a member). */
  roomId: Id.optional(),
  /** The id of the last result already seen: the page continues with older messages. */
  before: Id.optional(),
  limit: z
    .number()
    .int()
    .min(1)
    .transform((n) => Math.min(n, SearchLimits.pageMax))
    .optional(),
});
export type MessageSearchInput = z.input<typeof MessageSearchInput>;

/**
 * One match: the message as `message:history` has it, and a short excerpt of its text around the
 * matches, each match between `«` and `»` (`SnippetMark`). The snippet is plain text, not Markdown
 * or HTML: show it as text.
 */
export interface SearchResult {
  message: Message;
  snippet: string;
}
