/**
 * Connection states as a UI sees them: connecting → connected ⇄ reconnecting → disconnected,
 * through server-side disconnects, transport loss and a draining node; long-polling works too.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionState } from '@switchboard/client';
import { eventually, register, startServer, uniqueName, type TestServer } from '../../server/test/helpers.js';
import { client, closeClients, serverSockets, signedIn } from './support.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
});
afterAll(() => t.close());
afterEach(closeClients);

describe('SDK connection state', () => {
  it('moves connecting → connected ⇄ reconnecting → disconnected', async () => {
    const session = await register(t.url);
    const c = client({ url: t.url, session });
    const states: ConnectionState[] = [c.state];
    c.on('state', (s) => states.push(s));
    await c.ready();
    expect(states).toEqual(['connecting', 'connected']);

    // Server-side disconnect: Socket.IO would stay down; the SDK comes back.
    t.server.realtime.io.of('/chat').disconnectSockets();
    await eventually(() => states.length === 4);
    await c.ready();
    // Transport loss: the Manager comes back by itself.
    for (const s of serverSockets(t, '/notifications', session.user.id)) s.conn.close();
    await eventually(() => states.length === 6);
    await c.ready();
    expect(states).toEqual(['connecting', 'connected', 'reconnecting', 'connected', 'reconnecting', 'connected']);

    c.close();
    expect(c.state).toBe('disconnected');
    expect(states.at(-1)).toBe('disconnected');
    await expect(c.ready()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await eventually(() => serverSockets(t, '/chat', session.user.id).length === 0);
  });

  it('works over long-polling alone', async () => {
    const a = await signedIn(t, { transports: ['polling'] });
    const room = await a.chat.createRoom({ name: uniqueName('poll'), kind: 'private' });
    const got: string[] = [];
    a.chat.on('message', (m) => got.push(m.text));
    expect((await a.chat.send(room.id, 'over polling')).seq).toBe(1);
    await eventually(() => got.length === 1);
    expect(serverSockets(t, '/chat', a.user!.id)[0]?.conn.transport.name).toBe('polling');
  });

  it('a draining node means reconnecting, not disconnected', async () => {
    const draining = await startServer();
    try {
      const c = await signedIn(draining);
      const states: ConnectionState[] = [];
      c.on('state', (s) => states.push(s));
      void draining.server.drain();
      await eventually(() => states.includes('reconnecting'));
      // Handshakes are refused (UNAVAILABLE) while it drains; the client keeps trying.
      await new Promise((r) => setTimeout(r, 300));
      expect(c.state).toBe('reconnecting');
      c.close();
    } finally {
      await draining.close();
    }
  });
});
