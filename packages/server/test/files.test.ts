/**
 * Files (PROTOCOL §3): uploads into rooms, downloads by members with a Bearer token or a signed
 * URL, what is stored and how it is served, attachments in messages and what deleting a message
 * does to its files — on SQLite and PostgreSQL, against a real server and its real DATA_DIR.
 * Also the OpenAPI document that describes the HTTP API.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, decodeJwt } from 'jose';
import type { FileInfo, FileUrl, Message, Room, Session } from '@switchboard/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sanitizeFileName } from '../src/domain/files.js';
import {
  type ChatUser,
  chatUser as newChatUser,
  closeSockets,
  dialects,
  eventually,
  http,
  next,
  ok,
  request,
  startServer,
  type TestServer,
  uniqueName,
} from './helpers.js';
import { png } from './images.js';

/** A 1×1 PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);
/** A GIF89a's header and logical screen of `width`×`height`, a one-colour table and its trailer. */
const gif = (width: number, height: number) => {
  const screen = Buffer.alloc(7);
  screen.writeUInt16LE(width, 0);
  screen.writeUInt16LE(height, 2);
  return Buffer.concat([Buffer.from('GIF89a', 'latin1'), screen, Buffer.from([0x3b])]);
};

/** A lossless WebP's RIFF header and VP8L chunk header for `width`×`height`. */
const webp = (width: number, height: number) => {
  const vp8l = Buffer.alloc(5);
  vp8l[0] = 0x2f;
  vp8l.writeUInt32LE(((width - 1) & 0x3fff) | (((height - 1) & 0x3fff) << 14), 1);
  const riff = Buffer.alloc(8);
  riff.write('VP8L', 0, 'latin1');
  riff.writeUInt32LE(vp8l.length, 4);
  const body = Buffer.concat([Buffer.from('WEBP', 'latin1'), riff, vp8l, Buffer.alloc(1)]);
  const head = Buffer.alloc(8);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
};

/**
 * A JPEG's segments up to its frame header: an APP0 (JFIF), an APP1 with EXIF `orientation`
 * (6: stored on its side, shown turned a quarter) when given, and a baseline SOF0 of `width`×`height`.
 */
function jpeg(width: number, height: number, orientation?: number): Buffer {
  const segment = (marker: number, data: Buffer) => {
    const head = Buffer.from([0xff, marker, 0, 0]);
    head.writeUInt16BE(data.length + 2, 2);
    return Buffer.concat([head, data]);
  };
  const parts = [Buffer.from([0xff, 0xd8]), segment(0xe0, Buffer.from('JFIF\0\x01\x01\0\0\x01\0\x01\0\0', 'latin1'))];
  if (orientation !== undefined) {
    // Big-endian TIFF, IFD0 at 8 with one entry: 0x0112 (orientation), SHORT, count 1.
    const tiff = Buffer.alloc(26);
    tiff.write('MM', 0, 'latin1');
    tiff.writeUInt16BE(42, 2);
    tiff.writeUInt32BE(8, 4);
    tiff.writeUInt16BE(1, 8);
    tiff.writeUInt16BE(0x0112, 10);
    tiff.writeUInt16BE(3, 12);
    tiff.writeUInt32BE(1, 14);
    tiff.writeUInt16BE(orientation, 18);
    parts.push(segment(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff])));
  }
  const frame = Buffer.from([8, 0, 0, 0, 0, 1, 1, 0x11, 0]);
  frame.writeUInt16BE(height, 1);
  frame.writeUInt16BE(width, 3);
  parts.push(segment(0xc0, frame), Buffer.from([0xff, 0xd9]));
  return Buffer.concat(parts);
}

/** The start of an ELF executable. */
const ELF = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(248, 0x90)]);
/** The limit the test servers run with: MAX_UPLOAD_MB=0.05. */
const MAX_BYTES = Math.floor(0.05 * 1024 * 1024);

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

