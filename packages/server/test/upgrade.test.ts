/**
 * WebSocket upgrades on the shared port (realtime/upgrade.ts): Socket.IO keeps its own path, and an
 * upgrade for a path no endpoint serves is refused with 404 at once instead of hanging.
 */
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSockets, connect, ok, register, startServer, type TestServer } from './helpers.js';

describe('WebSocket upgrades', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer();
  });
  afterAll(async () => {
    closeSockets();
    await t.close();
  });

  it('refuses an upgrade for an unknown path with 404, and still serves Socket.IO', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${t.url.replace('http', 'ws')}/no-such-endpoint`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => reject(new Error('an unknown path was upgraded')));
      ws.on('error', () => undefined);
    });
    expect(status).toBe(404);
    const session = await register(t.url);
    const chat = await connect(t.url, '/chat', session.accessToken);
    // A new account's list holds general, the room every account joins.
    expect(await ok(chat, 'room:list', {})).toMatchObject({ rooms: [{ name: 'general' }] });
  });
});
