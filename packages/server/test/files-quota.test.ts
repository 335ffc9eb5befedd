/**
 * The per-user storage quota (MAX_STORAGE_MB_PER_USER) and the sweep of files never attached to a
 * message (FILE_ORPHAN_GRACE_HOURS, FILE_ORPHAN_SWEEP_MINUTES), on SQLite and PostgreSQL, against
 * real servers and their real DATA_DIR: what passes the quota, what is left on disk when it does
 * not, uploads racing for the last of it, and sweeps — by the timer, and by two nodes at once —
 * that release orphans but keep attached files and bytes another file still needs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FileInfo, Message, Room } from '@switchboard/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ChatUser, chatUser, closeSockets, dialects, eventually, ok, request, startServer, type TestServer, uniqueName } from './helpers.js';

/** What the test servers run with: files up to 50 KiB, 100 KiB per user. */
const MAX_UPLOAD_MB = 50 / 1024;
const QUOTA_MB = 100 / 1024;
const QUOTA_BYTES = 100 * 1024;
const HOUR = 3_600_000;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

type UploadAnswer = { status: number; body: { file: FileInfo; error: { code: string; message: string } } };

async function upload(url: string, u: ChatUser, roomId: string, bytes: Buffer): Promise<UploadAnswer> {
  const form = new FormData();
  form.append('roomId', roomId);
  form.append('file', new Blob([new Uint8Array(bytes)]), 'data.bin');
  const res = await fetch(`${url}/api/files`, { method: 'POST', headers: { authorization: `Bearer ${u.session.accessToken}` }, body: form });
  return { status: res.status, body: (await res.json()) as UploadAnswer['body'] };
}