type Upload = { status: number; body: { file: FileInfo; error: { code: string; message: string; retryAfterMs?: number } } };

async function upload(
  url: string,
  token: string | undefined,
  parts: { roomId?: string; file?: Buffer | string; name?: string; fileFirst?: boolean },
): Promise<Upload> {
  const form = new FormData();
  const addRoom = () => parts.roomId !== undefined && form.append('roomId', parts.roomId);
  const addFile = () => parts.file !== undefined && form.append('file', new Blob([typeof parts.file === 'string' ? parts.file : new Uint8Array(parts.file)]), parts.name ?? 'file.bin');
  if (parts.fileFirst) {
    addFile();
    addRoom();
  } else {
    addRoom();
    addFile();
  }
  const res = await fetch(`${url}/api/files`, {
    method: 'POST',
    headers: token ? { authorization: `Bearer ${token}` } : {},
    body: form,
  });
  return { status: res.status, body: (await res.json()) as Upload['body'] };
}

async function download(url: string, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(url + path, { headers });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

const bearer = (s: Session) => ({ authorization: `Bearer ${s.accessToken}` });

/** Every regular file under `dir`, as paths relative to it. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[]).filter((p) => statSync(join(dir, p)).isFile()).sort();
}

describe('file names', () => {
  it('keeps the last path segment, drops control and direction characters, shortens long names before the extension', () => {
    expect(sanitizeFileName('../../etc/passwd')).toBe('passwd');
    expect(sanitizeFileName('C:\\Users\\me\\report.pdf')).toBe('report.pdf');
    expect(sanitizeFileName('  a\u0000b\u001fc\u007f.txt  ')).toBe('abc.txt');
    expect(sanitizeFileName('invoice\u202Egpj.exe')).toBe('invoicegpj.exe');
    expect(sanitizeFileName('résumé 📄.txt')).toBe('résumé 📄.txt');
    expect(sanitizeFileName('')).toBe('file');
    expect(sanitizeFileName('..')).toBe('file');
    expect(sanitizeFileName('dir/')).toBe('file');
    const long = sanitizeFileName(`${'😀'.repeat(300)}.jpeg`);
    expect([...long]).toHaveLength(255);
    expect(long.endsWith('😀.jpeg')).toBe(true);
    expect([...sanitizeFileName('x'.repeat(400))]).toHaveLength(255);
  });
});

describe.each(dialects)('files on %s', (dialect) => {
  let t: TestServer;
  let filesDir: string;
  beforeAll(async () => {
    t = await startServer({ dialect, MAX_UPLOAD_MB: 0.05 });
    filesDir = join(t.dataDir, 'files');
  });
  afterAll(() => t.close());
  afterEach(closeSockets);


  const chatUser = (): Promise<ChatUser> => newChatUser(t.url);

  const createRoom = async (u: ChatUser, memberIds: string[] = [], kind = 'private') =>
    (await ok<{ room: Room }>(u.socket, 'room:create', { name: uniqueName('Files'), kind, memberIds })).room;

  async function stored(u: ChatUser, roomId: string, file: Buffer | string, name = 'file.bin'): Promise<FileInfo> {
    const res = await upload(t.url, u.session.accessToken, { roomId, file, name });
    expect(res.status).toBe(201);
    return res.body.file;
  }

  const send = (u: ChatUser, roomId: string, attachmentIds: string[], clientMsgId = uniqueName('c'), text = '') =>
    request<{ message: Message }>(u.socket, 'message:send', { roomId, clientMsgId, text, attachmentIds });

  const blobPath = (hash: string) => join(filesDir, hash.slice(0, 2), hash);

  it('stores an upload by a member and serves it to the members of the room', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const room = await createRoom(a, [b.id]);
    const before = Date.now();
    const res = await upload(t.url, a.session.accessToken, { roomId: room.id, file: PNG, name: 'dot.png' });
    expect(res.status).toBe(201);
    const file = res.body.file;
    expect(file).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      roomId: room.id,
      name: 'dot.png',
      size: PNG.length,
      mime: 'image/png',
      sha256: sha256(PNG),
      createdAt: expect.any(Number),
      width: 1,
      height: 1,
    });
    expect(file.createdAt).toBeGreaterThanOrEqual(before);
    expect(readFileSync(blobPath(file.sha256))).toEqual(PNG);

    for (const who of [a, b]) {
      const got = await download(t.url, `/api/files/${file.id}`, bearer(who.session));
      expect(got.status).toBe(200);
      expect(got.bytes).toEqual(PNG);
      expect(got.headers.get('content-type')).toBe('image/png');
      expect(got.headers.get('content-length')).toBe(String(PNG.length));
      expect(got.headers.get('content-disposition')).toBe(`inline; filename="dot.png"; filename*=UTF-8''dot.png`);
      expect(got.headers.get('x-content-type-options')).toBe('nosniff');
      expect(got.headers.get('content-security-policy')).toBe("sandbox; default-src 'none'");
      expect(got.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
      expect(got.headers.get('etag')).toBe(`"${file.sha256}"`);
    }
    const again = await download(t.url, `/api/files/${file.id}`, { ...bearer(b.session), 'if-none-match': `"${file.sha256}"` });
    expect(again.status).toBe(304);
    expect(again.bytes).toHaveLength(0);
  });

  it('types files by their bytes: text, an executable named .png, SVG — none of them inline', async () => {
    const a = await chatUser();
    const room = await createRoom(a);
    const text = await stored(a, room.id, 'hello, Welt 👋\n', 'résumé (v2).png');
    expect(text).toMatchObject({ mime: 'text/plain; charset=utf-8', name: 'résumé (v2).png' });
    const elf = await stored(a, room.id, ELF, 'x.png');
    expect(elf).toMatchObject({ mime: 'application/x-elf', name: 'x.png', size: ELF.length });
    const svg = await stored(a, room.id, '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', 'logo.svg');
    expect(svg.mime).not.toContain('svg');
    for (const bytes of [Buffer.from('not \xc3\x28 utf-8', 'latin1'), Buffer.from('text\0with a NUL')]) {
      expect((await stored(a, room.id, bytes, 'blob.txt')).mime).toBe('application/octet-stream');
    }

    const gotElf = await download(t.url, `/api/files/${elf.id}`, bearer(a.session));
    expect(gotElf.status).toBe(200);
    expect(gotElf.bytes).toEqual(ELF);
    expect(gotElf.headers.get('content-type')).toBe('application/x-elf');
    expect(gotElf.headers.get('content-disposition')).toBe(`attachment; filename="x.png"; filename*=UTF-8''x.png`);
    expect(gotElf.headers.get('x-content-type-options')).toBe('nosniff');

    const gotText = await download(t.url, `/api/files/${text.id}`, bearer(a.session));
    expect(gotText.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(gotText.headers.get('content-disposition')).toBe(
      `attachment; filename="r_sum_ (v2).png"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%28v2%29.png`,
    );
    const gotSvg = await download(t.url, `/api/files/${svg.id}`, bearer(a.session));
    expect(gotSvg.headers.get('content-disposition')).toMatch(/^attachment;/);
  });

  it('records the pixel size of PNG, JPEG (EXIF rotation applied), GIF and WebP images, and sends it with their attachments', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const room = await createRoom(a, [b.id]);
    const cases: Array<[string, Buffer, string, { width: number; height: number } | undefined]> = [
      ['wide.png', png(640, 360), 'image/png', { width: 640, height: 360 }],
      ['photo.jpg', jpeg(800, 600), 'image/jpeg', { width: 800, height: 600 }],
      ['phone.jpg', jpeg(800, 600, 6), 'image/jpeg', { width: 600, height: 800 }],
      ['anim.gif', gif(320, 200), 'image/gif', { width: 320, height: 200 }],
      ['lossless.webp', webp(1000, 250), 'image/webp', { width: 1000, height: 250 }],
      ['notes.txt', Buffer.from('width 10 height 20'), 'text/plain; charset=utf-8', undefined],
    ];
    const files: FileInfo[] = [];
    for (const [name, bytes, mime, size] of cases) {
      const file = await stored(a, room.id, bytes, name);
      expect(file.mime, name).toBe(mime);
      if (size) expect(file, name).toMatchObject(size);
      else expect(file, name).not.toHaveProperty('width');
      files.push(file);
    }
    const toB = next<Message>(b.socket, 'message:new');
    const sent = await send(a, room.id, files.map((f) => f.id), uniqueName('c'), 'pictures');
    if (!sent.ok) throw new Error(JSON.stringify(sent.error));
    const expected = cases.map(([name, , , size], i) => ({ id: files[i]?.id, name, ...size }));
    expect(sent.message.attachments.map(({ id, name, width, height }) => ({ id, name, ...(width ? { width, height } : {}) }))).toEqual(expected);
    expect((await toB).attachments).toEqual(sent.message.attachments);
    const history = await ok<{ messages: Message[] }>(b.socket, 'message:history', { roomId: room.id });
    expect(history.messages.at(-1)?.attachments).toEqual(sent.message.attachments);
  });

  it('stores an image whose header lies about its size, without a size', async () => {
    const a = await chatUser();
    const room = await createRoom(a);
    // Cut inside its frame header.
    const truncated = jpeg(800, 600).subarray(0, 26);
    const bad = [png(0, 0).subarray(0, 24), truncated, gif(0, 10)];
    for (const bytes of bad) {
      const res = await upload(t.url, a.session.accessToken, { roomId: room.id, file: bytes, name: 'odd.img' });
      expect(res.status).toBe(201);
      expect(res.body.file).not.toHaveProperty('width');
    }
  });

  it('refuses uploads by non-members (before reading the file), into unknown rooms, and malformed ones', async () => {
    const [a, outsider] = [await chatUser(), await chatUser()];
    const room = await createRoom(a);
    const before = filesUnder(filesDir);
    const token = outsider.session.accessToken;

    const forbidden = await upload(t.url, token, { roomId: room.id, file: PNG });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('FORBIDDEN');
    expect((await upload(t.url, token, { roomId: 'no-such-room', file: PNG })).body.error.code).toBe('NOT_FOUND');
    expect((await upload(t.url, undefined, { roomId: room.id, file: PNG })).status).toBe(401);

    const mine = a.session.accessToken;
    for (const parts of [{ file: PNG }, { roomId: room.id }, { roomId: room.id, file: PNG, fileFirst: true }, { roomId: 'bad id!', file: PNG }]) {
      const res = await upload(t.url, mine, parts);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_ARGUMENT');
    }
    const json = await http<{ error: { code: string } }>(t.url, 'POST', '/api/files', { roomId: room.id }, mine);
    expect(json.status).toBe(400);
    expect(json.body.error.code).toBe('INVALID_ARGUMENT');

    // Malformed multipart bodies are the client's fault, never INTERNAL.
    const raw = async (body: string, contentType = 'multipart/form-data; boundary=b0undary') => {
      const res = await fetch(`${t.url}/api/files`, {
        method: 'POST',
        headers: { authorization: `Bearer ${mine}`, 'content-type': contentType },
        body,
      });
      return [res.status, ((await res.json()) as { error: { code: string } }).error.code];
    };
    const roomPart = `--b0undary\r\nContent-Disposition: form-data; name="roomId"\r\n\r\n${room.id}\r\n`;
    const filePart = '--b0undary\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n';
    expect(await raw(`${roomPart}${filePart}cut off before the closing boundary`)).toEqual([400, 'INVALID_ARGUMENT']);
    expect(await raw('no boundary', 'multipart/form-data')).toEqual([400, 'INVALID_ARGUMENT']);
    expect(
      await raw('--b0undary\r\nContent-Disposition: form-data; name="x"\r\nContent-Type: application/json\r\n\r\n{bad\r\n--b0undary--\r\n'),
    ).toEqual([400, 'INVALID_ARGUMENT']);
    expect(await raw(`${roomPart}--b0undary\r\nContent-Disposition: form-data; name="other"; filename="a.bin"\r\n\r\nx\r\n--b0undary--\r\n`)).toEqual([
      400,
      'INVALID_ARGUMENT',
    ]);

    // The room is refused while the file part is still arriving: its body never ends here.
    const boundary = `sb${randomBytes(8).toString('hex')}`;
    const head =
      `--${boundary}\r\nContent-Disposition: form-data; name="roomId"\r\n\r\n${room.id}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="endless.bin"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n';
    const abort = new AbortController();
    const endless = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(head));
        controller.enqueue(new Uint8Array(4096));
      },
    });
    const res = await fetch(`${t.url}/api/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: endless,
      duplex: 'half',
      signal: abort.signal,
    } as RequestInit);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
    abort.abort();

    expect(filesUnder(filesDir)).toEqual(before);
  });

  it('refuses a file over MAX_UPLOAD_MB with 413 and leaves nothing on disk; one at the limit is stored', async () => {
    const a = await chatUser();
    const room = await createRoom(a);
    const before = filesUnder(filesDir);
    const tooLarge = await upload(t.url, a.session.accessToken, { roomId: room.id, file: randomBytes(MAX_BYTES + 1) });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    const muchTooLarge = await upload(t.url, a.session.accessToken, { roomId: room.id, file: randomBytes(MAX_BYTES * 4) });
    expect(muchTooLarge.status).toBe(413);
    expect(filesUnder(filesDir)).toEqual(before);
    expect(readdirSync(join(filesDir, 'tmp'))).toEqual([]);

    // The connection is still usable, and a file of exactly the limit is fine.
    const atLimit = randomBytes(MAX_BYTES);
    const fits = await stored(a, room.id, atLimit);
    expect(fits.size).toBe(MAX_BYTES);
    expect(readFileSync(blobPath(fits.sha256))).toEqual(atLimit);
  });

  it('leaves nothing behind when the client goes away in the middle of a file', async () => {
    const a = await chatUser();
    const room = await createRoom(a);
    const before = filesUnder(filesDir);
    const boundary = `sb${randomBytes(8).toString('hex')}`;
    const head =
      `--${boundary}\r\nContent-Disposition: form-data; name="roomId"\r\n\r\n${room.id}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.bin"\r\n\r\n`;
    const abort = new AbortController();
    const partial = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(head));
        controller.enqueue(randomBytes(8192));
      },
    });
    const pending = fetch(`${t.url}/api/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a.session.accessToken}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: partial,
      duplex: 'half',
      signal: abort.signal,
    } as RequestInit).catch((err: unknown) => err);
    await eventually(() => readdirSync(join(filesDir, 'tmp')).length > 0, 5000, 'the upload to start');
    abort.abort();
    expect(await pending).toMatchObject({ name: 'AbortError' });
    await eventually(() => readdirSync(join(filesDir, 'tmp')).length === 0, 5000, 'the temporary file to go');
    expect(filesUnder(filesDir)).toEqual(before);
  });

  it('rate-limits uploads per user with retryAfterMs', async () => {
    const a = await chatUser();
    const room = await createRoom(a);
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => upload(t.url, a.session.accessToken, { roomId: room.id, file: `n${i}` })),
    );
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]?.body.error.code).toBe('RATE_LIMITED');
    expect(limited[0]?.body.error.retryAfterMs).toBeGreaterThan(0);
    expect(results.filter((r) => r.status === 201).length).toBeGreaterThanOrEqual(10);
  });

  it('refuses downloads to non-members and to anyone once they left; unknown files are 404', async () => {
    const [a, b, outsider] = [await chatUser(), await chatUser(), await chatUser()];
    const room = await createRoom(a, [b.id], 'public');
    const file = await stored(a, room.id, 'members only');
    const denied = await download(t.url, `/api/files/${file.id}`, bearer(outsider.session));
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.bytes.toString())).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect((await http(t.url, 'POST', `/api/files/${file.id}/url`, undefined, outsider.session.accessToken)).status).toBe(403);
    expect((await download(t.url, `/api/files/${file.id}`)).status).toBe(401);
    expect((await download(t.url, '/api/files/no-such-file', bearer(a.session))).status).toBe(404);

    expect((await download(t.url, `/api/files/${file.id}`, bearer(b.session))).status).toBe(200);
    await ok(b.socket, 'room:leave', { roomId: room.id });
    expect((await download(t.url, `/api/files/${file.id}`, bearer(b.session))).status).toBe(403);
  });

  it('serves a signed URL without a Bearer header, and refuses expired, forged, other-file and non-file tokens', async () => {
    const a = await chatUser();
    const room = await createRoom(a);
    const [file, other] = [await stored(a, room.id, PNG, 'a.png'), await stored(a, room.id, 'other')];
    const signed = await http<FileUrl>(t.url, 'POST', `/api/files/${file.id}/url`, undefined, a.session.accessToken);
    expect(signed.status).toBe(200);
    expect(signed.body.url).toMatch(new RegExp(`^/api/files/${file.id}\\?token=[\\w-]+\\.[\\w-]+\\.[\\w-]+$`));
    expect(signed.body.expiresAt).toBeGreaterThan(Date.now() + 60_000);
    expect(signed.body.expiresAt).toBeLessThanOrEqual(Date.now() + 301_000);

    const got = await download(t.url, signed.body.url);
    expect(got.status).toBe(200);
    expect(got.bytes).toEqual(PNG);
    const token = new URL(signed.body.url, t.url).searchParams.get('token') ?? '';

    const codeOf = async (path: string, headers: Record<string, string> = {}) => {
      const res = await download(t.url, path, headers);
      return [res.status, (JSON.parse(res.bytes.toString()) as { error: { code: string } }).error.code];
    };
    // Another file with this file's link.
    expect(await codeOf(`/api/files/${other.id}?token=${token}`)).toEqual([403, 'FORBIDDEN']);
    // Forged: the signature of another key.
    const [head, payload] = token.split('.');
    expect(await codeOf(`/api/files/${file.id}?token=${head}.${payload}.${randomBytes(32).toString('base64url')}`)).toEqual([
      401,
      'UNAUTHENTICATED',
    ]);
    // Expired: signed with the server's own key, five minutes ago.
    const secret = new TextEncoder().encode(readFileSync(join(t.dataDir, 'jwt-secret'), 'utf8').trim());
    const then = Math.floor(Date.now() / 1000) - 600;
    const expired = await new SignJWT({ fid: file.id, sid: decodeJwt(a.session.accessToken).sid })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(a.id)
      .setIssuer('switchboard')
      .setAudience('switchboard:file')
      .setIssuedAt(then)
      .setExpirationTime(then + 300)
      .sign(secret);
    expect(await codeOf(`/api/files/${file.id}?token=${expired}`)).toEqual([401, 'UNAUTHENTICATED']);
    // An access token is not a file token, and a file token is not an access token.
    expect(await codeOf(`/api/files/${file.id}?token=${a.session.accessToken}`)).toEqual([401, 'UNAUTHENTICATED']);
    expect(await codeOf(`/api/files/${file.id}`, { authorization: `Bearer ${token}` })).toEqual([401, 'UNAUTHENTICATED']);
    expect((await http(t.url, 'GET', '/api/me', undefined, token)).status).toBe(401);

    // The link dies with the login it was issued to.
    expect((await http(t.url, 'POST', '/api/auth/logout', { refreshToken: a.session.refreshToken })).status).toBe(204);
    expect(await codeOf(signed.body.url)).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('attaches files to a message: receivers get the attachments, a retry returns the first message, a file is attached once', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const room = await createRoom(a, [b.id]);
    const [png, txt] = [await stored(a, room.id, PNG, 'dot.png'), await stored(a, room.id, 'notes', 'notes.txt')];
    const toB = next<Message>(b.socket, 'message:new');
    const sent = await send(a, room.id, [png.id, txt.id, png.id], 'with-files', 'look');
    if (!sent.ok) throw new Error(JSON.stringify(sent.error));
    const attachments = [
      { id: png.id, name: 'dot.png', size: PNG.length, mime: 'image/png', width: 1, height: 1 },
      { id: txt.id, name: 'notes.txt', size: 5, mime: 'text/plain; charset=utf-8' },
    ];
    expect(sent.message).toMatchObject({ text: 'look', attachments });
    expect(await toB).toEqual(sent.message);
    const history = await ok<{ messages: Message[] }>(b.socket, 'message:history', { roomId: room.id });
    expect(history.messages.at(-1)?.attachments).toEqual(attachments);

    // The retry: the same answer, nothing new, although its files are attached now.
    const retry = await send(a, room.id, [png.id, txt.id], 'with-files', 'look');
    expect(retry).toEqual(sent);

    const again = await send(a, room.id, [png.id]);
    expect(again.ok ? 'ok' : again.error.code).toBe('CONFLICT');
    expect((await ok<{ messages: Message[] }>(a.socket, 'message:history', { roomId: room.id })).messages).toHaveLength(1);
  });

  it("refuses to attach someone else's file, a file of another room, or an unknown one", async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const room = await createRoom(a, [b.id]);
    const elsewhere = await createRoom(a);
    const byB = await stored(b, room.id, 'b wrote this');
    const inOtherRoom = await stored(a, elsewhere.id, 'elsewhere');
    const codeOf = async (ids: string[]) => {
      const res = await send(a, room.id, ids);
      return res.ok ? 'ok' : res.error.code;
    };
    expect(await codeOf([byB.id])).toBe('FORBIDDEN');
    expect(await codeOf([inOtherRoom.id])).toBe('INVALID_ARGUMENT');
    expect(await codeOf(['no-such-file'])).toBe('NOT_FOUND');
    expect((await ok<{ messages: Message[] }>(a.socket, 'message:history', { roomId: room.id })).messages).toEqual([]);
    // Nothing was attached by the refusals: b can still send their own file.
    const own = await send(b, room.id, [byB.id]);
    expect(own.ok).toBe(true);
  });

  it('stores identical content once, and deleting a message removes its files and, once unreferenced, the bytes', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const room = await createRoom(a, [b.id]);
    const bytes = randomBytes(2048);
    const first = await stored(a, room.id, bytes, 'one.bin');
    const second = await stored(a, room.id, bytes, 'two.bin');
    expect(second.id).not.toBe(first.id);
    expect(second.sha256).toBe(first.sha256);
    expect(filesUnder(filesDir).filter((p) => p.endsWith(first.sha256))).toHaveLength(1);

    const m1 = await send(a, room.id, [first.id]);
    const m2 = await send(a, room.id, [second.id]);
    if (!m1.ok || !m2.ok) throw new Error('send failed');
    const signed = await http<FileUrl>(t.url, 'POST', `/api/files/${first.id}/url`, undefined, a.session.accessToken);

    const updated = next<Message>(b.socket, 'message:updated');
    await ok(a.socket, 'message:delete', { messageId: m1.message.id });
    expect(await updated).toMatchObject({ id: m1.message.id, deleted: true, attachments: [] });
    expect((await download(t.url, `/api/files/${first.id}`, bearer(b.session))).status).toBe(404);
    expect((await download(t.url, signed.body.url)).status).toBe(404);
    expect((await http(t.url, 'POST', `/api/files/${first.id}/url`, undefined, a.session.accessToken)).status).toBe(404);
    // The other file still needs the bytes.
    expect((await download(t.url, `/api/files/${second.id}`, bearer(b.session))).bytes).toEqual(bytes);
    expect(existsSync(blobPath(first.sha256))).toBe(true);

    await ok(a.socket, 'message:delete', { messageId: m2.message.id });
    expect((await download(t.url, `/api/files/${second.id}`, bearer(b.session))).status).toBe(404);
    await eventually(
      () => !existsSync(blobPath(first.sha256)) && readdirSync(join(filesDir, 'tmp')).length === 0,
      5000,
      'the bytes to be removed',
    );
  });
});

describe('OpenAPI', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer();
  });
  afterAll(() => t.close());

  interface Operation {
    tags?: string[];
    summary?: string;
    security?: unknown[];
    requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> };
    responses: Record<string, { description: string }>;
  }

  it('serves an OpenAPI 3 document of every HTTP route at /api/docs/json, and Swagger UI at /api/docs', async () => {
    const res = await http<{
      openapi: string;
      info: { title: string; version: string };
      paths: Record<string, Record<string, Operation>>;
      components: { securitySchemes: Record<string, unknown> };
    }>(t.url, 'GET', '/api/docs/json');
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toMatch(/^3\.0\.\d+$/);
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });

    const operations: [string, string][] = [
      ['/api/auth/register', 'post'],
      ['/api/auth/login', 'post'],
      ['/api/auth/refresh', 'post'],
      ['/api/auth/logout', 'post'],
      ['/api/me', 'get'],
      ['/api/files', 'post'],
      ['/api/files/{id}', 'get'],
      ['/api/files/{id}/url', 'post'],
      ['/healthz', 'get'],
      ['/readyz', 'get'],
    ];
    for (const [path, method] of operations) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(op?.tags?.length, `${method} ${path} tags`).toBeGreaterThan(0);
      expect(op?.summary, `${method} ${path} summary`).toEqual(expect.any(String));
      for (const answer of Object.values(op?.responses ?? {})) expect(answer.description).toEqual(expect.any(String));
    }
    const login = doc.paths['/api/auth/login']?.post;
    expect(Object.keys(login?.requestBody?.content['application/json']?.schema.properties ?? {})).toEqual(['username', 'password']);
    expect(Object.keys(login?.responses ?? {}).sort()).toEqual(['200', '400', '401', '429', '503']);
    const uploadOp = doc.paths['/api/files']?.post;
    expect(Object.keys(uploadOp?.requestBody?.content ?? {})).toEqual(['multipart/form-data']);
    expect(uploadOp?.responses['201']).toBeDefined();
    expect(uploadOp?.responses['413']).toBeDefined();
    expect(uploadOp?.security).toEqual([{ bearer: [] }]);
    // Documentation only: no route is documented twice, and the docs' own routes are hidden.
    // (`/api/docs/{docId}…` are collaborative documents, not the documentation's routes.)
    expect(Object.keys(doc.paths).filter((p) => p === '/api/docs' || /^\/api\/docs\/(json|yaml|static|uiConfig|initOAuth)\b/.test(p))).toEqual([]);

    const ui = await fetch(`${t.url}/api/docs/`, { redirect: 'follow' });
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger-ui');
  });

  it('keeps validating with the protocol schemas: a body the document describes still gets INVALID_ARGUMENT messages from zod', async () => {
    const res = await http<{ error: { code: string; message: string } }>(t.url, 'POST', '/api/auth/register', {
      username: 'x',
      password: 'tangerine-harbor-7',
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toEqual({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^username: /) });
  });
});
