/**
 * The HTTP edge against hostile clients, on real servers: client addresses behind a proxy
 * (TRUST_PROXY), security headers, slow headers, bodies and uploads, path traversal, malformed
 * requests that must never reach the error log, browser origins (PUBLIC_URL), and the
 * permissions of what DATA_DIR holds.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Session } from '@switchboard/protocol';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { connectError, eventually, http, register, startServer, uniqueName, type TestServer } from './helpers.js';

const servers: TestServer[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function start(options: Parameters<typeof startServer>[0] = {}): Promise<TestServer> {
  const t = await startServer(options);
  servers.push(t);
  return t;
}

type LogLine = { level: number; msg: string; req?: { url?: string; remoteAddress?: string }; [key: string]: unknown };

/** A pino logger whose lines are kept, parsed, for the test to read. */
function capturedLogger(level = 'info') {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { logger: pino({ level }, destination), lines };
}

/** A stand-in for the built web app. */
function fakeBuild(): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-webdir-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Switchboard</title><script type="module" src="/assets/app-1a2b3c.js"></script>');
  writeFileSync(join(dir, 'assets', 'app-1a2b3c.js'), 'console.log("app");');
  writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  return dir;
}

/** One request over node:http, which (unlike fetch) lets the test set `Host` and read any answer. */
function rawRequest(
  base: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path, method: options.method ?? 'GET', headers: options.headers ?? {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A plain TCP connection to the server, with everything it received and whether it closed. */
interface Raw {
  socket: Socket;
  received(): string;
  closed: Promise<void>;
}

async function rawConnection(base: string): Promise<Raw> {
  const url = new URL(base);
  const socket = tcpConnect(Number(url.port), url.hostname);
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => undefined); // a reset is one of the ways of being cut off
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => received, closed };
}

/**
 * Writes `data` in chunks of `chunkSize`, one every `everyMs`, until all is written or the
 * server closes the connection; resolves to the bytes written.
 */
async function trickle(raw: Raw, data: Buffer, chunkSize: number, everyMs: number): Promise<number> {
  let sent = 0;
  let open = true;
  void raw.closed.then(() => (open = false));
  while (open && sent < data.length) {
    raw.socket.write(data.subarray(sent, sent + chunkSize));
    sent += Math.min(chunkSize, data.length - sent);
    await sleep(everyMs);
  }
  return sent;
}

