/**
 * `fallbackUrls`: a client of a deployment of several nodes (no load balancer in front) moves to
 * another node when its own goes away, and starts on one when the first URL does not answer —
 * its HTTP calls (login, refresh) following the connection.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually, register, uniqueName } from '../../server/test/helpers.js';
import { startCluster, type TestCluster } from '../../server/test/multinode.js';
import { freePort } from '../../server/test/processes.js';
import { client, closeClients, messagesOf } from './support.js';

describe('fallback URLs', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster(2);
  });
  afterAll(() => cluster.close());
  afterEach(closeClients);

  it('reconnects to another node when its node shuts down, and keeps sending', async () => {
    const extra = await cluster.addNode();
    const [survivor] = cluster.nodes;
    const session = await register(extra.url);
    const c = client({ url: extra.url, fallbackUrls: [survivor!.url], session });
    await c.ready();
    const room = await c.chat.createRoom({ name: uniqueName('fallback'), kind: 'public' });
    const seen = messagesOf(c, room.id);
    await c.chat.send(room.id, 'on the first node');

    const states: string[] = [];
    c.on('state', (s) => states.push(s));
    await extra.close();
    const sent = await c.chat.send(room.id, 'on the second node');
    await c.ready();
    expect(states).toContain('reconnecting');
    expect(sent.seq).toBe(2);
    // Through the Redis streams adapter the broadcast can follow the ack.
    await eventually(() => seen.length === 2);
    expect(seen.map((m) => m.text)).toEqual(['on the first node', 'on the second node']);
    const survivorSockets = [...survivor!.server.realtime.io.of('/chat').sockets.values()];
    expect(survivorSockets.some((s) => s.data.userId === c.user?.id)).toBe(true);
  });

  it('starts on a fallback when the first URL does not answer, logging in there', async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const [node] = cluster.nodes;
    const session = await register(node!.url);
    const c = client({ url: nobody, fallbackUrls: [node!.url], username: session.user.username, password: 'correct horse battery' });
    await c.ready();
    expect(c.user?.id).toBe(session.user.id);
    const room = await c.chat.createRoom({ name: uniqueName('fallback'), kind: 'private' });
    expect((await c.chat.send(room.id, 'made it')).seq).toBe(1);
  });
});
