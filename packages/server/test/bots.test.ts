/**
 * Bots and the publish API (PROTOCOL §8) on SQLite and PostgreSQL: admins create and delete bots;
 * a bot's token works for HTTP, Socket.IO and `/ws`, never as a password; publishing over HTTP
 * reaches `/chat` and is idempotent per Idempotency-Key; deleting a bot ends its token and its
 * connections at once; bad input is refused and changes nothing.
 */
import type { Message, Room, Session, User } from '@switchboard/protocol';
import { WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeSockets, collect, connect, connectError, dialects, eventually, http, next, ok, register, startServer, uniqueName, type TestServer } from './helpers.js';

describe.each(dialects)('bots and the publish API on %s', (dialect) => {
  let t: TestServer;
  let admin: Session;
  beforeAll(async () => {
    t = await startServer({ dialect });
    admin = await register(t.url); // the first account is the admin
  });
  afterAll(() => t.close());
  afterEach(() => closeSockets());

  const createBot = async (username = uniqueName('bot')) => {
    const res = await http<{ bot: User; token: string }>(t.url, 'POST', '/api/bots', { username, displayName: 'Deploy bot' }, admin.accessToken);
    expect(res.status).toBe(201);
    return res.body;
  };
  const publish = (token: string, roomId: string, body: unknown, key?: string) =>
    fetch(`${t.url}/api/rooms/${roomId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(key === undefined ? {} : { 'idempotency-key': key }) },
      body: JSON.stringify(body),
    }).then(async (res) => ({ status: res.status, body: (await res.json()) as { message: Message; error?: { code: string } } }));

  /** A room of the admin's with the bot invited, and the admin's /chat socket in it. */
  async function roomWithBot(botId: string) {
    const chat = await connect(t.url, '/chat', admin.accessToken);
    const { room } = await ok<{ room: Room }>(chat, 'room:create', { name: uniqueName('ops'), kind: 'private', memberIds: [botId] });
    return { chat, room };
  }

  it('lets admins create bots, with a token shown once, and nobody else', async () => {
    const { bot, token } = await createBot();
    expect(bot.role).toBe('bot');
    expect(token.startsWith('sbot_')).toBe(true);
    const user = await register(t.url);
    const refused = await http<{ error: { code: string } }>(t.url, 'POST', '/api/bots', { username: uniqueName('bot') }, user.accessToken);
    expect(refused.status).toBe(403);
    expect((await http(t.url, 'POST', '/api/bots', { username: bot.username }, admin.accessToken)).status).toBe(409);
    expect((await http(t.url, 'POST', '/api/bots', { username: 'no spaces allowed' }, admin.accessToken)).status).toBe(400);
    expect((await http(t.url, 'POST', '/api/bots', { username: uniqueName('bot') })).status).toBe(401);
    // A bot signs in with its token only.
    expect((await http(t.url, 'POST', '/api/auth/login', { username: bot.username, password: 'correct horse battery' })).status).toBe(401);
    expect((await http<{ user: User }>(t.url, 'GET', '/api/me', undefined, token)).body.user).toEqual(bot);
  });

  it('lists live bots to admins only, newest first, without tokens', async () => {
    const older = await createBot();
    const newer = await createBot();
    const listed = await http<{ bots: { bot: User; createdAt: number; createdBy: string }[] }>(t.url, 'GET', '/api/bots', undefined, admin.accessToken);
    expect(listed.status).toBe(200);
    const ids = listed.body.bots.map((b) => b.bot.id);
    expect(ids.indexOf(newer.bot.id)).toBeLessThan(ids.indexOf(older.bot.id));
    expect(listed.body.bots.find((b) => b.bot.id === newer.bot.id)).toEqual({ bot: newer.bot, createdAt: expect.any(Number), createdBy: admin.user.id });
    expect(JSON.stringify(listed.body)).not.toContain(newer.token);
    expect((await http(t.url, 'DELETE', `/api/bots/${older.bot.id}`, undefined, admin.accessToken)).status).toBe(204);
    const after = await http<{ bots: { bot: User }[] }>(t.url, 'GET', '/api/bots', undefined, admin.accessToken);
    expect(after.body.bots.map((b) => b.bot.id)).not.toContain(older.bot.id);
    const user = await register(t.url);
    expect((await http(t.url, 'GET', '/api/bots', undefined, user.accessToken)).status).toBe(403);
    expect((await http(t.url, 'GET', '/api/bots')).status).toBe(401);
  });

  it('publishes over HTTP to /chat, once per Idempotency-Key', async () => {
    const { bot, token } = await createBot();
    const { chat, room } = await roomWithBot(bot.id);
    const heard = collect<Message>(chat, 'message:new');
    const first = await publish(token, room.id, { text: 'deploy started' }, 'deploy-42');
    expect(first.status).toBe(201);
    expect(first.body.message).toMatchObject({ roomId: room.id, senderId: bot.id, text: 'deploy started', seq: 1, clientMsgId: 'deploy-42' });
    const again = await publish(token, room.id, { text: 'deploy started' }, 'deploy-42');
    expect(again.status).toBe(200);
    expect(again.body.message).toEqual(first.body.message);
    const unkeyed = [await publish(token, room.id, { text: 'tick' }), await publish(token, room.id, { text: 'tick' })];
    expect(unkeyed.map((r) => r.status)).toEqual([201, 201]);
    expect(unkeyed.map((r) => r.body.message.seq)).toEqual([2, 3]);
    await eventually(() => heard.length === 3, 5000, 'three deliveries');
    expect(heard.map((m) => m.seq)).toEqual([1, 2, 3]);
    // A user publishes the same way.
    expect((await publish(admin.accessToken, room.id, { text: 'thanks' })).status).toBe(201);
  });

  it('accepts the bot token on Socket.IO and /ws', async () => {
    const { bot, token } = await createBot();
    const { chat, room } = await roomWithBot(bot.id);
    const botChat = await connect(t.url, '/chat', token);
    const received = next<Message>(chat, 'message:new', (m) => m.text === 'from the socket');
    await ok(botChat, 'message:send', { roomId: room.id, clientMsgId: 'c1', text: 'from the socket' });
    expect((await received).senderId).toBe(bot.id);
    const ws = new WebSocket(`${t.url.replace('http', 'ws')}/ws`);
    const frames: { type: string }[] = [];
    ws.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString()) as { type: string }));
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ type: 'auth', token }));
    await eventually(() => frames.some((f) => f.type === 'ready'), 5000, 'the /ws ready frame');
    ws.close();
  });

  it('ends a deleted bot: its token is refused and its sockets close', async () => {
    const { bot, token } = await createBot();
    const { room } = await roomWithBot(bot.id);
    const botChat = await connect(t.url, '/chat', token);
    const gone = new Promise<void>((resolve) => botChat.once('disconnect', () => resolve()));
    const user = await register(t.url);
    expect((await http(t.url, 'DELETE', `/api/bots/${bot.id}`, undefined, user.accessToken)).status).toBe(403);
    expect((await http(t.url, 'DELETE', `/api/bots/${bot.id}`, undefined, admin.accessToken)).status).toBe(204);
    await gone;
    expect((await publish(token, room.id, { text: 'still here?' })).status).toBe(401);
    expect(await connectError(t.url, '/chat', { token })).toBe('UNAUTHENTICATED');
    expect((await http(t.url, 'DELETE', `/api/bots/${bot.id}`, undefined, admin.accessToken)).status).toBe(404);
    expect((await http(t.url, 'GET', '/api/me', undefined, 'sbot_forged-token-that-was-never-issued')).status).toBe(401);
  });

  it('refuses bad publishes and changes nothing', async () => {
    const { bot, token } = await createBot();
    const { chat, room } = await roomWithBot(bot.id);
    const heard = collect<Message>(chat, 'message:new');
    const stranger = await register(t.url);
    const cases: [string, string, unknown, string | undefined, number][] = [
      [stranger.accessToken, room.id, { text: 'let me in' }, undefined, 403],
      [token, '0190aaaa-0000-7000-8000-000000000000', { text: 'nowhere' }, undefined, 404],
      [token, room.id, { text: '   ' }, undefined, 400],
      [token, room.id, { text: 42 }, undefined, 400],
      [token, room.id, 'not json at all', undefined, 400],
      [token, room.id, { text: 'x', threadId: '0190aaaa-0000-7000-8000-000000000001' }, undefined, 400],
      [token, room.id, { text: 'x' }, 'k'.repeat(500), 400],
      ['not-a-token', room.id, { text: 'x' }, undefined, 401],
    ];
    for (const [who, roomId, body, key, status] of cases) {
      expect((await publish(who, roomId, body, key)).status, JSON.stringify([body, key?.length, status])).toBe(status);
    }
    const { messages } = await ok<{ messages: Message[] }>(chat, 'message:history', { roomId: room.id });
    expect(messages).toEqual([]);
    expect(heard).toEqual([]);
  });
});
