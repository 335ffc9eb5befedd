/**
 * Names people see (PROTOCOL §2): usernames, display names and room names refuse control, bidi and
 * invisible characters (a ZWJ only inside an emoji sequence), are stored NFC-normalized, and public
 * room names that are equal after NFKC and case folding conflict — also with rooms created before
 * the rule, whose keys the migration fills in. Invite notifications carry no text the inviter wrote
 * beyond the room's name. On SQLite and PostgreSQL, against real servers.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { forbiddenNameCharacter, nameKey, type Notification, type Room, type Session } from '@switchboard/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migrationProvider } from '../src/store/migrations.js';
import {
  chatUser,
  closeSockets,
  connect,
  createPgDatabase,
  dialects,
  eventually,
  http,
  ok,
  request,
  startServer,
  type TestServer,
  uniqueName,
} from './helpers.js';

/** One of each kind the rule refuses, by the name of its kind. */
const FORBIDDEN: [string, string][] = [
  ['NUL', '\u0000'],
  ['BEL (C0 control)', '\u0007'],
  ['line feed', '\n'],
  ['DEL', '\u007f'],
  ['NEL (C1 control)', '\u0085'],
  ['LRM', '\u200e'],
  ['RLM', '\u200f'],
  ['LRE', '\u202a'],
  ['RLE', '\u202b'],
  ['PDF', '\u202c'],
  ['LRO', '\u202d'],
  ['RLO', '\u202e'],
  ['LRI', '\u2066'],
  ['RLI', '\u2067'],
  ['FSI', '\u2068'],
  ['PDI', '\u2069'],
  ['zero-width space', '\u200b'],
  ['zero-width non-joiner', '\u200c'],
  ['word joiner', '\u2060'],
  ['BOM / zero-width no-break space', '\ufeff'],
  ['ZWJ between letters', '\u200d'],
];

/** Emoji sequences joined with ZWJ (some with VS16 or a skin tone), and a tag sequence: all welcome. */
const EMOJI_NAMES = ['Ann 👩‍💻', '👨‍👩‍👧 family', '🏳️‍🌈 pride', 'Dev 👩🏽‍💻', '🏴‍☠️', '🧔‍♂️ Bo', '🏴󠁧󠁢󠁥󠁮󠁧󠁿 fan'];

/** ASCII → its fullwidth form (U+FF01–FF5E), which NFKC maps back. */
const fullwidth = (s: string) => s.replace(/[!-~]/g, (c) => String.fromCodePoint(c.codePointAt(0)! + 0xfee0));

describe('the name rule (protocol)', () => {
  it('names the first forbidden character, and accepts emoji sequences', () => {
    for (const [, ch] of FORBIDDEN) expect(forbiddenNameCharacter(`ab${ch}cd`)).toMatch(/^U\+[0-9A-F]{4}$/);
    expect(forbiddenNameCharacter('a\u200db')).toBe('U+200D');
    expect(forbiddenNameCharacter('\u200d👩')).toBe('U+200D');
    expect(forbiddenNameCharacter('👩\u200d')).toBe('U+200D');
    expect(forbiddenNameCharacter('tag\u{E0041}')).toBe('U+E0041');
    for (const name of EMOJI_NAMES) expect(forbiddenNameCharacter(name)).toBeUndefined();
    expect(forbiddenNameCharacter('Zoë Ünal — Ελένη, 李小龍')).toBeUndefined();
  });

  it('keys names by NFKC and case folding', () => {
    expect(nameKey('General')).toBe('general');
    expect(nameKey('ｇｅｎｅｒａｌ')).toBe('general');
    expect(nameKey('GENERAL')).toBe('general');
    expect(nameKey('Straße')).toBe(nameKey('STRASSE'));
    expect(nameKey('ΟΔΟΣ')).toBe(nameKey('οδος'));
    expect(nameKey('Cafe\u0301')).toBe(nameKey('CAFÉ'));
    expect(nameKey('❤️ team')).toBe(nameKey('❤ TEAM'));
    expect(nameKey('design')).not.toBe(nameKey('desing'));
  });
});