/** Every regular file under `dir`, as paths relative to it. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[]).filter((p) => statSync(join(dir, p)).isFile()).sort();
}

describe.each(dialects)('storage quota and orphan files on %s', (dialect) => {
  let t: TestServer;
  let filesDir: string;
  beforeAll(async () => {
    // The timer never fires during these tests: they call the sweep themselves, with a chosen "now".
    t = await startServer({ dialect, MAX_UPLOAD_MB, MAX_STORAGE_MB_PER_USER: QUOTA_MB, FILE_ORPHAN_GRACE_HOURS: 1 });
    filesDir = join(t.dataDir, 'files');
  });
  afterAll(async () => {
    // Node's http server never again counts a keep-alive connection as idle once it answered a
    // request (413 here) before that request's body had fully arrived, so close() would wait for
    // the keep-alive timeout. No request is running any more: end those connections first.
    t.server.app.server.closeAllConnections();
    await t.close();
  });
  afterEach(closeSockets);

  const roomOf = async (u: ChatUser) => (await ok<{ room: Room }>(u.socket, 'room:create', { name: uniqueName('Quota'), kind: 'private' })).room;
  const blobExists = (bytes: Buffer) => filesUnder(filesDir).some((p) => p.endsWith(sha256(bytes)));
  const tempFiles = () => filesUnder(join(filesDir, 'tmp'));
  const stored = async (u: ChatUser, roomId: string, bytes: Buffer) => {
    const res = await upload(t.url, u, roomId, bytes);
    expect(res.status).toBe(201);
    return res.body.file;
  };
  const send = (u: ChatUser, roomId: string, attachmentIds: string[]) =>
    request<{ message: Message }>(u.socket, 'message:send', { roomId, clientMsgId: uniqueName('c'), text: '', attachmentIds });
  const download = async (u: ChatUser, fileId: string) =>
    (await fetch(`${t.url}/api/files/${fileId}`, { headers: { authorization: `Bearer ${u.session.accessToken}` } })).status;

  it('refuses an upload that would pass the quota with 413, leaving nothing on disk; other users are not affected', async () => {
    const [a, b] = [await chatUser(t.url), await chatUser(t.url)];
    const room = await roomOf(a);
    await stored(a, room.id, randomBytes(40_000));
    await stored(a, room.id, randomBytes(40_000));

    // 80 000 of 102 400 bytes used: 40 000 more do not fit, though each file is under MAX_UPLOAD_MB.
    const tooMuch = randomBytes(40_000);
    const refused = await upload(t.url, a, room.id, tooMuch);
    expect(refused.status).toBe(413);
    expect(refused.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(refused.body.error.message).toMatch(/storage quota/);
    expect(blobExists(tooMuch)).toBe(false);
    expect(tempFiles()).toEqual([]);

    // What still fits is accepted, up to the last byte.
    const rest = randomBytes(QUOTA_BYTES - 80_000);
    await stored(a, room.id, rest);
    const oneMore = await upload(t.url, a, room.id, randomBytes(1));
    expect(oneMore.status).toBe(413);
    expect(oneMore.body.error.message).toMatch(/storage quota/);

    // The quota is the uploader's own: another user's first file is fine.
    const roomB = await roomOf(b);
    await stored(b, roomB.id, randomBytes(40_000));
  });

  it('lets parallel uploads racing for the last of the quota pass only as far as it goes', async () => {
    const u = await chatUser(t.url);
    const room = await roomOf(u);
    // Six uploads of 30 000 bytes at once: three fit in 102 400, whatever the interleaving.
    const contents = Array.from({ length: 6 }, () => randomBytes(30_000));
    const answers = await Promise.all(contents.map((bytes) => upload(t.url, u, room.id, bytes)));
    const accepted = contents.filter((_, i) => answers[i]?.status === 201);
    const refused = contents.filter((_, i) => answers[i]?.status === 413);
    expect(accepted).toHaveLength(3);
    expect(refused).toHaveLength(3);
    for (const a of answers.filter((x) => x.status === 413)) expect(a.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    for (const bytes of accepted) expect(blobExists(bytes)).toBe(true);
    for (const bytes of refused) expect(blobExists(bytes)).toBe(false);
    expect(tempFiles()).toEqual([]);
  });

  it('frees the quota when a message with files is deleted', async () => {
    const u = await chatUser(t.url);
    const room = await roomOf(u);
    const file = await stored(u, room.id, randomBytes(50_000));
    await stored(u, room.id, randomBytes(50_000));
    expect((await upload(t.url, u, room.id, randomBytes(10_000))).status).toBe(413);

    const sent = await send(u, room.id, [file.id]);
    if (!sent.ok) throw new Error(JSON.stringify(sent.error));
    await ok(u.socket, 'message:delete', { messageId: sent.message.id });
    await stored(u, room.id, randomBytes(10_000));
  });

  it('sweeps files never attached once their grace is over: attached files and shared bytes stay, the quota frees up', async () => {
    const u = await chatUser(t.url);
    const room = await roomOf(u);
    const shared = randomBytes(20_000);
    const attached = await stored(u, room.id, shared);
    const sameBytes = await stored(u, room.id, shared);
    const loneBytes = randomBytes(30_000);
    const lone = await stored(u, room.id, loneBytes);
    const sent = await send(u, room.id, [attached.id]);
    expect(sent.ok).toBe(true);
    // 70 000 bytes in use: 40 000 more do not fit.
    expect((await upload(t.url, u, room.id, randomBytes(40_000))).status).toBe(413);

    // Within the grace period nothing of it is touched.
    await t.server.files.sweepOrphans(Date.now() + 0.5 * HOUR);
    for (const f of [attached, sameBytes, lone]) expect(await download(u, f.id)).toBe(200);

    // Past it: the two unattached files are gone; the lone one's bytes too, the shared ones stay for the attached file.
    expect(await t.server.files.sweepOrphans(Date.now() + 2 * HOUR)).toBeGreaterThanOrEqual(2);
    expect(await download(u, sameBytes.id)).toBe(404);
    expect(await download(u, lone.id)).toBe(404);
    expect(await download(u, attached.id)).toBe(200);
    expect(blobExists(shared)).toBe(true);
    expect(blobExists(loneBytes)).toBe(false);

    // A swept file cannot be attached any more; and the 50 000 bytes it freed are usable again.
    const late = await send(u, room.id, [lone.id]);
    expect(late.ok).toBe(false);
    if (!late.ok) expect(late.error.code).toBe('NOT_FOUND');
    await stored(u, room.id, randomBytes(40_000));
    // A second sweep finds nothing more of it to do.
    await t.server.files.sweepOrphans(Date.now() + 2 * HOUR);
    expect(await download(u, attached.id)).toBe(200);
  });

  it('lets two nodes sweep the same files at once: each file is released once, shared bytes stay', async () => {
    // A second node on the same database and files directory, as a cluster runs.
    const other = await startServer({
      dialect,
      dataDir: t.dataDir,
      ...(t.databaseUrl ? { databaseUrl: t.databaseUrl } : {}),
      MAX_UPLOAD_MB,
      MAX_STORAGE_MB_PER_USER: QUOTA_MB,
      FILE_ORPHAN_GRACE_HOURS: 1,
    });
    try {
      const u = await chatUser(t.url);
      const room = await roomOf(u);
      const shared = randomBytes(10_000);
      const keep = await stored(u, room.id, shared);
      expect((await send(u, room.id, [keep.id])).ok).toBe(true);
      const orphans = [
        await stored(u, room.id, shared),
        ...(await Promise.all(Array.from({ length: 5 }, () => stored(u, room.id, randomBytes(5_000))))),
      ];
      const later = Date.now() + 2 * HOUR;
      const [here, there] = await Promise.all([t.server.files.sweepOrphans(later), other.server.files.sweepOrphans(later)]);
      // The earlier tests' sweeps left no other orphan: between them, the nodes released each of these once.
      expect(here + there).toBe(orphans.length);
      for (const f of orphans) expect(await download(u, f.id)).toBe(404);
      expect(await download(u, keep.id)).toBe(200);
      expect(blobExists(shared)).toBe(true);
      expect(filesUnder(join(filesDir, 'tmp'))).toEqual([]);
    } finally {
      await other.stop();
    }
  });
});

describe.each(dialects)('the periodic orphan sweep on %s', (dialect) => {
  let t: TestServer;
  beforeAll(async () => {
    // No grace and a sweep every 60 ms: an unattached upload disappears by itself.
    t = await startServer({ dialect, FILE_ORPHAN_GRACE_HOURS: 0, FILE_ORPHAN_SWEEP_MINUTES: 0.001 });
  });
  afterAll(() => t.close());
  afterEach(closeSockets);

  it('releases an unattached upload and removes its bytes without being asked', async () => {
    const u = await chatUser(t.url);
    const { room } = await ok<{ room: Room }>(u.socket, 'room:create', { name: uniqueName('Sweep'), kind: 'private' });
    const bytes = randomBytes(2_000);
    const res = await upload(t.url, u, room.id, bytes);
    expect(res.status).toBe(201);
    const blob = join(t.dataDir, 'files', sha256(bytes).slice(0, 2), sha256(bytes));
    await eventually(() => !existsSync(blob), 10_000, 'the orphan swept from disk');
    const status = (await fetch(`${t.url}/api/files/${res.body.file.id}`, { headers: { authorization: `Bearer ${u.session.accessToken}` } })).status;
    expect(status).toBe(404);
  });
});
