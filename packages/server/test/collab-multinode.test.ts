/**
 * Collaborative documents on several nodes (REDIS_URL + PostgreSQL, PROTOCOL §5): clients of one
 * document on different nodes converge, awareness crosses nodes, a node started late loads from
 * the database and catches up, closes (4403, 4404, 4401) reach connections on every node, an
 * update or a close whose relay was lost while Redis was down still takes effect, and —
 * as a property over random edits and disconnects — every client ends with the same text, which
 * is exactly what a fresh client loads after both nodes restarted.
 */
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WebsocketProvider } from 'y-websocket';
import { closeCollab, converged, member, openProvider, openRaw, roomWithDoc, textOf } from './collab-client.js';
import { eventually, http, ok } from './helpers.js';
import { startCluster, startRedis, type TestCluster } from './multinode.js';

let cluster: TestCluster;
const url = (node: number) => cluster.nodes[node]!.url;

beforeAll(async () => {
  cluster = await startCluster(2);
});
afterAll(async () => {
  closeCollab();
  await cluster.close();
});
afterEach(() => closeCollab());

describe('collaborative documents on two nodes', () => {
  it('converges between clients on different nodes, with awareness crossing nodes', async () => {
    const alice = await member(url(0));
    const bob = await member(url(0));
    const { doc } = await roomWithDoc(url(0), alice, [bob]);
    const a = await openProvider(url(0), doc.id, alice.token);
    const b = await openProvider(url(1), doc.id, bob.token);
    a.doc.getText('content').insert(0, 'from node 0. ');
    b.doc.getText('content').insert(0, 'from node 1. ');
    expect(await converged([a, b])).toHaveLength(26);

    b.awareness.setLocalStateField('user', { name: 'Bob' });
    await eventually(() => a.awareness.getStates().has(b.awareness.clientID), 5000, "Bob's awareness on node 0");
    const bobId = b.awareness.clientID;
    b.destroy();
    await eventually(() => !a.awareness.getStates().has(bobId), 5000, "Bob's awareness to go on node 0");
  });

  it('lets a node started later load the document and catch up', async () => {
    const alice = await member(url(0));
    const { doc } = await roomWithDoc(url(0), alice);
    const a = await openProvider(url(0), doc.id, alice.token);
    const b = await openProvider(url(1), doc.id, alice.token);
    for (let i = 0; i < 30; i++) (i % 2 ? a : b).doc.getText('content').insert(0, `${i} `);
    await converged([a, b]);

    const late = await cluster.addNode();
    const c = await openProvider(late.url, doc.id, alice.token);
    expect(textOf(c)).toBe(textOf(a));
    c.doc.getText('content').insert(0, 'late node says hi. ');
    await converged([a, b, c]);
    await late.stop();
  });

  it('closes connections on every node when a member leaves, a document is deleted or a login ends', async () => {
    const alice = await member(url(0));
    const bob = await member(url(0));
    const { roomId, doc } = await roomWithDoc(url(0), alice, [bob]);
    const bobs = await openRaw(url(1), doc.id, bob.token);
    await ok(bob.chat, 'room:leave', { roomId });
    expect(await bobs.closed).toBe(4403);

    const alices = await openRaw(url(1), doc.id, alice.token);
    await http(url(0), 'DELETE', `/api/docs/${doc.id}`, undefined, alice.token);
    expect(await alices.closed).toBe(4404);

    const { doc: other } = await roomWithDoc(url(0), alice);
    const again = await openRaw(url(1), other.id, alice.token);
    await http(url(0), 'POST', '/api/auth/logout', { refreshToken: alice.session.refreshToken });
    expect(await again.closed).toBe(4401);
  });
});

