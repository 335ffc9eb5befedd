/**
 * Request-pipeline and session hardening of Socket.IO connections: error messages never carry
 * code or stacks, whatever sits in the payload slot; unknown events spend the caller's rate limit;
 * sockets on the main namespace end with their login like those of every other namespace.
 */
import type { Session } from '@switchboard/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeSockets, connect, http, next, register, request, startServer, type TestServer } from './helpers.js';
import { rawConnect } from './raw-socket.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
});
afterAll(() => t.close());
afterEach(closeSockets);

/** What no error message may contain: code (function source) or a stack trace. */
function expectNoCode(message: string): void {
  expect(message).not.toMatch(/=>|\breturn\b|[{}]|SECRET_MARKER|\n\s*at |\.ts:\d|\.js:\d/);
}

describe('error messages', () => {
  it('answer a request whose payload slot holds the ack with INVALID_ARGUMENT and no code, over raw packets', async () => {
    const s = await register(t.url);
    const raw = await rawConnect(t.url, '/chat', s.accessToken);
    const cases: unknown[][] = [
      ['message:send'],
      ['message:history'],
      ['room:join'],
      ['message:send', null],
      ['message:send', { roomId: { toString: 'function () { return SECRET_MARKER }' }, text: [], clientMsgId: 1 }],
      ['sync', { rooms: { ['k'.repeat(5000)]: 'function SECRET_MARKER() {}' } }],
      ['typing', { roomId: 'r', typing: { nested: { deeper: [() => 1] } } }],
      ['message:send', 'function SECRET_MARKER() { return 1 }', 'extra', 'args'],
    ];
    for (const args of cases) {
      const [answer] = (await raw.request(args)) as [{ ok: boolean; error: { code: string; message: string } }];
      expect(answer.ok).toBe(false);
      expect(answer.error.code).toBe('INVALID_ARGUMENT');
      expectNoCode(answer.error.message);
      expect(answer.error.message.length).toBeLessThan(300);
    }
    // Without an ack the answer is an `error` event, under the same rule.
    raw.sendPacket('2/chat,["message:send"]');
    const packet = await raw.waitFor((p) => p.startsWith('2/chat,["error"'));
    const [, event] = JSON.parse(packet.slice('2/chat,'.length)) as [string, { code: string; message: string; event: string }];
    expect(event).toMatchObject({ code: 'INVALID_ARGUMENT', event: 'message:send' });
    expectNoCode(event.message);
    raw.ws.close();
  });

  it('answer a numeric or overlong unknown event name without echoing it whole', async () => {
    const s = await register(t.url);
    const raw = await rawConnect(t.url, '/chat', s.accessToken);
    const [numeric] = (await raw.request([12345, {}])) as [{ ok: boolean; error: { code: string; message: string } }];
    expect(numeric).toEqual({ ok: false, error: { code: 'INVALID_ARGUMENT', message: 'unknown event "12345"' } });
    const [long] = (await raw.request(['x'.repeat(10_000), {}])) as [{ error: { code: string; message: string } }];
    expect(long.error.code).toBe('INVALID_ARGUMENT');
    expect(long.error.message.length).toBeLessThan(100);
    raw.ws.close();
  });

  it('never show the source of a function given where the payload goes (socket.io-client)', async () => {
    const s = await register(t.url);
    const socket = await connect(t.url, '/chat', s.accessToken);
    // The callback sits in the payload slot: socket.io-client turns it into the ack.
    const bare = await new Promise<{ ok: boolean; error: { code: string; message: string } }>((resolve) =>
      socket.emit('message:send', function SECRET_MARKER(answer: { ok: boolean; error: { code: string; message: string } }) {
        resolve(answer);
      }),
    );
    expect(bare.error.code).toBe('INVALID_ARGUMENT');
    expectNoCode(bare.error.message);
    // Functions nested in the payload, before the ack.
    const nested = (await socket.timeout(5000).emitWithAck('message:send', {
      roomId: () => 'SECRET_MARKER',
      text: { toJSON: undefined, fn: function SECRET_MARKER() {} },
      clientMsgId: [() => 'SECRET_MARKER'],
    })) as { ok: boolean; error: { code: string; message: string } };
    expect(nested.error.code).toBe('INVALID_ARGUMENT');
    expectNoCode(nested.error.message);
  });
});

describe('unknown events', () => {
  it('count against the rate limit: after the burst of 60 they, and known events, get RATE_LIMITED with retryAfterMs', async () => {
    const s = await register(t.url);
    const socket = await connect(t.url, '/chat', s.accessToken);
    const answers = await Promise.all(
      Array.from({ length: 90 }, (_, i) => request(socket, `no:such:event:${i}`, {})),
    );
    const codes = answers.map((a) => (a.ok ? 'ok' : a.error.code));
    expect(codes.filter((c) => c === 'INVALID_ARGUMENT').length).toBeGreaterThanOrEqual(60);
    const limited = answers.filter((a) => !a.ok && a.error.code === 'RATE_LIMITED');
    expect(limited.length).toBeGreaterThan(0);
    expect(codes.every((c) => c === 'INVALID_ARGUMENT' || c === 'RATE_LIMITED')).toBe(true);
    for (const a of limited) expect(a.ok ? 0 : a.error.retryAfterMs).toBeGreaterThan(0);
    // The same budget as every other request of the class.
    const known = await request(socket, 'room:list', {});
    expect(known).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED', retryAfterMs: expect.any(Number) } });
  });
});

describe('main namespace sockets', () => {
  const dropped = (socket: { once(event: 'disconnect', fn: (reason: string) => void): unknown }) =>
    new Promise<string>((resolve) => socket.once('disconnect', resolve));

  it('are disconnected on logout', async () => {
    const s = await register(t.url);
    const main = await connect(t.url, '/', s.accessToken);
    const gone = dropped(main);
    expect((await http(t.url, 'POST', '/api/auth/logout', { refreshToken: s.refreshToken })).status).toBe(204);
    expect(await gone).toBe('io server disconnect');
  });

  it('are disconnected when a spent refresh token is reused', async () => {
    const s = await register(t.url);
    const rotated = await http<Session>(t.url, 'POST', '/api/auth/refresh', { refreshToken: s.refreshToken });
    const main = await connect(t.url, '/', rotated.body.accessToken);
    const gone = dropped(main);
    expect((await http(t.url, 'POST', '/api/auth/refresh', { refreshToken: s.refreshToken })).status).toBe(401);
    expect(await gone).toBe('io server disconnect');
  });

  it('get auth:expired and are disconnected when the access token expires, and count for no presence', async () => {
    const short = await startServer({ ACCESS_TOKEN_TTL: 5 });
    try {
      const watcher = await register(short.url);
      const s = await register(short.url);
      const watching = await connect(short.url, '/chat', watcher.accessToken);
      const created = await request<{ room: { id: string } }>(watching, 'room:create', {
        name: 'presence-check',
        kind: 'private',
        memberIds: [s.user.id],
      });
      if (!created.ok) throw new Error(JSON.stringify(created.error));

      const main = await connect(short.url, '/', s.accessToken);
      const expired = next(main, 'auth:expired', () => true, 8000);
      const gone = dropped(main);
      const members = await request<{ members: { id: string; online: boolean }[] }>(watching, 'room:members', {
        roomId: created.room.id,
      });
      if (!members.ok) throw new Error(JSON.stringify(members.error));
      expect(members.members.find((m) => m.id === s.user.id)?.online).toBe(false);

      expect(await expired).toEqual({});
      expect(await gone).toBe('io server disconnect');
    } finally {
      await short.close();
    }
  });
});
