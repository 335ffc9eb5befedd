/**
 * Rules of `/collab` that protect one client from another (PROTOCOL §5, docs/protocol.md §7.2):
 * a connection changes only the awareness states it introduced, and only its own are removed
 * when it closes; a document cannot grow past COLLAB_MAX_DOC_BYTES (4413, nothing stored or
 * relayed, everyone else unaffected), nor a frame past COLLAB_MAX_FRAME_BYTES (1009).
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Awareness, applyAwarenessUpdate } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { closeCollab, converged, insertUpdate, member, openProvider, openRaw, roomWithDoc, textOf, updateFrame } from './collab-client.js';
import { eventually, startServer, type TestServer } from './helpers.js';

afterEach(() => closeCollab());

/** An awareness frame (type 1) setting `entries` (state `null` removes it), encoded by hand as y-protocols does. */
function awarenessFrame(entries: { clientId: number; clock: number; state: unknown }[]): Uint8Array {
  const update = encoding.createEncoder();
  encoding.writeVarUint(update, entries.length);
  for (const { clientId, clock, state } of entries) {
    encoding.writeVarUint(update, clientId);
    encoding.writeVarUint(update, clock);
    encoding.writeVarString(update, JSON.stringify(state));
  }
  const frame = encoding.createEncoder();
  encoding.writeVarUint(frame, 1);
  encoding.writeVarUint8Array(frame, encoding.toUint8Array(update));
  return encoding.toUint8Array(frame);
}



/** A raw connection that keeps the awareness states it was sent, as a client would. */
async function watcher(url: string, docId: string, token: string) {
  const raw = await openRaw(url, docId, token);
  const seen = new Awareness(new Y.Doc());
  seen.setLocalState(null);
  let read = 0;
  const states = () => {
    for (; read < raw.received.length; read++) {
      const decoder = decoding.createDecoder(raw.received[read]!);
      if (decoding.readVarUint(decoder) === 1) applyAwarenessUpdate(seen, decoding.readVarUint8Array(decoder), 'server');
    }
    return seen.getStates();
  };
  return { ...raw, states };
}

const ALICE_ID = 1_000_001;
const BOB_ID = 2_000_002;

describe('awareness ownership', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer();
  });
  afterAll(async () => {
    closeCollab();
    await t.close();
  });

  it("ignores changes to another connection's client ids and removes only a closing connection's own states", async () => {
    const alice = await member(t.url);
    const bob = await member(t.url);
    const { doc } = await roomWithDoc(t.url, alice, [bob]);
    const a = await watcher(t.url, doc.id, alice.token);
    const b = await watcher(t.url, doc.id, bob.token);

    a.ws.send(awarenessFrame([{ clientId: ALICE_ID, clock: 1, state: { name: 'Alice' } }]));
    await eventually(() => b.states().has(ALICE_ID), 5000, "Alice's state to reach Bob");

    // Bob forges Alice's state (a higher clock would win in plain y-protocols) beside his own.
    b.ws.send(awarenessFrame([
      { clientId: ALICE_ID, clock: 9, state: { name: 'forged' } },
      { clientId: BOB_ID, clock: 1, state: { name: 'Bob' } },
    ]));
    await eventually(() => a.states().has(BOB_ID), 5000, "Bob's own state to reach Alice");
    // Then tries to remove it.
    b.ws.send(awarenessFrame([
      { clientId: ALICE_ID, clock: 10, state: null },
      { clientId: BOB_ID, clock: 2, state: { name: 'Bob 2' } },
    ]));
    await eventually(() => (a.states().get(BOB_ID) as { name?: string } | undefined)?.name === 'Bob 2', 5000, "Bob's second state");
    expect(a.states().get(ALICE_ID)).toEqual({ name: 'Alice' });
    expect(b.states().get(ALICE_ID)).toEqual({ name: 'Alice' });

    // A newcomer is told what the server holds: Alice's real state, Bob's.
    const c = await watcher(t.url, doc.id, alice.token);
    await eventually(() => c.states().has(ALICE_ID) && c.states().has(BOB_ID), 5000, 'the states on connecting');
    expect(c.states().get(ALICE_ID)).toEqual({ name: 'Alice' });

    // Alice still owns her id and updates it as usual.
    a.ws.send(awarenessFrame([{ clientId: ALICE_ID, clock: 2, state: { name: 'Alice 2' } }]));
    await eventually(() => (c.states().get(ALICE_ID) as { name?: string } | undefined)?.name === 'Alice 2', 5000, "Alice's update");

    // Bob leaves: his state goes, Alice's stays.
    b.ws.close();
    await b.closed;
    await eventually(() => !c.states().has(BOB_ID), 5000, "Bob's state to be removed");
    expect(c.states().get(ALICE_ID)).toEqual({ name: 'Alice 2' });
    expect(a.states().has(ALICE_ID)).toBe(true);
    expect(a.ws.readyState).toBe(a.ws.OPEN);
  });

  it('lets stock providers, which echo their peers\' states back, keep their cursors', async () => {
    const alice = await member(t.url);
    const bob = await member(t.url);
    const { doc } = await roomWithDoc(t.url, alice, [bob]);
    const pa = await openProvider(t.url, doc.id, alice.token);
    const pb = await openProvider(t.url, doc.id, bob.token);
    pa.awareness.setLocalStateField('user', { name: 'Alice' });
    pb.awareness.setLocalStateField('user', { name: 'Bob' });
    const name = (states: Map<number, Record<string, unknown>>, id: number) => (states.get(id)?.user as { name?: string } | undefined)?.name;
    await eventually(
      () => name(pa.awareness.getStates(), pb.awareness.clientID) === 'Bob' && name(pb.awareness.getStates(), pa.awareness.clientID) === 'Alice',
      5000,
      'both cursors on both sides',
    );
    pb.awareness.setLocalStateField('user', { name: 'Bob 2' });
    await eventually(() => name(pa.awareness.getStates(), pb.awareness.clientID) === 'Bob 2', 5000, "Bob's rename");
    const bobId = pb.awareness.clientID;
    pb.destroy();
    await eventually(() => !pa.awareness.getStates().has(bobId), 5000, "Bob's cursor to go");
    expect(pa.wsconnected).toBe(true);
  });
});