/** A multipart body for `POST /api/files`: `roomId`, then a file of `size` bytes; split where the file's bytes begin. */
function multipart(roomId: string, size: number) {
  const boundary = `----switchboard${uniqueName('b')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="roomId"\r\n\r\n${roomId}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const file = Buffer.alloc(size, 0x61);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return { boundary, head, file, tail, length: head.length + file.length + tail.length };
}

/** Request headers of an upload by `session`, as raw HTTP/1.1. */
function uploadHeaders(session: Session, boundary: string, length: number): Buffer {
  return Buffer.from(
    `POST /api/files HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${session.accessToken}\r\n` +
      `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${length}\r\n\r\n`,
  );
}

const login = (t: TestServer, username: string, forwardedFor: string) =>
  rawRequest(t.url, '/api/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
    body: JSON.stringify({ username, password: 'not the password' }),
  });

describe('client address (TRUST_PROXY)', () => {
  it('accepts hop counts and proxy addresses, and refuses a blanket yes', () => {
    expect(loadConfig({ TRUST_PROXY: '1' }).TRUST_PROXY).toBe(1);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1, loopback' }).TRUST_PROXY).toEqual(['10.0.0.0/8', '127.0.0.1', 'loopback']);
    expect(loadConfig({}).TRUST_PROXY).toBe(false);
    for (const blanket of ['true', 'on', 'TRUE']) expect(() => loadConfig({ TRUST_PROXY: blanket }), blanket).toThrow(/forge/);
    expect(() => loadConfig({ TRUST_PROXY: '10.0.0.0/33' })).toThrow(/TRUST_PROXY/);
  });

  it('with one trusted hop, takes the last X-Forwarded-For entry: rotating the first does not reset the login throttle', async () => {
    const { logger, lines } = capturedLogger('debug');
    const t = await start({ TRUST_PROXY: '1', logger });
    await http(t.url, 'GET', '/healthz'); // warm up, so the probe's log line is the one below
    await rawRequest(t.url, '/healthz?probe=hops', { headers: { 'x-forwarded-for': '1.2.3.4, 5.6.7.8' } });
    await eventually(() => lines.some((l) => l.req?.url === '/healthz?probe=hops'));
    expect(lines.find((l) => l.req?.url === '/healthz?probe=hops')?.req?.remoteAddress).toBe('5.6.7.8');

    const username = (await register(t.url)).user.username;
    for (let i = 0; i < 10; i++) expect((await login(t, username, `203.0.113.${i}, 5.6.7.8`)).status).toBe(401);
    const limited = await login(t, username, '198.51.100.1, 5.6.7.8');
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    // Another client behind the same proxy is somebody else.
    expect((await login(t, username, '203.0.113.1, 5.6.7.9')).status).toBe(401);
  });

  it('with proxy addresses, trusts only those hops', async () => {
    const { logger, lines } = capturedLogger('debug');
    const t = await start({ TRUST_PROXY: '127.0.0.1, 10.1.0.0/16', logger });
    await rawRequest(t.url, '/healthz?probe=cidr', { headers: { 'x-forwarded-for': '1.2.3.4, 5.6.7.8, 10.1.2.3' } });
    await eventually(() => lines.some((l) => l.req?.url === '/healthz?probe=cidr'));
    // 10.1.2.3 is a trusted proxy, 5.6.7.8 is not: it is the client, whatever it claims before it.
    expect(lines.find((l) => l.req?.url === '/healthz?probe=cidr')?.req?.remoteAddress).toBe('5.6.7.8');
  });

  it('unset, ignores X-Forwarded-For altogether', async () => {
    const { logger, lines } = capturedLogger('debug');
    const t = await start({ logger });
    await rawRequest(t.url, '/healthz?probe=none', { headers: { 'x-forwarded-for': '1.2.3.4, 5.6.7.8' } });
    await eventually(() => lines.some((l) => l.req?.url === '/healthz?probe=none'));
    expect(lines.find((l) => l.req?.url === '/healthz?probe=none')?.req?.remoteAddress).toBe('127.0.0.1');

    const username = (await register(t.url)).user.username;
    for (let i = 0; i < 10; i++) expect((await login(t, username, `203.0.113.${i}, 5.6.7.${i}`)).status).toBe(401);
    expect((await login(t, username, '198.51.100.1, 5.6.7.99')).status).toBe(429);
  });
});

describe('security headers', () => {
  /** The directives of a Content-Security-Policy header, by name. */
  function directives(header: string | null): Map<string, string[]> {
    expect(header).toBeTruthy();
    return new Map(
      (header ?? '')
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .filter((parts) => parts[0])
        .map(([name = '', ...values]) => [name, values]),
    );
  }

  it('puts a strict policy on the app, the API, its docs and the errors', async () => {
    const t = await start({ WEB_DIR: fakeBuild() });
    const session = await register(t.url);
    const cases: [string, number, Record<string, string>?][] = [
      ['/', 200],
      ['/rooms/01HXYZ', 200],
      ['/assets/app-1a2b3c.js', 200],
      ['/api/me', 200, { authorization: `Bearer ${session.accessToken}` }],
      ['/api/me', 401],
      ['/api/nothing', 404],
      ['/api/docs', 200],
      ['/healthz', 200],
    ];
    for (const [path, status, headers] of cases) {
      const res = await fetch(t.url + path, { headers: headers ?? {} });
      await res.arrayBuffer();
      expect(res.status, path).toBe(status);
      const csp = directives(res.headers.get('content-security-policy'));
      expect(csp.get('default-src'), path).toEqual(["'self'"]);
      expect(csp.get('script-src'), path).toEqual(["'self'"]);
      expect(csp.get('script-src-attr'), path).toEqual(["'none'"]);
      expect(csp.get('object-src'), path).toEqual(["'none'"]);
      expect(csp.get('frame-ancestors'), path).toEqual(["'none'"]);
      expect(csp.get('connect-src'), path).toEqual(["'self'"]);
      expect(csp.get('img-src'), path).toEqual(expect.arrayContaining(['data:', 'blob:']));
      expect(csp.has('upgrade-insecure-requests'), path).toBe(false);
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer');
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
    }
  });
});

describe('timeouts', () => {
  const limits = {
    HTTP_HEADERS_TIMEOUT_MS: 1000,
    HTTP_BODY_TIMEOUT_MS: 1000,
    UPLOAD_MIN_BYTES_PER_S: 256,
    UPLOAD_RATE_WINDOW_MS: 1000,
  };

  it('cuts a client that sends its headers too slowly', async () => {
    const t = await start(limits);
    const raw = await rawConnection(t.url);
    const headers = Buffer.from(`GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ${'a'.repeat(100)}\r\n\r\n`);
    const sent = await trickle(raw, headers, 1, 100);
    await raw.closed;
    expect(sent).toBeLessThan(headers.length);
    expect(raw.received()).toMatch(/^HTTP\/1\.1 408/);
    // A connection that never sends a byte goes the same way.
    const silent = await rawConnection(t.url);
    await silent.closed;
    expect(silent.received()).toMatch(/^HTTP\/1\.1 408/);
    expect((await http(t.url, 'GET', '/healthz')).status).toBe(200);
  });

  it('cuts a JSON body trickled past the limit, and keeps answering others', async () => {
    const t = await start(limits);
    const raw = await rawConnection(t.url);
    const body = Buffer.from(JSON.stringify({ username: 'somebody', password: 'x'.repeat(80) }));
    raw.socket.write(`POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    const sent = await trickle(raw, body, 1, 100);
    await raw.closed;
    expect(sent).toBeLessThan(body.length);
    expect(raw.received()).toMatch(/^HTTP\/1\.1 408/);
    expect((await http(t.url, 'GET', '/healthz')).status).toBe(200);
  });

  it('lets an upload take longer than the body limit while it progresses, and cuts one that stalls', async () => {
    const t = await start(limits);
    const session = await register(t.url);
    const room = await t.server.services.rooms.create(session.user.id, { name: uniqueName('uploads'), kind: 'public' });

    // 30 chunks of 1 KiB, 100 ms apart: at least 3 s, three times HTTP_BODY_TIMEOUT_MS, at ~10 KiB/s.
    const steady = multipart(room.id, 30 * 1024);
    const raw = await rawConnection(t.url);
    raw.socket.write(Buffer.concat([uploadHeaders(session, steady.boundary, steady.length), steady.head]));
    expect(await trickle(raw, steady.file, 1024, 100)).toBe(steady.file.length);
    raw.socket.write(steady.tail);
    await eventually(() => /\r\n\r\n\{.*\}$/s.test(raw.received()), 10_000, 'the upload to be answered');
    expect(raw.received()).toMatch(/^HTTP\/1\.1 201/);
    expect(raw.received()).toContain(`"size":${steady.file.length}`);
    raw.socket.destroy();

    // The same upload stopping after its first kilobyte: cut within a window or two.
    const stalled = multipart(room.id, 30 * 1024);
    const stuck = await rawConnection(t.url);
    stuck.socket.write(Buffer.concat([uploadHeaders(session, stalled.boundary, stalled.length), stalled.head, stalled.file.subarray(0, 1024)]));
    await stuck.closed;
    expect(stuck.received()).toMatch(/^HTTP\/1\.1 408/);
    // Nothing of it is left behind.
    await eventually(() => readdirSync(join(t.dataDir, 'files', 'tmp')).length === 0, 5000, 'the partial upload to be removed');
  }, 30_000);
});

