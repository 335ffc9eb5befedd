/**
 * Room webhooks' delivery history (PROTOCOL §8, extended) on SQLite and PostgreSQL, against real
 * HTTP receivers on this machine: every attempt is recorded — a success, a receiver's 500 and the
 * retry that follows, a refused connection, a receiver that never answers, an internal address
 * refused — newest first, paged with `before`; the webhook list carries the latest attempt and
 * what waits; each webhook keeps its newest `WebhookLimits.deliveriesKept` attempts; only members
 * of the room see them; removing a webhook removes its history.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebhookLimits, type Message, type Room, type Session, type WebhookDelivery, type WebhookInfo } from '@switchboard/protocol';
import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../src/store/db.js';
import { closeSockets, connect, dialects, eventually, http, ok, register, startServer, uniqueName, type TestServer } from './helpers.js';

/** Polls the HTTP API at a pace its rate limit allows. */
const POLL_MS = 100;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** A receiver that answers `failures` requests with 500, then 204. */
async function receiver() {
  let failures = 0;
  let accepted = 0;
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (failures > 0) {
        failures--;
        res.writeHead(500).end();
        return;
      }
      accepted++;
      res.writeHead(204).end();
    });
  });
  const url = await listen(server);
  return {
    url,
    accepted: () => accepted,
    failNext: (n: number) => {
      failures = n;
    },
    close: () => close(server),
  };
}

