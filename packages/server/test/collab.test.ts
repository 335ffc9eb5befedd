/**
 * Collaborative documents on one server, on SQLite and PostgreSQL (PROTOCOL §5): the HTTP API,
 * stock y-websocket providers converging through `/collab`, awareness, authorization of the
 * upgrade and of open connections, malformed frames, persistence across a restart, compaction,
 * versions and unloading idle documents.
 */
import type { Doc, DocChangedEvent, DocVersion } from '@switchboard/protocol';
import { sql } from 'kysely';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import type { Duplex } from 'node:stream';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { closeCollab, converged, insertUpdate, member, openProvider, openRaw, roomWithDoc, textOf, updateFrame, upgradeStatus } from './collab-client.js';
import { dialects, eventually, http, next, ok, startServer, type TestServer } from './helpers.js';

afterEach(() => closeCollab());


/** An awareness frame (type 1) carrying `update`. */
function awarenessFrame(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, 1);
  encoding.writeVarUint8Array(encoder, update);
  return encoding.toUint8Array(encoder);
}


describe.each(dialects)('collaborative documents on %s', (dialect) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ dialect, COLLAB_IDLE_UNLOAD_S: 0, COLLAB_COMPACT_AFTER: 10, COLLAB_VERSION_INTERVAL_S: 0.2 });
  });
  afterAll(async () => {
    closeCollab();
    await t.close();
  });

  it('creates, lists, renames and deletes documents, telling the room on /chat', async () => {
    const alice = await member(t.url);
    const bob = await member(t.url);
    const { roomId, doc } = await roomWithDoc(t.url, alice, [bob]);
    expect(doc).toMatchObject({ roomId, title: 'Notes', createdBy: alice.id });

    const created = next<DocChangedEvent>(bob.chat, 'doc:changed', (e) => e.action === 'created');
    const second = await http<{ doc: Doc }>(t.url, 'POST', `/api/rooms/${roomId}/docs`, { title: '  Plan\u0301 ' }, bob.token);
    expect(second.status).toBe(201);
    expect(second.body.doc.title).toBe('Plan\u0301'.normalize('NFC'));
    expect((await created).doc.id).toBe(second.body.doc.id);

    const list = await http<{ docs: Doc[] }>(t.url, 'GET', `/api/rooms/${roomId}/docs`, undefined, alice.token);
    expect(list.body.docs.map((d) => d.id)).toEqual([second.body.doc.id, doc.id]);

    const renamed = next<DocChangedEvent>(alice.chat, 'doc:changed', (e) => e.action === 'renamed');
    const patch = await http<{ doc: Doc }>(t.url, 'PATCH', `/api/docs/${doc.id}`, { title: 'Minutes' }, bob.token);
    expect(patch.body.doc.title).toBe('Minutes');
    expect((await renamed).doc.title).toBe('Minutes');

    const deleted = next<DocChangedEvent>(alice.chat, 'doc:changed', (e) => e.action === 'deleted');
    expect((await http(t.url, 'DELETE', `/api/docs/${doc.id}`, undefined, bob.token)).status).toBe(204);
    expect((await deleted).doc.id).toBe(doc.id);
    expect((await http(t.url, 'GET', `/api/docs/${doc.id}`, undefined, alice.token)).status).toBe(404);
    const after = await http<{ docs: Doc[] }>(t.url, 'GET', `/api/rooms/${roomId}/docs`, undefined, alice.token);
    expect(after.body.docs.map((d) => d.id)).toEqual([second.body.doc.id]);
  });

  it('answers bad input with INVALID_ARGUMENT and outsiders with 401/403/404', async () => {
    const alice = await member(t.url);
    const outsider = await member(t.url);
    const { roomId, doc } = await roomWithDoc(t.url, alice);
    for (const title of ['', '   ', 'x'.repeat(121), 'bad\u202Etitle', 42]) {
      const res = await http<{ error: { code: string } }>(t.url, 'POST', `/api/rooms/${roomId}/docs`, { title }, alice.token);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_ARGUMENT');
    }
    const badName = await http<{ error: { code: string } }>(t.url, 'POST', `/api/docs/${doc.id}/versions`, { name: 7 }, alice.token);
    expect(badName.body.error.code).toBe('INVALID_ARGUMENT');
    const badId = await http<{ error: { code: string } }>(t.url, 'GET', '/api/docs/not%20an%20id', undefined, alice.token);
    expect(badId.body.error.code).toBe('INVALID_ARGUMENT');
    expect((await http(t.url, 'GET', `/api/docs/${doc.id}`)).status).toBe(401);
    expect((await http(t.url, 'GET', `/api/docs/${doc.id}`, undefined, outsider.token)).status).toBe(403);
    expect((await http(t.url, 'POST', `/api/rooms/${roomId}/docs`, { title: 'x' }, outsider.token)).status).toBe(403);
    expect((await http(t.url, 'GET', '/api/docs/unknown', undefined, alice.token)).status).toBe(404);
  });

  it('documents its HTTP routes in the OpenAPI document', async () => {
    const res = await http<{ paths: Record<string, Record<string, { tags?: string[]; summary?: string }>> }>(t.url, 'GET', '/api/docs/json');
    const operations: [string, string][] = [
      ['/api/rooms/{roomId}/docs', 'post'],
      ['/api/rooms/{roomId}/docs', 'get'],
      ['/api/docs/{docId}', 'get'],
      ['/api/docs/{docId}', 'patch'],
      ['/api/docs/{docId}', 'delete'],
      ['/api/docs/{docId}/versions', 'get'],
      ['/api/docs/{docId}/versions', 'post'],
      ['/api/docs/{docId}/versions/{versionId}', 'get'],
      ['/api/docs/{docId}/versions/{versionId}/restore', 'post'],
    ];
    for (const [path, method] of operations) expect(res.body.paths[path]?.[method]?.tags, `${method} ${path}`).toEqual(['documents']);
  });

  it('counts document requests against the user\'s rate limit', async () => {
    const alice = await member(t.url);
    const { roomId } = await roomWithDoc(t.url, alice);
    // Batches of 200 at once until one is refused: a busy machine may answer a batch slower than
    // the budget (a burst of 60, then 30 a second) refills, but not every batch.
    const limited: { status: number; body: { error?: { code: string } }; headers: Headers }[] = [];
    for (let batch = 0; batch < 10 && limited.length === 0; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 200 }, () => http<{ error?: { code: string } }>(t.url, 'GET', `/api/rooms/${roomId}/docs`, undefined, alice.token)),
      );
      limited.push(...answers.filter((a) => a.status === 429));
    }
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]!.body.error?.code).toBe('RATE_LIMITED');
    expect(limited[0]!.headers.get('retry-after')).not.toBeNull();
  });

  it('lets two stock providers edit at once and converge, with awareness both ways', async () => {
    const alice = await member(t.url);
    const bob = await member(t.url);
    const { doc } = await roomWithDoc(t.url, alice, [bob]);
    const a = await openProvider(t.url, doc.id, alice.token);
    const b = await openProvider(t.url, doc.id, bob.token);
    a.doc.getText('content').insert(0, 'Hello');
    b.doc.getText('content').insert(0, 'World ');
    for (let i = 0; i < 20; i++) (i % 2 ? a : b).doc.getText('content').insert(3, String(i % 10));
    const text = await converged([a, b]);
    expect(text).toHaveLength(31);

    a.awareness.setLocalStateField('user', { name: 'Alice' });
    await eventually(() => (b.awareness.getStates().get(a.awareness.clientID) as { user?: { name: string } } | undefined)?.user?.name === 'Alice');
    const aliceId = a.awareness.clientID;
    a.destroy();
    await eventually(() => !b.awareness.getStates().has(aliceId), 5000, "Alice's cursor to go away");

    // A fresh client loads exactly the same state.
    const c = await openProvider(t.url, doc.id, alice.token);
    expect(textOf(c)).toBe(text);
  });

  it('refuses the upgrade with 401, then 403, then 404, before sending anything', async () => {
    const alice = await member(t.url);
    const outsider = await member(t.url);
    const { doc } = await roomWithDoc(t.url, alice);
    expect(await upgradeStatus(t.url, `/${doc.id}`)).toBe(401);
    expect(await upgradeStatus(t.url, `/${doc.id}?token=forged`)).toBe(401);
    expect(await upgradeStatus(t.url, `/unknown?token=forged`)).toBe(401);
    expect(await upgradeStatus(t.url, `/${doc.id}?token=${outsider.token}`)).toBe(403);
    expect(await upgradeStatus(t.url, `/unknown-doc?token=${alice.token}`)).toBe(404);
    expect(await upgradeStatus(t.url, `/${doc.id}?token=${alice.token}`)).toBe(101);
    await http(t.url, 'DELETE', `/api/docs/${doc.id}`, undefined, alice.token);
    expect(await upgradeStatus(t.url, `/${doc.id}?token=${outsider.token}`)).toBe(403);
    expect(await upgradeStatus(t.url, `/${doc.id}?token=${alice.token}`)).toBe(404);
  });

  it('closes with 4403 when the member leaves the room, 4404 when the document is deleted, 4401 when the login ends', async () => {
    const alice = await member(t.url);
    const bob = await member(t.url);
    const { roomId, doc } = await roomWithDoc(t.url, alice, [bob]);
    const bobs = await openRaw(t.url, doc.id, bob.token);
    const alices = await openRaw(t.url, doc.id, alice.token);
    await ok(bob.chat, 'room:leave', { roomId });
    expect(await bobs.closed).toBe(4403);

    const logout = await http(t.url, 'POST', '/api/auth/logout', { refreshToken: alice.session.refreshToken });
    expect(logout.status).toBe(204);
    expect(await alices.closed).toBe(4401);

    const carol = await member(t.url);
    const { doc: other } = await roomWithDoc(t.url, carol);
    const carols = await openRaw(t.url, other.id, carol.token);
    await http(t.url, 'DELETE', `/api/docs/${other.id}`, undefined, carol.token);
    expect(await carols.closed).toBe(4404);
  });

  it('closes on malformed frames with 4400 and changes nothing', async () => {
    const alice = await member(t.url);
    const { doc } = await roomWithDoc(t.url, alice);
    const writer = await openProvider(t.url, doc.id, alice.token);
    writer.doc.getText('content').insert(0, 'intact');
    const watcher = await openProvider(t.url, doc.id, alice.token);
    await converged([writer, watcher]);

    const valid = updateFrame(insertUpdate('EVIL'));
    const frames: (Uint8Array | string)[] = [
      new Uint8Array([0x80]), // truncated varint
      new Uint8Array([0, 0xff, 0xff, 0xff]), // truncated varint subtype
      new Uint8Array([0, 2, 0xff, 0xff, 0xff, 0x7f, 1, 2]), // length far beyond the frame
      valid.slice(0, valid.length - 3), // truncated update
      new Uint8Array([...valid, 0]), // trailing byte
      new Uint8Array([9, 0]), // unknown message type
      new Uint8Array([0, 7, 0]), // unknown sync subtype
      updateFrame(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9])), // not a Yjs update
      new Uint8Array([1, 5, 1, 1, 1, 1, 0x7b]), // awareness with a broken state
      'text frame',
      Uint8Array.from({ length: 64 }, (_, i) => (i * 97 + 13) % 256), // noise
    ];
    for (const frame of frames) {
      const raw = await openRaw(t.url, doc.id, alice.token);
      raw.ws.send(frame);
      expect(await raw.closed).toBe(4400);
    }
    // The watcher saw nothing, and neither does a fresh client, before and after a restart.
    expect(textOf(watcher)).toBe('intact');
    expect(textOf(await openProvider(t.url, doc.id, alice.token))).toBe('intact');
  });

  it('keeps every edit across a restart, with the log compacted', async () => {
    const alice = await member(t.url);
    const { doc } = await roomWithDoc(t.url, alice);
    const a = await openProvider(t.url, doc.id, alice.token);
    const text = a.doc.getText('content');
    for (let i = 0; i < 60; i++) text.insert(text.length, `${i};`);
    text.delete(0, 10);
    const b = await openProvider(t.url, doc.id, alice.token);
    const expected = await converged([a, b]);
    const { db } = t.server.database;
    // Compaction runs in the background and keeps the log short.
    await eventually(async () => {
      const row = await db.selectFrom('doc_updates').select((eb) => eb.fn.countAll<number>().as('n')).where('doc_id', '=', doc.id).executeTakeFirstOrThrow();
      return Number(row.n) < 20;
    }, 10_000, 'the log to be compacted');
    closeCollab();
    await eventually(() => t.server.documents.live.size === 0, 10_000, 'the document to leave memory');

    await t.stop();
    t = await t.restart();
    // The access token still verifies: the restarted server kept its secret and the login.
    const c = await openProvider(t.url, doc.id, alice.token);
    expect(textOf(c)).toBe(expected);
  });

  it('stores named and automatic versions, shows their text, and restores one as an edit everyone receives', async () => {
    const alice = await member(t.url);
    const bob = await member(t.url);
    const { doc } = await roomWithDoc(t.url, alice, [bob]);
    const a = await openProvider(t.url, doc.id, alice.token);
    const b = await openProvider(t.url, doc.id, bob.token);
    a.doc.getText('content').insert(0, 'first draft');
    await converged([a, b]);

    const named = await http<{ version: DocVersion }>(t.url, 'POST', `/api/docs/${doc.id}/versions`, { name: 'Draft 1' }, bob.token);
    expect(named.status).toBe(201);
    expect(named.body.version).toMatchObject({ docId: doc.id, name: 'Draft 1', createdBy: bob.id });

    b.doc.getText('content').delete(0, 6);
    b.doc.getText('content').insert(5, ' and final');
    expect(await converged([a, b])).toBe('draft and final');

    const view = await http<{ version: DocVersion; text: string }>(t.url, 'GET', `/api/docs/${doc.id}/versions/${named.body.version.id}`, undefined, alice.token);
    expect(view.body.text).toBe('first draft');

    // Automatic versions appear while the document is edited (COLLAB_VERSION_INTERVAL_S is short here).
    await eventually(async () => {
      const list = await http<{ versions: DocVersion[] }>(t.url, 'GET', `/api/docs/${doc.id}/versions`, undefined, alice.token);
      return list.body.versions.some((v) => v.name === null && v.createdBy === null);
    }, 10_000, 'an automatic version');

    const restored = await http<{ version: DocVersion }>(t.url, 'POST', `/api/docs/${doc.id}/versions/${named.body.version.id}/restore`, undefined, alice.token);
    expect(restored.status).toBe(200);
    expect(restored.body.version.id).toBe(named.body.version.id);
    await eventually(() => textOf(a) === 'first draft' && textOf(b) === 'first draft', 5000, 'both clients to see the restored text');

    const list = await http<{ versions: DocVersion[] }>(t.url, 'GET', `/api/docs/${doc.id}/versions`, undefined, alice.token);
    const times = list.body.versions.map((v) => v.createdAt);
    expect(times).toEqual([...times].sort((x, y) => y - x));
    expect((await http(t.url, 'GET', `/api/docs/${doc.id}/versions/unknown`, undefined, alice.token)).status).toBe(404);
  });

  it('serves nothing and stores nothing while a document cannot be loaded', async () => {
    const alice = await member(t.url);
    const { doc } = await roomWithDoc(t.url, alice);
    const a = await openProvider(t.url, doc.id, alice.token);
    a.doc.getText('content').insert(0, 'precious');
    await converged([a, await openProvider(t.url, doc.id, alice.token)]);
    closeCollab();
    await eventually(() => t.server.documents.live.size === 0, 10_000, 'the document to leave memory');

    const { db } = t.server.database;
    await sql`alter table doc_updates rename to doc_updates_away`.execute(db);
    try {
      const raw = await openRaw(t.url, doc.id, alice.token);
      expect(await raw.closed).toBe(1011);
      expect(raw.received).toEqual([]);
    } finally {
      await sql`alter table doc_updates_away rename to doc_updates`.execute(db);
    }
    expect(textOf(await openProvider(t.url, doc.id, alice.token))).toBe('precious');
  });

  it('answers a query for awareness with every state it knows', async () => {
    const alice = await member(t.url);
    const { doc } = await roomWithDoc(t.url, alice);
    const writer = await openRaw(t.url, doc.id, alice.token);
    const cursor = new Awareness(new Y.Doc());
    cursor.setLocalState({ user: { name: 'Alice' } });
    writer.ws.send(awarenessFrame(encodeAwarenessUpdate(cursor, [cursor.clientID])));
    const reader = await openRaw(t.url, doc.id, alice.token);
    await eventually(() => reader.received.some((m) => m[0] === 1), 5000, 'the awareness states on connecting');
    reader.received.length = 0;
    reader.ws.send(new Uint8Array([3]));
    await eventually(() => reader.received.some((m) => m[0] === 1), 5000, 'an answer to the query');
    const seen = new Awareness(new Y.Doc());
    const answer = reader.received.find((m) => m[0] === 1)!;
    const decoder = decoding.createDecoder(answer);
    decoding.readVarUint(decoder); // the message type
    applyAwarenessUpdate(seen, decoding.readVarUint8Array(decoder), 'test');
    expect(seen.getStates().get(cursor.clientID)).toEqual({ user: { name: 'Alice' } });
    cursor.destroy();
    seen.destroy();
  });

  it('unloads documents nobody has open, however many were opened', async () => {
    const alice = await member(t.url);
    // 25 members share the work, each within their own rate-limit budget.
    const others = await Promise.all(Array.from({ length: 25 }, () => member(t.url)));
    const { roomId } = await roomWithDoc(t.url, alice, others);
    // 1,000 documents, 25 open at a time.
    for (let round = 0; round < 40; round++) {
      const opened = await Promise.all(
        Array.from({ length: 25 }, async (_, i) => {
          const user = others[i]!;
          const res = await http<{ doc: Doc }>(t.url, 'POST', `/api/rooms/${roomId}/docs`, { title: `Doc ${round}.${i}` }, user.token);
          const raw = await openRaw(t.url, res.body.doc.id, user.token);
          await eventually(() => raw.received.length > 0);
          return raw;
        }),
      );
      for (const raw of opened) raw.ws.close();
      await Promise.all(opened.map((raw) => raw.closed));
    }
    await eventually(() => t.server.documents.live.size === 0, 10_000, 'every document to leave memory');
  }, 120_000);
});

