/**
 * `client.collab` against a real server: two SDK clients edit one document and converge with each
 * other's awareness; a client whose access token was renewed reconnects with the new one (no
 * refused attempt); leaving the room closes the document with FORBIDDEN, an edit past the size
 * limit with PAYLOAD_TOO_LARGE.
 */
import type { Doc, Session } from '@switchboard/protocol';
import { WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually, http, register, startServer, uniqueName, type TestServer } from '../../server/test/helpers.js';
import type { CollabSession, SwitchboardClient } from '@switchboard/client';
import { client, closeClients } from './support.js';

describe('client.collab', () => {
  let t: TestServer;
  const sessions = new Set<CollabSession>();
  beforeAll(async () => {
    // Short-lived access tokens: the renewal test waits for one to be replaced; small documents.
    t = await startServer({ ACCESS_TOKEN_TTL: 5, COLLAB_MAX_DOC_BYTES: 64 * 1024 });
  });
  afterEach(() => {
    for (const s of sessions) s.close();
    sessions.clear();
    closeClients();
  });
  afterAll(() => t.close());

  async function signedIn(): Promise<{ c: SwitchboardClient; session: Session }> {
    const session = await register(t.url);
    const c = client({ url: t.url, session });
    await c.ready();
    return { c, session };
  }

  /** A room both are members of, with one document in it. */
  async function sharedDoc(owner: { c: SwitchboardClient; session: Session }, other: SwitchboardClient): Promise<Doc> {
    const room = await owner.c.chat.createRoom({ name: uniqueName('Docs'), kind: 'public' });
    await other.chat.joinRoom(room.id);
    const res = await http<{ doc: Doc }>(t.url, 'POST', `/api/rooms/${room.id}/docs`, { title: 'Plan' }, owner.c.session?.accessToken);
    expect(res.status).toBe(201);
    return res.body.doc;
  }

  const open = async (c: SwitchboardClient, docId: string) => {
    const s = await c.collab.open(docId, { WebSocketPolyfill: WebSocket });
    sessions.add(s);
    return s;
  };

  it('opens a document on two clients that converge and see each other', async () => {
    const alice = await signedIn();
    const bob = await signedIn();
    const doc = await sharedDoc(alice, bob.c);
    const a = await open(alice.c, doc.id);
    const b = await open(bob.c, doc.id);
    a.awareness.setLocalStateField('user', { name: 'Alice' });
    a.text.insert(0, 'Hello');
    await eventually(() => b.text.toString() === 'Hello', 10_000, 'the first edit');
    b.text.insert(5, ', world');
    await eventually(() => a.text.toString() === 'Hello, world', 10_000, 'the second edit');
    await eventually(
      () => [...b.awareness.getStates().values()].some((state) => (state as { user?: { name?: string } }).user?.name === 'Alice'),
      10_000,
      "Alice's awareness",
    );
  });

  it('reconnects with the renewed access token, never with the expired one', async () => {
    const alice = await signedIn();
    const bob = await signedIn();
    const doc = await sharedDoc(alice, bob.c);
    const a = await open(alice.c, doc.id);
    const b = await open(bob.c, doc.id);
    let refused = 0;
    a.provider.on('connection-error', () => refused++);
    const first = a.provider.params.token;
    // The access token lives 5 s; the client renews it before it expires.
    await eventually(() => a.provider.params.token !== first, 15_000, 'a renewed token');
    await eventually(() => Date.now() > (JSON.parse(atob(first!.split('.')[1]!)) as { exp: number }).exp * 1000 + 500, 15_000, 'the old token to expire');
    a.provider.disconnect();
    a.provider.connect();
    b.text.insert(0, 'after renewal');
    await eventually(() => a.text.toString() === 'after renewal', 10_000, 'the edit after reconnecting');
    expect(refused).toBe(0);
  }, 40_000);

  it('reports FORBIDDEN and stops when the user leaves the room', async () => {
    const alice = await signedIn();
    const bob = await signedIn();
    const doc = await sharedDoc(alice, bob.c);
    const b = await open(bob.c, doc.id);
    await new Promise<void>((resolve) => b.on('synced', resolve));
    const closed = new Promise<string>((resolve) => b.on('closed', (err) => resolve(err.code)));
    await bob.c.chat.leaveRoom(doc.roomId);
    expect(await closed).toBe('FORBIDDEN');
    expect(b.provider.shouldConnect).toBe(false);
  });

  it('reports PAYLOAD_TOO_LARGE and stops when an edit would pass the size limit, leaving the others editing', async () => {
    const alice = await signedIn();
    const bob = await signedIn();
    const doc = await sharedDoc(alice, bob.c);
    const a = await open(alice.c, doc.id);
    const b = await open(bob.c, doc.id);
    await Promise.all([a, b].map((s) => new Promise<void>((resolve) => s.on('synced', resolve))));
    const closed = new Promise<string>((resolve) => b.on('closed', (err) => resolve(err.code)));
    b.doc.getText('content').insert(0, 'x'.repeat(70 * 1024));
    expect(await closed).toBe('PAYLOAD_TOO_LARGE');
    expect(b.provider.shouldConnect).toBe(false);
    a.doc.getText('content').insert(0, 'fine');
    const c = await open(alice.c, doc.id);
    await eventually(() => c.doc.getText('content').toString() === 'fine', 10_000, 'a fresh session to load the document without the refused edit');
  });
});