describe.each(dialects)('names on %s', (dialect) => {
  let t: TestServer;
  beforeAll(async () => {
    // Dozens of refused registrations from one address: the registration limit would stop them first.
    t = await startServer({ dialect, RATE_LIMITS: 'off' });
  });
  afterAll(() => t.close());
  afterEach(closeSockets);

  const registerRaw = (body: Record<string, unknown>) =>
    http<Session & { error: { code: string; message: string } }>(t.url, 'POST', '/api/auth/register', { password: 'correct horse battery', ...body });

  it.each(FORBIDDEN)('refuses %s in a username, a display name and a room name (INVALID_ARGUMENT)', async (_kind, ch) => {
    const username = await registerRaw({ username: `ab${ch}cd` });
    expect(username.status).toBe(400);
    expect(username.body.error.code).toBe('INVALID_ARGUMENT');

    const display = await registerRaw({ username: uniqueName(), displayName: `Ann${ch}Lee` });
    expect(display.status).toBe(400);
    expect(display.body.error.code).toBe('INVALID_ARGUMENT');
    expect(display.body.error.message).toMatch(/displayName/);

    const u = await chatUser(t.url);
    for (const kind of ['public', 'private']) {
      const res = await request(u.socket, 'room:create', { name: `Team${ch}Room ${uniqueName()}`, kind });
      expect(res.ok).toBe(false);
      if (!res.ok) {
        expect(res.error.code).toBe('INVALID_ARGUMENT');
        expect(res.error.message).toMatch(/name/);
      }
    }
  });

  it('stores names NFC-normalized', async () => {
    const decomposed = 'Rene\u0301e Zoe\u0308';
    const res = await registerRaw({ username: uniqueName(), displayName: decomposed });
    expect(res.status).toBe(201);
    expect(res.body.user.displayName).toBe('Ren\u00e9e Zo\u00eb');
    const u = await chatUser(t.url, res.body);
    const me = await http<{ user: { displayName: string } }>(t.url, 'GET', '/api/me', undefined, res.body.accessToken);
    expect(me.body.user.displayName).toBe('Ren\u00e9e Zo\u00eb');

    const tag = uniqueName();
    const { room } = await ok<{ room: Room }>(u.socket, 'room:create', { name: `Re\u0301union ${tag}`, kind: 'public' });
    expect(room.name).toBe(`R\u00e9union ${tag}`);
    const { rooms } = await ok<{ rooms: Room[] }>(u.socket, 'room:list', {});
    expect(rooms.find((r) => r.id === room.id)?.name).toBe(`R\u00e9union ${tag}`);
    // The same name typed either way is the same public room name.
    const again = await request(u.socket, 'room:create', { name: `R\u00e9union ${tag}`, kind: 'public' });
    expect(again.ok ? 'ok' : again.error.code).toBe('CONFLICT');
  });

  it('accepts emoji ZWJ sequences in display names and room names, exactly as sent', async () => {
    for (const displayName of EMOJI_NAMES) {
      const res = await registerRaw({ username: uniqueName(), displayName });
      expect(res.status).toBe(201);
      expect(res.body.user.displayName).toBe(displayName);
    }
    const u = await chatUser(t.url);
    const name = `👩‍💻 ${uniqueName()}`;
    const { room } = await ok<{ room: Room }>(u.socket, 'room:create', { name, kind: 'public' });
    expect(room.name).toBe(name);
  });

  it('treats "Watercooler", "ｗａｔｅｒｃｏｏｌｅｒ" and "WATERCOOLER" as one public room name (CONFLICT); private rooms may share it', async () => {
    const u = await chatUser(t.url);
    await ok(u.socket, 'room:create', { name: 'Watercooler', kind: 'public' });
    for (const name of [fullwidth('watercooler'), 'WATERCOOLER', ' watercooler ', fullwidth('WATERCOOLER')]) {
      const res = await request(u.socket, 'room:create', { name, kind: 'public' });
      expect(res.ok ? 'ok' : res.error.code, name).toBe('CONFLICT');
    }
    // `general`, which every database has, takes its name like any public room.
    expect(await request(u.socket, 'room:create', { name: 'ＧＥＮＥＲＡＬ', kind: 'public' })).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
    const { room } = await ok<{ room: Room }>(u.socket, 'room:create', { name: fullwidth('watercooler'), kind: 'private' });
    expect(room.name).toBe(fullwidth('watercooler'));
    // Racing creations of look-alike names: exactly one wins.
    const tag = uniqueName('race');
    const answers = await Promise.all(
      [tag, tag.toUpperCase(), fullwidth(tag), fullwidth(tag.toUpperCase())].map((name) => request(u.socket, 'room:create', { name, kind: 'public' })),
    );
    expect(answers.filter((a) => a.ok)).toHaveLength(1);
    expect(answers.filter((a) => !a.ok && a.error.code === 'CONFLICT')).toHaveLength(3);
  });

  it('sends invites that name the room and the inviter by username only, never their display name or the topic', async () => {
    const inviterName = uniqueName('inv');
    const inviter = await registerRaw({ username: inviterName, displayName: 'IT Support: reset your password at evil.example' });
    expect(inviter.status).toBe(201);
    const a = await chatUser(t.url, inviter.body);
    const b = await chatUser(t.url);
    const c = await chatUser(t.url);
    const { room } = await ok<{ room: Room }>(a.socket, 'room:create', {
      name: uniqueName('Secret'),
      kind: 'private',
      topic: 'Urgent: log in at evil.example',
      memberIds: [b.id],
    });
    await ok(a.socket, 'room:invite', { roomId: room.id, userId: c.id });
    for (const [invitee, verb] of [
      [b, 'added you to'],
      [c, 'invited you to'],
    ] as const) {
      const inbox = await connect(t.url, '/notifications', invitee.session.accessToken);
      let found: Notification[] = [];
      await eventually(async () => {
        found = (await ok<{ notifications: Notification[] }>(inbox, 'notification:list', {})).notifications;
        return found.length > 0;
      });
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({ kind: 'invite', title: `${inviterName} ${verb} #${room.name}`, body: '', data: { roomId: room.id } });
      expect(JSON.stringify(found[0])).not.toMatch(/evil\.example/);
    }
  });
});