describe('a client that stops reading', () => {
  it('is disconnected once its unsent data passes the bound, and the others keep editing', async () => {
    // 10 MiB of edits: past the default document size limit.
    const t = await startServer({ MAX_SOCKET_BUFFER_BYTES: 64 * 1024, COLLAB_MAX_DOC_BYTES: 32 * 1024 * 1024 });
    try {
      const alice = await member(t.url);
      const { doc } = await roomWithDoc(t.url, alice);
      const slow = await openRaw(t.url, doc.id, alice.token);
      // The client's TCP socket stops reading (ws keeps it as `_socket`).
      const tcp = (slow.ws as unknown as { _socket: Duplex })._socket;
      tcp.pause();
      const writer = await openProvider(t.url, doc.id, alice.token);
      const watcher = await openProvider(t.url, doc.id, alice.token);
      const chunk = 'x'.repeat(64 * 1024);
      for (let i = 0; i < 160; i++) writer.doc.getText('content').insert(0, chunk);
      await eventually(() => textOf(watcher).length === 160 * chunk.length, 30_000, 'the watcher to get every edit');
      tcp.resume();
      // Cut off without a close frame: the server dropped it rather than queue more for it.
      expect(await slow.closed).toBe(1006);
    } finally {
      closeCollab();
      await t.close();
    }
  });
});

describe('draining', () => {
  it('closes /collab connections with 1001', async () => {
    const t = await startServer();
    try {
      const alice = await member(t.url);
      const { doc } = await roomWithDoc(t.url, alice);
      const raw = await openRaw(t.url, doc.id, alice.token);
      const drained = t.server.drain();
      expect(await raw.closed).toBe(1001);
      await drained;
    } finally {
      closeCollab();
      await t.close();
    }
  });
});