describe('Redis down while a client edits', () => {
  it('brings the edit to the other node once Redis is back, and closes a leaver on the other node, although those messages were lost', async () => {
    const redis = await startRedis();
    const pair = await startCluster(2, { REDIS_URL: redis.url, COLLAB_RESYNC_S: 0.5 });
    try {
      const [url0, url1] = [pair.nodes[0]!.url, pair.nodes[1]!.url];
      const alice = await member(url0);
      const bob = await member(url0);
      const { roomId, doc } = await roomWithDoc(url0, alice, [bob]);
      const bobs = await openRaw(url1, doc.id, bob.token);
      const a = await openProvider(url0, doc.id, alice.token);
      const b = await openProvider(url1, doc.id, alice.token);
      a.doc.getText('content').insert(0, 'before. ');
      await converged([a, b]);

      await redis.kill();
      a.doc.getText('content').insert(0, 'during the outage. ');
      // Stored on node 0 (it reaches a fresh client there), whatever became of its relay.
      await eventually(async () => {
        const probe = await openProvider(url0, doc.id, alice.token);
        const seen = textOf(probe);
        probe.destroy();
        return seen === 'during the outage. before. ';
      }, 10_000, 'the edit to be stored');
      // Bob leaves on node 0; his connection on node 1 is closed all the same.
      await ok(bob.chat, 'room:leave', { roomId });
      expect(await bobs.closed).toBe(4403);
      await redis.start();
      expect(await converged([a, b], 20_000)).toBe('during the outage. before. ');
    } finally {
      closeCollab();
      await pair.close();
      await redis.kill();
    }
  });
});

type Op =
  | { kind: 'insert'; client: number; at: number; text: string }
  | { kind: 'delete'; client: number; at: number; length: number }
  | { kind: 'toggle'; client: number };

const CLIENTS = 10;
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('insert' as const), client: fc.nat(CLIENTS - 1), at: fc.nat(), text: fc.string({ minLength: 1, maxLength: 6 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), client: fc.nat(CLIENTS - 1), at: fc.nat(), length: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('toggle' as const), client: fc.nat(CLIENTS - 1) }) },
);

describe('convergence property', () => {
  it('every client, and a fresh client after a restart of both nodes, ends with the same text', async () => {
    const alice = await member(url(0));
    const { roomId } = await roomWithDoc(url(0), alice);
    const ended = new Map<string, string>();
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 10, maxLength: 60 }), async (ops) => {
        const created = await http<{ doc: { id: string } }>(url(0), 'POST', `/api/rooms/${roomId}/docs`, { title: 'Property' }, alice.token);
        const docId = created.body.doc.id;
        const clients: WebsocketProvider[] = [];
        for (let i = 0; i < CLIENTS; i++) clients.push(await openProvider(url(i % 2), docId, alice.token));
        for (const step of ops) {
          const client = clients[step.client]!;
          const text = client.doc.getText('content');
          if (step.kind === 'insert') text.insert(step.at % (text.length + 1), step.text);
          else if (step.kind === 'delete' && text.length > 0) {
            const at = step.at % text.length;
            text.delete(at, Math.min(step.length, text.length - at));
          } else if (step.kind === 'toggle') {
            if (client.shouldConnect) client.disconnect();
            else client.connect();
          }
          // Let some messages through between the steps, so edits interleave with the traffic.
          if (step.client === 0) await new Promise((resolve) => setTimeout(resolve, 5));
        }
        for (const client of clients) if (!client.shouldConnect) client.connect();
        await eventually(() => clients.every((c) => c.synced), 10_000, 'every client to reconnect');
        ended.set(docId, await converged(clients, 15_000));
        closeCollab();
      }),
      { numRuns: 8 },
    );
    // Both nodes go, two new ones come on the same database: every document loads as it ended.
    await Promise.all(cluster.nodes.map((n) => n.stop()));
    const fresh = [await cluster.addNode(), await cluster.addNode()];
    for (const [docId, text] of ended) {
      for (const node of fresh) expect(textOf(await openProvider(node.url, docId, alice.token))).toBe(text);
    }
  });
});