describe.each(dialects)('webhook delivery history on %s', (dialect) => {
  let t: TestServer;
  let owner: Session;
  let chat: Socket;
  let hook: Awaited<ReturnType<typeof receiver>>;
  let peek: Database;
  beforeAll(async () => {
    hook = await receiver();
    // Rate limits off: the pruning test sends more messages than the per-user budget allows in a few seconds.
    t = await startServer({ dialect, WEBHOOK_ALLOW_PRIVATE: 'true', RATE_LIMITS: 'false' });
    owner = await register(t.url);
    peek = await openDatabase({ dataDir: t.dataDir, databaseUrl: t.databaseUrl, poolSize: 1 });
  });
  afterAll(async () => {
    await peek.close();
    await t.close();
    await hook.close();
  });
  afterEach(() => {
    closeSockets();
    hook.failNext(0);
  });

  async function roomWithWebhook(url = hook.url): Promise<{ room: Room; id: string }> {
    chat = await connect(t.url, '/chat', owner.accessToken);
    const { room } = await ok<{ room: Room }>(chat, 'room:create', { name: uniqueName('history'), kind: 'public' });
    const res = await http<{ webhook: { id: string } }>(t.url, 'POST', `/api/rooms/${room.id}/webhooks`, { url }, owner.accessToken);
    expect(res.status).toBe(201);
    return { room, id: res.body.webhook.id };
  }

  const send = (roomId: string, text: string) => ok<{ message: Message }>(chat, 'message:send', { roomId, clientMsgId: uniqueName('c'), text });

  const deliveries = async (roomId: string, id: string, query = '', token = owner.accessToken) =>
    http<{ deliveries: WebhookDelivery[] }>(t.url, 'GET', `/api/rooms/${roomId}/webhooks/${id}/deliveries${query}`, undefined, token);

  const listed = async (roomId: string, id: string): Promise<WebhookInfo> => {
    const res = await http<{ webhooks: WebhookInfo[] }>(t.url, 'GET', `/api/rooms/${roomId}/webhooks`, undefined, owner.accessToken);
    expect(res.status).toBe(200);
    const found = res.body.webhooks.find((w) => w.id === id);
    if (!found) throw new Error(`webhook ${id} not listed`);
    return found;
  };

  /** Polls the history until `condition` holds for it, and returns it. */
  async function historyUntil(roomId: string, id: string, condition: (d: WebhookDelivery[]) => boolean, what: string, timeoutMs = 15_000) {
    let last: WebhookDelivery[] = [];
    await eventually(
      async () => {
        const res = await deliveries(roomId, id);
        expect(res.status).toBe(200);
        last = res.body.deliveries;
        if (condition(last)) return true;
        await new Promise((r) => setTimeout(r, POLL_MS));
        return false;
      },
      timeoutMs,
      what,
    );
    return last;
  }

  const storedAttempts = async (webhookId: string) =>
    Number((await peek.db.selectFrom('webhook_deliveries').select((f) => f.fn.countAll().as('n')).where('webhook_id', '=', webhookId).executeTakeFirstOrThrow()).n);

  it('records a successful delivery, and the list shows it as the latest', async () => {
    const { room, id } = await roomWithWebhook();
    expect((await deliveries(room.id, id)).body).toEqual({ deliveries: [] });
    const { message } = await send(room.id, 'hello history');
    const history = await historyUntil(room.id, id, (d) => d.length === 1, 'the delivery');
    expect(history[0]).toEqual({
      id: expect.any(String),
      webhookId: id,
      messageId: message.id,
      seq: message.seq,
      attempt: 1,
      attemptedAt: expect.any(Number),
      durationMs: expect.any(Number),
      ok: true,
      status: 204,
      errorCode: null,
      errorMessage: null,
    });
    expect(history[0]!.attemptedAt).toBeGreaterThanOrEqual(message.createdAt);
    expect(history[0]!.durationMs).toBeGreaterThanOrEqual(0);
    expect(await listed(room.id, id)).toMatchObject({ deliveredSeq: message.seq, pending: 0, lastDelivery: history[0] });
  });

  it('records failed attempts and the retry that succeeds, and counts what waits meanwhile', async () => {
    const { room, id } = await roomWithWebhook();
    hook.failNext(1_000_000);
    const first = (await send(room.id, 'first')).message;
    await send(room.id, 'second');
    const failing = await historyUntil(room.id, id, (d) => d.length >= 2, 'two failed attempts');
    expect(failing.every((d) => !d.ok && d.status === 500 && d.errorCode === 'HTTP_STATUS' && d.errorMessage === 'answered 500' && d.seq === first.seq)).toBe(true);
    const info = await listed(room.id, id);
    expect(info.pending).toBe(2);
    expect(info.lastDelivery).toMatchObject({ ok: false, status: 500, errorCode: 'HTTP_STATUS', seq: first.seq });

    hook.failNext(0);
    const done = await historyUntil(room.id, id, (d) => d[0]?.ok === true && d[0].seq === first.seq + 1, 'both delivered', 30_000);
    // Newest first: the second message's one attempt, the first message's success, then its failures, attempts numbered from 1.
    const [second, success, ...failures] = done;
    expect(second).toMatchObject({ seq: first.seq + 1, attempt: 1, ok: true, status: 204 });
    expect(success).toMatchObject({ seq: first.seq, messageId: first.id, attempt: failures.length + 1, ok: true, status: 204, errorCode: null });
    expect(failures.map((d) => d.attempt)).toEqual(failures.map((_, i) => failures.length - i));
    expect(failures.every((d) => d.seq === first.seq && !d.ok && d.status === 500)).toBe(true);
    expect(await listed(room.id, id)).toMatchObject({ pending: 0, attempts: 0, lastDelivery: second });
  }, 45_000);

  it('records a refused connection and a receiver that never answers, with their codes', async () => {
    const closed = createHttpServer();
    const closedUrl = await listen(closed);
    await close(closed);
    const refused = await roomWithWebhook(closedUrl);
    await send(refused.room.id, 'nobody listens');
    const [attempt] = await historyUntil(refused.room.id, refused.id, (d) => d.length >= 1, 'the refused attempt');
    expect(attempt).toMatchObject({ ok: false, status: null, errorCode: 'CONNECTION_FAILED', attempt: 1 });
    expect(attempt!.errorMessage).toContain('ECONNREFUSED');
    expect((await http(t.url, 'DELETE', `/api/webhooks/${refused.id}`, undefined, owner.accessToken)).status).toBe(204);

    const silent = createHttpServer(() => undefined);
    const silentUrl = await listen(silent);
    try {
      const hung = await roomWithWebhook(silentUrl);
      await send(hung.room.id, 'no answer');
      const [timedOut] = await historyUntil(hung.room.id, hung.id, (d) => d.length >= 1, 'the attempt to time out', 20_000);
      expect(timedOut).toMatchObject({ ok: false, status: null, errorCode: 'TIMEOUT', errorMessage: 'no answer within 5000 ms' });
      expect((await http(t.url, 'DELETE', `/api/webhooks/${hung.id}`, undefined, owner.accessToken)).status).toBe(204);
    } finally {
      silent.closeAllConnections();
      await close(silent);
    }
  }, 40_000);

  it(`keeps the newest ${WebhookLimits.deliveriesKept} attempts of a webhook, paged with before`, async () => {
    const { room, id } = await roomWithWebhook();
    const total = WebhookLimits.deliveriesKept + 10;
    const before = hook.accepted();
    for (let i = 1; i <= total; i++) await send(room.id, `m${i}`);
    await eventually(() => hook.accepted() - before === total, 30_000, 'every delivery');
    await eventually(async () => (await listed(room.id, id)).deliveredSeq === total, 10_000, 'the last pass recorded');
    expect(await storedAttempts(id)).toBe(WebhookLimits.deliveriesKept);

    const all = (await deliveries(room.id, id, `?limit=${WebhookLimits.deliveriesKept * 5}`)).body.deliveries;
    expect(all.map((d) => d.seq)).toEqual(Array.from({ length: WebhookLimits.deliveriesKept }, (_, i) => total - i));
    expect((await deliveries(room.id, id)).body.deliveries).toEqual(all.slice(0, WebhookLimits.deliveriesPageDefault));
    const page1 = (await deliveries(room.id, id, '?limit=40')).body.deliveries;
    const page2 = (await deliveries(room.id, id, `?limit=40&before=${page1.at(-1)!.id}`)).body.deliveries;
    expect([...page1, ...page2]).toEqual(all.slice(0, 80));
    expect((await deliveries(room.id, id, `?before=${all.at(-1)!.id}`)).body.deliveries).toEqual([]);
  }, 60_000);

  it('shows the history to members of the room only, and refuses bad pages', async () => {
    const { room, id } = await roomWithWebhook();
    const other = (await ok<{ room: Room }>(chat, 'room:create', { name: uniqueName('other'), kind: 'public' })).room;
    const stranger = await register(t.url);
    expect((await deliveries(room.id, id, '', stranger.accessToken)).status).toBe(403);
    expect((await deliveries(room.id, id, '', 'not-a-token')).status).toBe(401);
    expect((await deliveries('no-such-room', id)).status).toBe(404);
    expect((await deliveries(room.id, 'no-such-webhook')).status).toBe(404);
    // A webhook is reached through its own room only.
    expect((await deliveries(other.id, id)).status).toBe(404);
    for (const query of ['?limit=0', '?limit=abc', '?limit=1.5', '?before=not%20an%20id']) {
      const res = await http<{ error: { code: string } }>(t.url, 'GET', `/api/rooms/${room.id}/webhooks/${id}/deliveries${query}`, undefined, owner.accessToken);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe('INVALID_ARGUMENT');
    }
  });

  it('removes the history with the webhook', async () => {
    const { room, id } = await roomWithWebhook();
    for (let i = 1; i <= 3; i++) await send(room.id, `d${i}`);
    await historyUntil(room.id, id, (d) => d.length === 3, 'three deliveries');
    expect(await storedAttempts(id)).toBe(3);
    expect((await http(t.url, 'DELETE', `/api/webhooks/${id}`, undefined, owner.accessToken)).status).toBe(204);
    expect(await storedAttempts(id)).toBe(0);
    expect((await deliveries(room.id, id)).status).toBe(404);
  });

  it('records the refusal of an internal target once WEBHOOK_ALLOW_PRIVATE is turned off', async () => {
    const { room, id } = await roomWithWebhook();
    closeSockets();
    await t.stop();
    t = await t.restart({ WEBHOOK_ALLOW_PRIVATE: 'false', RATE_LIMITS: 'false' });
    chat = await connect(t.url, '/chat', owner.accessToken);
    await send(room.id, 'to a loopback receiver');
    const [refused] = await historyUntil(room.id, id, (d) => d.length >= 1, 'the refused attempt');
    expect(refused).toMatchObject({ ok: false, status: null, errorCode: 'INTERNAL_ADDRESS', attempt: 1 });
    expect(refused!.errorMessage).toContain('internal address');
    expect((await listed(room.id, id)).lastDelivery).toEqual(refused);
  }, 30_000);
});
