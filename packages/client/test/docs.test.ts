/**
 * `client.docs` against a real server: a room's documents created, listed, renamed, versioned,
 * restored and deleted over HTTP, `doc:changed` heard by another member, and the server's refusals
 * (a stranger, a blank title, an unknown document) as SwitchboardErrors.
 */
import type { DocChangedEvent } from '@switchboard/protocol';
import { WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startServer, uniqueName, type TestServer } from '../../server/test/helpers.js';
import { closeClients, signedIn } from './support.js';

describe('client.docs', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer();
  });
  afterEach(() => closeClients());
  afterAll(() => t.close());

  it('manages a room’s documents and versions, and tells the other members', async () => {
    const alice = await signedIn(t);
    const bob = await signedIn(t);
    const room = await alice.chat.createRoom({ name: uniqueName('Docs'), kind: 'public' });
    await bob.chat.joinRoom(room.id);
    const heard: DocChangedEvent[] = [];
    bob.docs.on('changed', (event) => heard.push(event));

    const doc = await alice.docs.create(room.id, 'Plan');
    expect(doc).toMatchObject({ roomId: room.id, title: 'Plan', createdBy: alice.user?.id });
    expect((await bob.docs.list(room.id)).map((d) => d.id)).toEqual([doc.id]);
    expect((await bob.docs.rename(doc.id, 'Roadmap')).title).toBe('Roadmap');
    expect((await alice.docs.get(doc.id)).title).toBe('Roadmap');

    // A version of what was written, then more writing, then the version restored.
    const session = await alice.collab.open(doc.id, { WebSocketPolyfill: WebSocket });
    const watcher = await bob.collab.open(doc.id, { WebSocketPolyfill: WebSocket });
    try {
      session.text.insert(0, 'first draft');
      // An update is stored before it is relayed: once Bob has it, a version includes it.
      await eventually(() => watcher.text.toString() === 'first draft', 10_000, 'the edit reaching Bob');
      const named = await alice.docs.saveVersion(doc.id, 'First draft');
      expect((await alice.docs.version(doc.id, named.id)).text).toBe('first draft');
      session.text.insert(session.text.length, ', then more');
      await eventually(() => watcher.text.toString() === 'first draft, then more', 10_000, 'the second edit reaching Bob');
      expect((await bob.docs.restore(doc.id, named.id)).id).toBe(named.id);
      await eventually(() => session.text.toString() === 'first draft' && watcher.text.toString() === 'first draft', 10_000, 'the restore reaching both');
      expect((await alice.docs.versions(doc.id)).map((v) => v.name)).toContain('First draft');
    } finally {
      session.close();
      watcher.close();
    }

    await alice.docs.remove(doc.id);
    expect(await bob.docs.list(room.id)).toEqual([]);
    await eventually(() => heard.map((e) => e.action).join() === 'created,renamed,deleted', 5000, 'every doc:changed');
    expect(heard.every((e) => e.roomId === room.id && e.doc.id === doc.id)).toBe(true);
  });

  it('answers refusals as SwitchboardErrors with the protocol’s codes', async () => {
    const alice = await signedIn(t);
    const stranger = await signedIn(t);
    const room = await alice.chat.createRoom({ name: uniqueName('Private'), kind: 'private' });
    const doc = await alice.docs.create(room.id, 'Secret');
    await expect(stranger.docs.get(doc.id)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(stranger.docs.create(room.id, 'Mine')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(alice.docs.create(room.id, '   ')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(alice.docs.get('0190aaaa-0000-7000-8000-000000000000')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await alice.docs.list(room.id)).map((d) => d.title)).toEqual(['Secret']);
  });
});
