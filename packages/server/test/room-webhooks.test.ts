/**
 * Room webhooks (PROTOCOL §8) on SQLite and PostgreSQL: members add them; every new message is
 * POSTed signed, once per success, in seq order; a failing receiver gets retries and nothing is
 * skipped or reordered; deliveries resume after a restart; internal targets are refused unless
 * WEBHOOK_ALLOW_PRIVATE; a removed webhook gets nothing more.
 */
import { createHmac } from 'node:crypto';
import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Message, Room, Session, WebhookInfo } from '@switchboard/protocol';
import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeSockets, connect, dialects, eventually, http, ok, register, startServer, uniqueName, type TestServer } from './helpers.js';

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
  message: Message;
}

/** A webhook receiver that answers `failures` requests with 500 before it accepts. */
async function receiver() {
  const accepted: Delivery[] = [];
  let failures = 0;
  let requests = 0;
  const server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      requests++;
      if (failures > 0) {
        failures--;
        res.writeHead(500).end();
        return;
      }
      accepted.push({ headers: req.headers, body, message: JSON.parse(body) as Message });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    accepted,
    requests: () => requests,
    failNext: (n: number) => {
      failures = n;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe.each(dialects)('room webhooks on %s', (dialect) => {
  let t: TestServer;
  let owner: Session;
  let hook: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    hook = await receiver();
    t = await startServer({ dialect, WEBHOOK_ALLOW_PRIVATE: 'true' });
    owner = await register(t.url);
  });
  afterAll(async () => {
    await t.close();
    await hook.close();
  });
  afterEach(() => {
    closeSockets();
    hook.accepted.length = 0;
  });

  async function roomWithWebhook(): Promise<{ chat: Socket; room: Room; id: string; secret: string }> {
    const chat = await connect(t.url, '/chat', owner.accessToken);
    const { room } = await ok<{ room: Room }>(chat, 'room:create', { name: uniqueName('hooks'), kind: 'public' });
    const res = await http<{ webhook: { id: string; url: string }; secret: string }>(t.url, 'POST', `/api/rooms/${room.id}/webhooks`, { url: hook.url }, owner.accessToken);
    expect(res.status).toBe(201);
    expect(res.body.webhook.url).toBe(hook.url);
    return { chat, room, id: res.body.webhook.id, secret: res.body.secret };
  }

  const send = (chat: Socket, roomId: string, text: string) => ok<{ message: Message }>(chat, 'message:send', { roomId, clientMsgId: uniqueName('c'), text });
  const of = (roomId: string) => hook.accepted.filter((d) => d.message.roomId === roomId);

  it('POSTs every new message, signed, in seq order', async () => {
    const { chat, room, id, secret } = await roomWithWebhook();
    for (let i = 1; i <= 5; i++) await send(chat, room.id, `m${i}`);
    await eventually(() => of(room.id).length === 5, 10_000, 'five deliveries');
    const got = of(room.id);
    expect(got.map((d) => d.message.seq)).toEqual([1, 2, 3, 4, 5]);
    for (const d of got) {
      expect(d.headers['x-switchboard-event']).toBe('message:new');
      expect(d.headers['x-switchboard-delivery']).toBe(`${id}:${d.message.seq}`);
      expect(d.headers['x-switchboard-signature']).toBe(`sha256=${createHmac('sha256', secret).update(d.body).digest('hex')}`);
    }
  });

  it('delivers only what is sent after the webhook was added', async () => {
    const chat = await connect(t.url, '/chat', owner.accessToken);
    const { room } = await ok<{ room: Room }>(chat, 'room:create', { name: uniqueName('late'), kind: 'public' });
    // Sending first puts the room in the membership cache, as it was before any message.
    await send(chat, room.id, 'before the webhook');
    const res = await http(t.url, 'POST', `/api/rooms/${room.id}/webhooks`, { url: hook.url }, owner.accessToken);
    expect(res.status).toBe(201);
    await send(chat, room.id, 'after the webhook');
    await eventually(() => of(room.id).length >= 1, 10_000, 'the delivery');
    await send(chat, room.id, 'later still');
    await eventually(() => of(room.id).length >= 2, 10_000, 'the second delivery');
    expect(of(room.id).map((d) => [d.message.seq, d.message.text])).toEqual([
      [2, 'after the webhook'],
      [3, 'later still'],
    ]);
  });

  it('retries a failing receiver without skipping or reordering anything', async () => {
    const { chat, room } = await roomWithWebhook();
    hook.failNext(2);
    const before = hook.requests();
    for (let i = 1; i <= 3; i++) await send(chat, room.id, `r${i}`);
    await eventually(() => of(room.id).length === 3, 20_000, 'every message after the retries');
    expect(of(room.id).map((d) => d.message.text)).toEqual(['r1', 'r2', 'r3']);
    expect(hook.requests() - before).toBe(5); // two refusals, then each message once
  }, 30_000);

  it("lists a room's webhooks to its members with where their deliveries stand, never the secret", async () => {
    const { chat, room, id, secret } = await roomWithWebhook();
    const list = () => http<{ webhooks: WebhookInfo[] }>(t.url, 'GET', `/api/rooms/${room.id}/webhooks`, undefined, owner.accessToken);
    const fresh = await list();
    expect(fresh.status).toBe(200);
    expect(fresh.body.webhooks).toEqual([
      { id, roomId: room.id, url: hook.url, createdAt: expect.any(Number), createdBy: owner.user.id, deliveredSeq: 0, attempts: 0, nextAttemptAt: null, lastStatus: null, lastError: null, lastDeliveredAt: null, lastDelivery: null, pending: 0 },
    ]);
    expect(JSON.stringify(fresh.body)).not.toContain(secret);

    await send(chat, room.id, 'listed');
    await eventually(async () => (await list()).body.webhooks[0]?.deliveredSeq === 1, 10_000, 'the delivery to show');
    expect((await list()).body.webhooks[0]).toMatchObject({ attempts: 0, lastStatus: 204, lastError: null, lastDeliveredAt: expect.any(Number) });

    hook.failNext(1_000_000);
    await send(chat, room.id, 'failing');
    await eventually(async () => ((await list()).body.webhooks[0]?.attempts ?? 0) > 0, 10_000, 'the failure to show');
    expect((await list()).body.webhooks[0]).toMatchObject({ deliveredSeq: 1, lastStatus: 500, lastError: 'answered 500', nextAttemptAt: expect.any(Number) });
    hook.failNext(0);

    const stranger = await register(t.url);
    expect((await http(t.url, 'GET', `/api/rooms/${room.id}/webhooks`, undefined, stranger.accessToken)).status).toBe(403);
    expect((await http(t.url, 'GET', '/api/rooms/no-such-room/webhooks', undefined, owner.accessToken)).status).toBe(404);
    expect((await http(t.url, 'DELETE', `/api/webhooks/${id}`, undefined, owner.accessToken)).status).toBe(204);
    expect((await list()).body.webhooks).toEqual([]);
  }, 30_000);

  it('delivers after a restart what was left undelivered', async () => {
    const { chat, room } = await roomWithWebhook();
    hook.failNext(1_000_000);
    await send(chat, room.id, 'before the restart');
    await eventually(() => hook.requests() > 0, 5000);
    closeSockets();
    await t.stop();
    hook.failNext(0);
    t = await t.restart({ WEBHOOK_ALLOW_PRIVATE: 'true' });
    await eventually(() => of(room.id).length === 1, 20_000, 'the delivery after the restart');
    expect(of(room.id)[0]!.message.text).toBe('before the restart');
  }, 40_000);

  it('stops with the webhook removed, and refuses strangers, bad URLs and unknown ids', async () => {
    const { chat, room, id } = await roomWithWebhook();
    const stranger = await register(t.url);
    expect((await http(t.url, 'POST', `/api/rooms/${room.id}/webhooks`, { url: hook.url }, stranger.accessToken)).status).toBe(403);
    expect((await http(t.url, 'DELETE', `/api/webhooks/${id}`, undefined, stranger.accessToken)).status).toBe(403);
    for (const url of ['ftp://example.com/x', 'not a url', 'javascript:alert(1)']) {
      expect((await http(t.url, 'POST', `/api/rooms/${room.id}/webhooks`, { url }, owner.accessToken)).status, url).toBe(400);
    }
    expect((await http(t.url, 'DELETE', `/api/webhooks/${id}`, undefined, owner.accessToken)).status).toBe(204);
    expect((await http(t.url, 'DELETE', `/api/webhooks/${id}`, undefined, owner.accessToken)).status).toBe(404);
    await send(chat, room.id, 'nobody hears this');
    const requests = hook.requests();
    await new Promise((r) => setTimeout(r, 1500)); // more than a polling interval
    expect(hook.requests()).toBe(requests);
    expect(of(room.id)).toEqual([]);
  });
});

describe('room webhooks without WEBHOOK_ALLOW_PRIVATE', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer();
  });
  afterAll(() => t.close());
  afterEach(() => closeSockets());

  it('refuses loopback, private and link-local targets', async () => {
    const session = await register(t.url);
    const chat = await connect(t.url, '/chat', session.accessToken);
    const { room } = await ok<{ room: Room }>(chat, 'room:create', { name: uniqueName('hooks'), kind: 'public' });
    for (const url of ['http://127.0.0.1:9/x', 'http://localhost/x', 'http://10.0.0.8/x', 'http://169.254.169.254/latest', 'http://[::1]/x', 'http://192.168.1.1/']) {
      const res = await http<{ error: { code: string } }>(t.url, 'POST', `/api/rooms/${room.id}/webhooks`, { url }, session.accessToken);
      expect(res.status, url).toBe(400);
      expect(res.body.error.code).toBe('INVALID_ARGUMENT');
    }
  });
});
