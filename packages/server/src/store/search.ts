/**
 * Full-text search over messages: SQLite FTS5 (`message_search`, kept in step with `messages` by
 * triggers) or a PostgreSQL GIN index on `to_tsvector('simple', text)`; see migration
 * `0013_message_search`. Only the rooms the searcher is a member of are read, deleted messages
 * never match, and results come newest first (message ids are time-sortable), paged by id.
 *
 * The query is user text and never FTS syntax: on SQLite every word is a quoted FTS5 string
 * (where no character is an operator), on PostgreSQL `plainto_tsquery` reads it as plain words.
 * Either way every word must occur.
 */
import { SnippetMark } from '@switchboard/protocol';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Dialect } from './db.js';
import type { MessageView } from './messages.js';
import type { DB } from './schema.js';

export type SearchHit = MessageView & { snippet: string };

export interface SearchQuery {
  userId: string;
  /** Plain text, already normalized and not blank. */
  text: string;
  roomId?: string | undefined;
  /** Only messages with a smaller id (older) than this one. */
  before?: string | undefined;
  limit: number;
}

/** Tokens of the snippet on SQLite (FTS5's own maximum is 64); PostgreSQL's `MaxWords` matches it. */
const SNIPPET_WORDS = 24;

/**
 * The text as an FTS5 query that matches messages holding every word of it: each whitespace-
 * separated word becomes a string literal (`"` doubled inside), which FTS5 tokenizes like the
 * indexed text and never parses as an operator, a column filter or a prefix. A word with no
 * letters or digits is an empty string, which FTS5 ignores.
 */
export function fts5Query(text: string): string {
  return text
    .split(/\s+/u)
    .filter((word) => word.length > 0)
    .map((word) => `"${word.replaceAll('"', '""')}"`)
    .join(' ');
}

export class SearchRepository {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly dialect: Dialect,
  ) {}

  /** Up to `limit + 1` hits, newest first: the extra one tells the caller whether more exist. */
  async search(query: SearchQuery): Promise<SearchHit[]> {
    const statement = this.dialect === 'postgres' ? postgresSearch(query) : sqliteSearch(query);
    return (await statement.execute(this.db)).rows;
  }
}

function filters(q: SearchQuery): RawBuilder<unknown> {
  return sql.join(
    [
      sql`m.deleted = 0`,
      ...(q.roomId !== undefined ? [sql`m.room_id = ${q.roomId}`] : []),
      ...(q.before !== undefined ? [sql`m.id < ${q.before}`] : []),
    ],
    sql` and `,
  );
}

function sqliteSearch(q: SearchQuery): RawBuilder<SearchHit> {
  return sql<SearchHit>`
    select m.*, u.display_name as sender_name,
      snippet(message_search, 0, ${SnippetMark.start}, ${SnippetMark.end}, '…', ${SNIPPET_WORDS}) as snippet
    from message_search
    join message_search_keys k on k.key = message_search.rowid
    join messages m on m.id = k.message_id
    join memberships ms on ms.room_id = m.room_id and ms.user_id = ${q.userId}
    join users u on u.id = m.sender_id
    where message_search match ${fts5Query(q.text)} and ${filters(q)}
    order by m.id desc
    limit ${q.limit + 1}`;
}

/**
 * The inner query finds and orders the page through the index; the headline, which re-reads each
 * text, is computed only for the rows of the page.
 */
function postgresSearch(q: SearchQuery): RawBuilder<SearchHit> {
  const options = `StartSel=${SnippetMark.start}, StopSel=${SnippetMark.end}, MaxWords=${SNIPPET_WORDS}, MinWords=${SNIPPET_WORDS / 2}`;
  return sql<SearchHit>`
    select hit.*, ts_headline('simple', hit.text, plainto_tsquery('simple', ${q.text}), ${options}) as snippet
    from (
      select m.*, u.display_name as sender_name
      from plainto_tsquery('simple', ${q.text}) as tsq
      join messages m on to_tsvector('simple', m.text) @@ tsq
      join memberships ms on ms.room_id = m.room_id and ms.user_id = ${q.userId}
      join users u on u.id = m.sender_id
      where ${filters(q)}
      order by m.id desc
      limit ${q.limit + 1}
    ) as hit
    order by hit.id desc`;
}