describe('malformed and hostile requests', () => {
  it('answers traversal attempts with 404, and nothing a client sends logs an error', async () => {
    const { logger, lines } = capturedLogger('trace');
    const t = await start({ WEB_DIR: fakeBuild(), logger, HTTP_HEADERS_TIMEOUT_MS: 1000, HTTP_BODY_TIMEOUT_MS: 1000, UPLOAD_RATE_WINDOW_MS: 500 });
    const session = await register(t.url);
    const room = await t.server.services.rooms.create(session.user.id, { name: uniqueName('quiet'), kind: 'public' });

    const traversals = [
      '/..%2f..%2fetc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd',
      '/..%5c..%5cetc%5cpasswd',
      '/assets/..%2f..%2fpackage.json',
      '/assets/%2e%2e%5c%2e%2e%5cindex.html',
      '/assets/../../etc/passwd',
      '/assets/..%5c..%5c..%5cetc%5cpasswd',
      '/assets/%00',
      '/assets/app-1a2b3c.js%00.html',
      '/%00',
      '/favicon.svg%00',
      '/api/docs/static/..%2f..%2fpackage.json',
    ];
    for (const path of traversals) {
      const res = await rawRequest(t.url, path);
      expect(res.status, path).toBe(404);
      expect(JSON.parse(res.body), path).toMatchObject({ error: { code: 'NOT_FOUND' } });
    }

    const json = { 'content-type': 'application/json' };
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(`{"sub":"${session.user.id}"}`).toString('base64url')}.`;
    const battery: { path: string; method?: string; headers?: Record<string, string>; body?: string }[] = [
      { path: '/api/auth/login', method: 'POST', headers: json, body: '{"username":' },
      { path: '/api/auth/login', method: 'POST', headers: json, body: '{"__proto__":{"x":1},"username":"a","password":"b"}' },
      { path: '/api/auth/login', method: 'POST', headers: json, body: '[]' },
      { path: '/api/auth/login', method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' },
      { path: '/api/auth/login', method: 'POST', headers: { 'content-type': 'application/json; charset=utf-16' }, body: '{}' },
      { path: '/api/auth/login', method: 'POST', headers: { 'content-type': 'multipart/form-data' }, body: '--x--' },
      { path: '/api/auth/register', method: 'POST', headers: json, body: JSON.stringify({ username: 'x'.repeat(70_000) }) },
      { path: '/api/auth/refresh', method: 'POST', headers: json, body: '{"refreshToken":{"$ne":null}}' },
      { path: '/api/me', headers: bearer('garbage') },
      { path: '/api/me', headers: bearer('a.b.c') },
      { path: '/api/me', headers: bearer(unsigned) },
      { path: '/api/me', headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } },
      { path: '/api/files', method: 'POST', headers: { ...bearer(session.accessToken), 'content-type': 'multipart/form-data; boundary=zz' }, body: '--zz\r\nbroken' },
      { path: '/api/files', method: 'POST', headers: { ...bearer(session.accessToken), 'content-type': 'multipart/form-data' }, body: 'no boundary' },
      { path: '/api/files', method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=zz' }, body: '--zz--' },
      { path: '/api/files/..%2f..%2fjwt-secret', headers: bearer(session.accessToken) },
      { path: '/api/files/x?token=forged' },
      { path: '/%' },
      { path: '/api/%E0%A4%A' },
      { path: `/api/${'a'.repeat(10_000)}` },
      { path: '/socket.io/?EIO=4&transport=polling&sid=nonexistent' },
      { path: '/socket.io/?EIO=9&transport=carrier-pigeon' },
    ];
    for (const req of battery) {
      const res = await rawRequest(t.url, req.path, req);
      expect(res.status, `${req.method ?? 'GET'} ${req.path.slice(0, 60)}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${req.method ?? 'GET'} ${req.path.slice(0, 60)}`).toBeLessThan(500);
    }

    // Below HTTP: oversized headers, garbage instead of a request line, a body cut off midway.
    const garbage = [
      `GET / HTTP/1.1\r\nHost: localhost\r\nX-Huge: ${'a'.repeat(20_000)}\r\n\r\n`,
      'NONSENSE\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"user',
    ];
    for (const text of garbage) {
      const raw = await rawConnection(t.url);
      raw.socket.end(text);
      await raw.closed;
    }
    // A client that hangs up halfway through its body.
    const aborted = await rawConnection(t.url);
    aborted.socket.write('POST /api/auth/register HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"username":"abc"');
    await sleep(50);
    aborted.socket.destroy();
    // Slow headers, a slow body and a stalled upload, cut by the timeouts.
    const slowHeaders = await rawConnection(t.url);
    slowHeaders.socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: a');
    const slowBody = await rawConnection(t.url);
    slowBody.socket.write('POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{');
    const stalled = multipart(room.id, 4096);
    const stalledUpload = await rawConnection(t.url);
    stalledUpload.socket.write(Buffer.concat([uploadHeaders(session, stalled.boundary, stalled.length), stalled.head, stalled.file.subarray(0, 100)]));
    await Promise.all([slowHeaders.closed, slowBody.closed, stalledUpload.closed]);
    expect(stalledUpload.received()).toMatch(/^HTTP\/1\.1 408/);
    // And a handshake with a forged token.
    expect(await connectError(t.url, '/chat', { token: unsigned })).toBe('UNAUTHENTICATED');

    expect((await http(t.url, 'GET', '/healthz')).status).toBe(200);
    await eventually(() => lines.some((l) => l.req?.url === '/healthz' && l.msg === 'incoming request'));
    const alarming = lines.filter((l) => l.level >= 50);
    expect(alarming, JSON.stringify(alarming).slice(0, 2000)).toEqual([]);
  }, 30_000);
});

describe('browser origins (PUBLIC_URL)', () => {
  const handshake = (t: TestServer, headers: Record<string, string>) => rawRequest(t.url, '/socket.io/?EIO=4&transport=polling', { headers });

  it('with PUBLIC_URL set, only its origin and CORS_ORIGINS may connect, whatever Host says', async () => {
    const t = await start({ PUBLIC_URL: 'https://chat.example.test/', CORS_ORIGINS: 'https://partner.example.test' });
    expect((await handshake(t, { origin: 'http://evil.example', host: 'evil.example' })).status).toBe(403);
    expect((await handshake(t, { origin: 'http://localhost', host: 'localhost' })).status).toBe(403);
    expect((await handshake(t, { origin: 'https://chat.example.test', host: 'chat.example.test' })).status).toBe(200);
    expect((await handshake(t, { origin: 'https://partner.example.test' })).status).toBe(200);
    expect((await handshake(t, {})).status).toBe(200); // not a browser

    const body = JSON.stringify({ username: 'nobody', password: 'not the password' });
    const post = (origin: string, host: string) =>
      rawRequest(t.url, '/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json', origin, host }, body });
    const refused = await post('http://evil.example', 'evil.example');
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect((await post('https://chat.example.test', 'chat.example.test')).status).toBe(401);
  });

  it('without PUBLIC_URL, refuses origins other than the Host, and warns when bound beyond loopback', async () => {
    const { logger, lines } = capturedLogger();
    const t = await start({ HOST: '0.0.0.0', logger });
    const port = new URL(t.url).port;
    expect((await handshake(t, { origin: 'http://evil.example', host: `127.0.0.1:${port}` })).status).toBe(403);
    expect((await handshake(t, { origin: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}` })).status).toBe(200);
    expect(lines.some((l) => l.level === 40 && /PUBLIC_URL is unset/.test(l.msg))).toBe(true);

    const quiet = capturedLogger();
    await start({ logger: quiet.logger });
    expect(quiet.lines.some((l) => /PUBLIC_URL is unset/.test(l.msg))).toBe(false);
  });
});

