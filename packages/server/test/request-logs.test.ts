/**
 * What the server logs about HTTP requests: one line in and one out per request, at debug level
 * only, and never a signed URL's token (the server's own logger, writing into a buffer).
 */
import type { FileInfo, FileUrl, Room } from '@switchboard/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { chatUser, closeSockets, http, ok, startServer, type ChatUser, type TestServer } from './helpers.js';

interface Line {
  level: number;
  msg: string;
  req?: { url?: string };
  res?: { statusCode?: number };
}

const DEBUG = 20;
const lines: string[] = [];
const logger = createLogger('debug', { write: (line: string) => void lines.push(line) });
const parsed = (): Line[] => lines.map((line) => JSON.parse(line) as Line);

let t: TestServer;
let ada: ChatUser;
let file: FileInfo;

beforeAll(async () => {
  t = await startServer({ logger });
  ada = await chatUser(t.url);
  const { room } = await ok<{ room: Room }>(ada.socket, 'room:create', { name: 'logs', kind: 'public' });
  const form = new FormData();
  form.append('roomId', room.id);
  form.append('file', new Blob(['hello']), 'hello.txt');
  const res = await fetch(`${t.url}/api/files`, { method: 'POST', headers: { authorization: `Bearer ${ada.session.accessToken}` }, body: form });
  expect(res.status).toBe(201);
  file = ((await res.json()) as { file: FileInfo }).file;
});

afterAll(async () => {
  closeSockets();
  await t?.close();
});

describe('request logs', () => {
  it('keep signed-URL tokens out, and log requests at debug level', async () => {
    const signed = await http<FileUrl>(t.url, 'POST', `/api/files/${file.id}/url`, undefined, ada.session.accessToken);
    expect(signed.status).toBe(200);
    const token = new URL(signed.body.url, t.url).searchParams.get('token') ?? '';
    expect(token.length).toBeGreaterThan(20);
    const got = await fetch(`${t.url}/api/files/${file.id}?download=1&token=${token}`);
    expect(got.status).toBe(200);
    await got.arrayBuffer();
    // A refused token is logged no more than an accepted one.
    expect((await fetch(`${t.url}/api/files/${file.id}?token=${token.slice(0, -4)}AAAA`)).status).toBe(401);

    const text = lines.join('');
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.slice(0, -4));
    expect(text).not.toContain(ada.session.accessToken);

    const downloads = parsed().filter((l) => l.msg === 'incoming request' && l.req?.url?.startsWith(`/api/files/${file.id}?`));
    expect(downloads.map((l) => l.req?.url)).toEqual([
      `/api/files/${file.id}?download=1&token=[redacted]`,
      `/api/files/${file.id}?token=[redacted]`,
    ]);
    const requestLines = parsed().filter((l) => l.msg === 'incoming request' || l.msg === 'request completed');
    expect(requestLines.length).toBeGreaterThanOrEqual(8);
    expect(new Set(requestLines.map((l) => l.level))).toEqual(new Set([DEBUG]));
    expect(requestLines.filter((l) => l.msg === 'request completed').map((l) => l.res?.statusCode)).toEqual(expect.arrayContaining([200, 201, 401]));
  });

  it('logs nothing per request at info level', async () => {
    logger.level = 'info';
    const before = lines.length;
    expect((await http(t.url, 'GET', '/healthz')).status).toBe(200);
    expect((await http(t.url, 'GET', '/api/nope')).status).toBe(404);
    expect((await fetch(`${t.url}/api/files/${file.id}?token=x`)).status).toBe(401);
    // Other info lines may come meanwhile (this node taking over the monitoring history, say):
    // none of them is about a request.
    expect(lines.slice(before).filter((l) => /"req"|"res"|request/.test(l))).toEqual([]);
  });
});
