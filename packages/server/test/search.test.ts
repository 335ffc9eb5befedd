/**
 * `message:search` (PROTOCOL §4.3) on SQLite and PostgreSQL: only the caller's rooms are searched,
 * edits and deletes are reflected at once, pages continue with `before`, snippets mark the matches,
 * and no query — FTS operators, quotes, unbalanced parentheses, emoji, CJK, accents, random text —
 * ever fails or reaches past plain words.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import fc from 'fast-check';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { SnippetMark, type Message, type Room, type SearchResult } from '@switchboard/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migrationProvider } from '../src/store/migrations.js';
import type { DB } from '../src/store/schema.js';
import { fts5Query, SearchRepository } from '../src/store/search.js';
import { chatUser as newChatUser, closeSockets, createPgDatabase, dialects, ok, register, request, startServer, uniqueName, type ChatUser, type TestServer } from './helpers.js';

type Page = { results: SearchResult[]; hasMore: boolean };

describe('fts5Query', () => {
  it('quotes every word, doubling the quotes inside', () => {
    expect(fts5Query('deploy OR "prod" NEAR(a b)*')).toBe('"deploy" "OR" """prod""" "NEAR(a" "b)*"');
    expect(fts5Query('  ^col:x  -y ')).toBe('"^col:x" "-y"');
  });
});

describe.each(dialects)('the search migration on %s', (dialect) => {
  it('indexes the messages stored before it, except deleted ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-search-'));
    const pgDb = dialect === 'postgres' ? await createPgDatabase() : undefined;
    const db = new Kysely<DB>({
      dialect: pgDb
        ? new PostgresDialect({ pool: new pg.Pool({ connectionString: pgDb.url, max: 2 }) })
        : new SqliteDialect({ database: new SQLite(join(dir, 'switchboard.db')) }),
    });
    try {
      const migrator = new Migrator({ db, provider: migrationProvider });
      expect((await migrator.migrateTo('0009_room_webhooks')).error).toBeUndefined();
      await sql`insert into users (id, username, username_lower, display_name, password_hash, role, created_at)
        values ('u1', 'ann', 'ann', 'Ann', 'x', 'user', 1)`.execute(db);
      await sql`insert into rooms (id, name, name_lower, name_key, kind, created_by, created_at, last_seq, member_count)
        values ('r1', 'old', 'old', 'old', 'public', 'u1', 1, 3, 1)`.execute(db);
      await sql`insert into memberships (room_id, user_id, joined_at) values ('r1', 'u1', 1)`.execute(db);
      for (const [id, seq, text, deleted] of [['m1', 1, 'archived release notes', 0], ['m2', 2, '', 1], ['m3', 3, 'more release talk', 0]] as const) {
        await sql`insert into messages (id, room_id, seq, sender_id, text, client_msg_id, created_at, deleted, updated_at)
          values (${id}, 'r1', ${seq}, 'u1', ${text}, ${id}, ${seq}, ${deleted}, ${seq})`.execute(db);
      }
      expect((await migrator.migrateToLatest()).error).toBeUndefined();

      const search = new SearchRepository(db, dialect);
      const hits = await search.search({ userId: 'u1', text: 'release', limit: 10 });
      expect(hits.map((h) => [h.id, h.snippet])).toEqual([
        ['m3', 'more «release» talk'],
        ['m1', 'archived «release» notes'],
      ]);
      // From now on the index follows the table by itself.
      await sql`update messages set text = 'renamed', edited_at = 5 where id = 'm1'`.execute(db);
      expect((await search.search({ userId: 'u1', text: 'renamed', limit: 10 })).map((h) => h.id)).toEqual(['m1']);
      expect((await search.search({ userId: 'u1', text: 'archived', limit: 10 })).map((h) => h.id)).toEqual([]);
    } finally {
      await db.destroy();
      await pgDb?.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each(dialects)('message:search on %s', (dialect) => {
  let t: TestServer;
  beforeAll(async () => {
    // The property test below sends more requests than the default rate limit allows.
    t = await startServer({ dialect, RATE_LIMITS: 'off' });
    await register(t.url); // the admin, so the users below are ordinary ones
  });
  afterAll(() => t.close());
  afterEach(closeSockets);

  const chatUser = (): Promise<ChatUser> => newChatUser(t.url);
  const createRoom = async (u: ChatUser, kind: 'public' | 'private' = 'public', memberIds: string[] = []) =>
    (await ok<{ room: Room }>(u.socket, 'room:create', { name: uniqueName('Room'), kind, memberIds })).room;
  const send = async (u: ChatUser, roomId: string, text: string) =>
    (await ok<{ message: Message }>(u.socket, 'message:send', { roomId, clientMsgId: uniqueName('c'), text })).message;
  const search = (u: ChatUser, payload: Record<string, unknown>) => ok<Page>(u.socket, 'message:search', payload);
  const codeOf = async (u: ChatUser, payload: unknown) => {
    const res = await request(u.socket, 'message:search', payload);
    return res.ok ? 'ok' : res.error.code;
  };
  const ids = (page: Page) => page.results.map((r) => r.message.id);
  /** A word no other test uses, so each test sees only its own messages. */
  const word = () => uniqueName('w').replace(/[^a-z0-9]/g, '');

  it('finds messages in the caller’s rooms only — not in a room left, nor in one never joined', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const shared = await createRoom(a, 'public', [b.id]);
    const left = await createRoom(a, 'public', [b.id]);
    const others = await createRoom(a, 'private');
    const w = word();
    const inShared = await send(a, shared.id, `release ${w} today`);
    await send(a, left.id, `release ${w} in the left room`);
    await send(a, others.id, `release ${w} in a private room`);
    await ok(b.socket, 'room:leave', { roomId: left.id });

    const forB = await search(b, { query: w });
    expect(ids(forB)).toEqual([inShared.id]);
    expect(forB.hasMore).toBe(false);
    expect(forB.results[0]?.message).toMatchObject({ roomId: shared.id, senderId: a.id, text: `release ${w} today` });
    expect((await search(a, { query: w })).results).toHaveLength(3);

    // Naming a room one cannot read is refused, as for history.
    expect(await codeOf(b, { query: w, roomId: others.id })).toBe('FORBIDDEN');
    expect(await codeOf(b, { query: w, roomId: left.id })).toBe('FORBIDDEN');
    expect(await codeOf(b, { query: w, roomId: 'no-such-room' })).toBe('NOT_FOUND');
    expect(ids(await search(a, { query: w, roomId: left.id }))).toHaveLength(1);
  });

  it('reflects edits and deletes at once', async () => {
    const a = await chatUser();
    const room = await createRoom(a);
    const [before, after] = [word(), word()];
    const m = await send(a, room.id, `the ${before} plan`);
    await send(a, room.id, `another ${before} message`);
    expect(await search(a, { query: before })).toMatchObject({ results: [{}, {}] });

    await ok(a.socket, 'message:edit', { messageId: m.id, text: `the ${after} plan` });
    const edited = await search(a, { query: after });
    expect(ids(edited)).toEqual([m.id]);
    expect(edited.results[0]?.message.editedAt).not.toBeNull();
    expect((await search(a, { query: before })).results).toHaveLength(1);

    await ok(a.socket, 'message:delete', { messageId: m.id });
    expect((await search(a, { query: after })).results).toEqual([]);
    expect((await search(a, { query: 'the plan' })).results.map((r) => r.message.id)).not.toContain(m.id);
  });

  it('pages newest first with before, and limits the room with roomId', async () => {
    const a = await chatUser();
    const [r1, r2] = [await createRoom(a), await createRoom(a)];
    const w = word();
    const sent: Message[] = [];
    for (let i = 0; i < 7; i++) sent.push(await send(a, i % 2 === 0 ? r1.id : r2.id, `${w} number ${i}`));
    const newestFirst = sent.map((m) => m.id).reverse();

    const first = await search(a, { query: w, limit: 3 });
    expect(ids(first)).toEqual(newestFirst.slice(0, 3));
    expect(first.hasMore).toBe(true);
    const second = await search(a, { query: w, limit: 3, before: first.results.at(-1)?.message.id });
    expect(ids(second)).toEqual(newestFirst.slice(3, 6));
    const third = await search(a, { query: w, limit: 3, before: second.results.at(-1)?.message.id });
    expect(ids(third)).toEqual(newestFirst.slice(6));
    expect(third.hasMore).toBe(false);

    const inR1 = await search(a, { query: w, roomId: r1.id });
    expect(ids(inR1)).toEqual(sent.filter((m) => m.roomId === r1.id).map((m) => m.id).reverse());
    // A limit above the maximum is clamped, as for history.
    expect((await search(a, { query: w, limit: 10_000 })).results).toHaveLength(7);
  });

  it('marks every match in the snippet, case- and accent-insensitively where the engine folds them', async () => {
    const a = await chatUser();
    const room = await createRoom(a);
    const w = word();
    await send(a, room.id, `Deploy the ${w} service, then check ${w.toUpperCase()} logs`);
    const [hit] = (await search(a, { query: w })).results;
    expect(hit?.snippet).toBe(`Deploy the ${SnippetMark.start}${w}${SnippetMark.end} service, then check ${SnippetMark.start}${w.toUpperCase()}${SnippetMark.end} logs`);

    // Every word must occur; their order does not matter.
    expect((await search(a, { query: `logs ${w} deploy` })).results).toHaveLength(1);
    expect((await search(a, { query: `logs ${w} missingword` })).results).toHaveLength(0);

    const long = `${'filler '.repeat(80)}${w} ${'tail '.repeat(80)}`;
    await send(a, room.id, long);
    const snippet = (await search(a, { query: `${w} tail` })).results[0]?.snippet ?? '';
    expect(snippet).toContain(`${SnippetMark.start}${w}${SnippetMark.end}`);
    expect(snippet.length).toBeLessThan(long.length / 2);
  });

  it('treats operators, quotes, parentheses, emoji, CJK and accents as plain text and never fails', async () => {
    const a = await chatUser();
    const room = await createRoom(a);
    const w = word();
    const texts = [
      `${w} "quoted words" here`,
      `${w} café crème`,
      `${w} 東京 タワー`,
      `${w} 🚀 launch`,
      `${w} NOT this OR that AND more NEAR here`,
    ];
    for (const text of texts) await send(a, room.id, text);
    const hostile = [
      '"', '""', '"unbalanced', "it's", '(', ')', '((a)', 'a AND', 'OR', 'NOT', 'NEAR(a b, 2)', '*', 'a*', '^start',
      'text:col', '-x', 'a - b', '{a b}', '+', '\\', '%', '_', "'; drop table messages; --", '🚀', '東京', 'é', 'e\u0301',
      '\u0000', 'a\u0000b', '\u202e', '\ud800', '&', '|', '!', '<->', ':*', 'a & b | !c', "'a':*",
    ];
    for (const query of hostile) {
      const res = await request<Page>(a.socket, 'message:search', { query });
      if (!res.ok) expect(res.error.code, query).toBe('INVALID_ARGUMENT');
    }
    // Operators are words: "NOT this" finds the message that says it, and excludes nothing.
    expect((await search(a, { query: `${w} NOT this` })).results).toHaveLength(1);
    expect((await search(a, { query: `${w} OR nothinglikethis` })).results).toHaveLength(0);
    expect((await search(a, { query: `${w} "quoted` })).results).toHaveLength(1);
    expect((await search(a, { query: `${w} 東京` })).results).toHaveLength(1);
    expect((await search(a, { query: `${w} 🚀` })).results).toHaveLength(5); // no letters: ignored, never an error
    expect((await search(a, { query: `${w} café` })).results).toHaveLength(1);

    // Blank (after control characters) or too long is INVALID_ARGUMENT, as is a bad limit.
    for (const payload of [{ query: '' }, { query: '  \u0000 ' }, { query: 'x'.repeat(201) }, { query: w, limit: 0 }, { query: 5 }, {}]) {
      expect(await codeOf(a, payload)).toBe('INVALID_ARGUMENT');
    }
  });

  it('never throws on random query strings', async () => {
    const a = await chatUser();
    const room = await createRoom(a);
    await send(a, room.id, 'some text to search: "quotes", (parens), *stars*, 東京 and émoji 🎉');
    const alphabet = fc.constantFrom(...'"\'()*^:-+ ANDORTNE東京éü🎉\\{}[]<>!&|%_\u0000\u200d'.split(''), ...['\ud83c', 'NEAR', 'OR']);
    const query = fc.oneof(fc.string({ minLength: 1, maxLength: 60 }), fc.array(alphabet, { minLength: 1, maxLength: 30 }).map((c) => c.join('')));
    await fc.assert(
      fc.asyncProperty(query, async (q) => {
        const res = await request<Page>(a.socket, 'message:search', { query: q });
        if (res.ok) return Array.isArray(res.results) && res.results.every((r) => r.message.roomId === room.id);
        return res.error.code === 'INVALID_ARGUMENT' && q.replace(/\p{Cc}/gu, ' ').trim() === '';
      }),
      { numRuns: 120 },
    );
  });
});