describe('DATA_DIR permissions', () => {
  const modeOf = (path: string) => statSync(path).mode & 0o777;

  it('creates the directory 0700 and the database, its journal, the secret and uploads 0600', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'switchboard-perm-'));
    dirs.push(parent);
    const dataDir = join(parent, 'data');
    const { logger, lines } = capturedLogger();
    const t = await start({ dataDir, logger });
    const session = await register(t.url);
    const room = await t.server.services.rooms.create(session.user.id, { name: uniqueName('perm'), kind: 'public' });
    const form = new FormData();
    form.append('roomId', room.id);
    form.append('file', new Blob(['private bytes']), 'note.txt');
    const res = await fetch(`${t.url}/api/files`, { method: 'POST', headers: { authorization: `Bearer ${session.accessToken}` }, body: form });
    expect(res.status).toBe(201);
    const { file } = (await res.json()) as { file: { sha256: string } };

    expect(modeOf(dataDir)).toBe(0o700);
    for (const name of ['switchboard.db', 'switchboard.db-wal', 'switchboard.db-shm', 'jwt-secret']) {
      expect(existsSync(join(dataDir, name)), name).toBe(true);
      expect(modeOf(join(dataDir, name)), name).toBe(0o600);
    }
    expect(modeOf(join(dataDir, 'files'))).toBe(0o700);
    expect(modeOf(join(dataDir, 'files', file.sha256.slice(0, 2)))).toBe(0o700);
    expect(modeOf(join(dataDir, 'files', file.sha256.slice(0, 2), file.sha256))).toBe(0o600);
    expect(lines.some((l) => /other users of this host may read/.test(l.msg))).toBe(false);
  });

  it('warns at start about a DATA_DIR, database or secret that others may read, and leaves their modes alone', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-perm-'));
    dirs.push(dataDir);
    chmodSync(dataDir, 0o755);
    writeFileSync(join(dataDir, 'jwt-secret'), 'a-secret-that-is-long-enough-for-hs256-signing', { mode: 0o644 });
    chmodSync(join(dataDir, 'jwt-secret'), 0o644);
    const { logger, lines } = capturedLogger();
    await start({ dataDir, logger });
    const warning = lines.find((l) => l.level === 40 && /other users of this host may read/.test(l.msg));
    expect(warning).toBeDefined();
    const paths = (warning?.paths as { path: string }[]).map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining([dataDir, join(dataDir, 'jwt-secret')]));
    expect(modeOf(dataDir)).toBe(0o755);
  });
});