/**
 * A database migrated up to just before the rule, holding rooms it would refuse now, and then
 * opened by a server: the keys are filled, the look-alike public rooms are kept, and new ones
 * conflict with the oldest of them.
 */
describe.each(dialects)('the name-key migration on %s', (dialect) => {
  let t: TestServer | undefined;
  afterAll(() => t?.close());
  afterEach(closeSockets);

  it('fills the key of existing rooms, keeps public look-alikes apart, and refuses new ones', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-test-'));
    const created = dialect === 'postgres' ? await createPgDatabase() : undefined;
    const db =
      created === undefined
        ? new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SQLite(join(dataDir, 'switchboard.db')) }) })
        : new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: created.url }) }) });
    const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo('0002_files');
    if (error) throw error;
    const now = Date.now();
    await sql`insert into users (id, username, username_lower, display_name, password_hash, role, created_at)
              values ('old-admin', 'oldadmin', 'oldadmin', 'Old Admin', 'x', 'admin', ${now})`.execute(db);
    const rooms: [string, string, string][] = [
      ['room-1', 'Lobby', 'public'],
      ['room-2', 'ＬＯＢＢＹ', 'public'],
      ['room-3', 'lobby', 'private'],
      ['room-4', 'Other', 'public'],
    ];
    for (const [i, [id, name, kind]] of rooms.entries()) {
      await sql`insert into rooms (id, name, name_lower, kind, topic, created_by, created_at, last_seq, member_count)
                values (${id}, ${name}, ${name.toLowerCase()}, ${kind}, '', 'old-admin', ${now + i}, 0, 0)`.execute(db);
    }
    await db.destroy();

    t = await startServer({ dialect, dataDir, ...(created ? { databaseUrl: created.url, dropDatabase: created.drop } : {}) });
    const keys = await t.server.database.db.selectFrom('rooms').select(['id', 'name', 'name_key']).where('id', 'like', 'room-%').orderBy('id').execute();
    expect(keys).toEqual([
      { id: 'room-1', name: 'Lobby', name_key: 'lobby' },
      { id: 'room-2', name: 'ＬＯＢＢＹ', name_key: 'lobby\nroom-2' },
      { id: 'room-3', name: 'lobby', name_key: 'lobby' },
      { id: 'room-4', name: 'Other', name_key: 'other' },
    ]);

    const u = await chatUser(t.url);
    for (const name of ['lobby', 'Ｌｏｂｂｙ', 'OTHER']) {
      const res = await request(u.socket, 'room:create', { name, kind: 'public' });
      expect(res.ok ? 'ok' : res.error.code, name).toBe('CONFLICT');
    }
    const { rooms: found } = await ok<{ rooms: Room[] }>(u.socket, 'room:browse', { query: 'lobby' });
    expect(found.map((r) => r.id)).toContain('room-1');
  });
});