describe('document size limit', () => {
  const KiB = 1024;
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ COLLAB_MAX_DOC_BYTES: 64 * KiB, COLLAB_MAX_FRAME_BYTES: 96 * KiB, COLLAB_IDLE_UNLOAD_S: 0 });
  });
  afterAll(async () => {
    closeCollab();
    await t.close();
  });

  it('refuses an update past the limit with 4413, storing and relaying nothing, and keeps the others editing', async () => {
    const alice = await member(t.url);
    const bob = await member(t.url);
    const { doc } = await roomWithDoc(t.url, alice, [bob]);
    const a = await openProvider(t.url, doc.id, alice.token);
    const b = await openProvider(t.url, doc.id, bob.token);
    a.doc.getText('content').insert(0, 'a'.repeat(40 * KiB));
    await converged([a, b]);

    const pusher = await openRaw(t.url, doc.id, bob.token);
    pusher.ws.send(updateFrame(insertUpdate('p'.repeat(30 * KiB))));
    expect(await pusher.closed).toBe(4413);

    // The others go on editing; none of them ever saw the refused update.
    b.doc.getText('content').insert(0, 'still here ');
    const text = await converged([a, b]);
    expect(text).toBe(`still here ${'a'.repeat(40 * KiB)}`);
    expect(a.wsconnected && b.wsconnected).toBe(true);

    // Deleting is always accepted; once trimmed, the document takes the same insert.
    a.doc.getText('content').delete(11, 30 * KiB);
    await converged([a, b]);
    const again = await openRaw(t.url, doc.id, bob.token);
    again.ws.send(updateFrame(insertUpdate('p'.repeat(30 * KiB))));
    await eventually(() => textOf(a).includes('ppp'), 10_000, 'the insert to be accepted after the trim');
    const expected = await converged([a, b]);

    // Intact and loadable from storage.
    closeCollab();
    await eventually(() => t.server.documents.live.size === 0, 10_000, 'the document to leave memory');
    expect(textOf(await openProvider(t.url, doc.id, alice.token))).toBe(expected);
  });

  it('refuses a restore that would pass the limit with 413 PAYLOAD_TOO_LARGE', async () => {
    const alice = await member(t.url);
    const { doc } = await roomWithDoc(t.url, alice);
    const a = await openProvider(t.url, doc.id, alice.token);
    a.doc.getText('content').insert(0, 'v'.repeat(40 * KiB));
    await converged([a, await openProvider(t.url, doc.id, alice.token)]);
    const version = await fetch(`${t.url}/api/docs/${doc.id}/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'big' }),
    }).then((r) => r.json() as Promise<{ version: { id: string } }>);
    // Replaced by different text of the same size: restoring inserts the old text again.
    a.doc.getText('content').delete(0, 40 * KiB);
    a.doc.getText('content').insert(0, 'w'.repeat(40 * KiB));
    await eventually(async () => {
      const res = await fetch(`${t.url}/api/docs/${doc.id}/versions/${version.version.id}/restore`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice.token}` },
      });
      const body = (await res.json()) as { error?: { code: string } };
      return res.status === 413 && body.error?.code === 'PAYLOAD_TOO_LARGE';
    }, 10_000, 'the restore to be refused');
    expect(textOf(a)).toBe('w'.repeat(40 * KiB));
  });

  it('closes with 1009 on a frame larger than COLLAB_MAX_FRAME_BYTES', async () => {
    const alice = await member(t.url);
    const { doc } = await roomWithDoc(t.url, alice);
    const raw = await openRaw(t.url, doc.id, alice.token);
    raw.ws.send(updateFrame(insertUpdate('x'.repeat(100 * KiB))));
    expect(await raw.closed).toBe(1009);
  });
});
