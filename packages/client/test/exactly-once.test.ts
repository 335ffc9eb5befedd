/**
 * THE exactly-once test: a sender's 200 messages go through repeated cuts — server-side
 * `disconnectSockets()` of the whole `/chat` namespace and transport closes of single users —
 * and every client (the sender and three receivers, one of them also cut) ends with seq 1..200,
 * each exactly once, in send order, while the server stores exactly 200 messages. And a later
 * run of an app resumes from its saved `syncState()` without gaps or repeats.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, eventually, startServer, uniqueName, type TestServer } from '../../server/test/helpers.js';
import type { Message } from '@switchboard/protocol';
import { client, closeClients, messagesOf, range, seqs, serverSockets, signedIn } from './support.js';

const COUNT = 200;

describe.each(dialects)('exactly once through cuts (%s)', (dialect) => {
  let t: TestServer;
  beforeAll(async () => {
    // 200 messages within the default 10/s would take 17 s; the rate limit has its own test.
    t = await startServer({ dialect, RATE_LIMITS: 'off' });
  });
  afterAll(async () => {
    closeClients();
    await t.close();
  });

  it(`delivers ${COUNT} messages exactly once and in order to every client`, async () => {
    const sender = await signedIn(t);
    const receivers = await Promise.all([signedIn(t), signedIn(t), signedIn(t)]);
    const room = await sender.chat.createRoom({ name: uniqueName('exactly-once'), kind: 'public' });
    for (const r of receivers) await r.chat.joinRoom(room.id);
    const everyone = [sender, ...receivers];
    const received = everyone.map((c) => messagesOf(c, room.id));
    const cutUsers = [sender.user!.id, receivers[0]!.user!.id];

    // Cuts are triggered by progress (not by the clock) and land a moment later, while the next
    // message is in flight: some acks are lost after the message was stored.
    const cuts: string[] = [];
    const cut = () => {
      const kind = cuts.length % 2 === 0 ? 'disconnectSockets' : 'transport close';
      cuts.push(kind);
      if (kind === 'disconnectSockets') t.server.realtime.io.of('/chat').disconnectSockets();
      else for (const id of cutUsers) for (const s of serverSockets(t, '/chat', id)) s.conn.close();
    };
    let acknowledged = 0;
    let retried = 0;
    const states: string[] = [];
    sender.on('state', (s) => states.push(s));
    sender.chat.on('outbox', (entry) => {
      if (entry.status !== 'sent') return;
      if (entry.attempts > 1) retried++;
      if (++acknowledged % 30 === 15) setTimeout(cut, 1);
    });

    const texts = range(1, COUNT).map((i) => `message ${i}`);
    const stored = await Promise.all(texts.map((text) => sender.chat.send(room.id, text)));

    expect(cuts.length).toBeGreaterThanOrEqual(6);
    expect(retried).toBeGreaterThan(0); // cuts hit sends in flight
    expect(states.filter((s) => s === 'reconnecting').length).toBeGreaterThanOrEqual(cuts.length);
    expect(seqs(stored)).toEqual(range(1, COUNT));
    expect(stored.map((m) => m.text)).toEqual(texts);
    expect(sender.chat.outbox).toEqual([]);

    await eventually(() => received.every((list) => list.length >= COUNT), 20_000, 'every client to hold every message');
    // One more round for everyone: whatever is still in flight must not add anything.
    await Promise.all(everyone.map((c) => c.ready()));
    const dropped = everyone.map((c) => new Promise<void>((resolve) => c.on('state', (s) => s === 'reconnecting' && resolve())));
    t.server.realtime.io.of('/chat').disconnectSockets();
    await Promise.all(dropped);
    await Promise.all(everyone.map((c) => c.ready()));
    await Promise.all(everyone.map((c) => c.chat.resync()));

    for (const list of received) {
      expect(seqs(list)).toEqual(range(1, COUNT));
      expect(list.map((m) => m.text)).toEqual(texts);
      expect(new Set(list.map((m) => m.id)).size).toBe(COUNT);
    }

    const history = await receivers[1]!.chat.history(room.id, { afterSeq: 0, limit: 200 });
    expect(history.hasMore).toBe(false);
    expect(seqs(history.messages)).toEqual(range(1, COUNT));
    expect(new Set(history.messages.map((m) => m.clientMsgId)).size).toBe(COUNT);
    expect(history.messages.map((m) => m.clientMsgId)).toEqual(stored.map((m) => m.clientMsgId));
  });
  it('resumes a later run from syncState(): pages through 250 missed messages and the edits meanwhile', async () => {
    const sender = await signedIn(t);
    const first = await signedIn(t);
    const room = await sender.chat.createRoom({ name: uniqueName('resume'), kind: 'public' });
    await first.chat.joinRoom(room.id);
    const early = await sender.chat.send(room.id, 'early');
    await eventually(() => first.chat.syncState().cursors[room.id] === 1);
    await first.chat.resync();
    const saved = first.chat.syncState();
    // The general room, which every account is in, has its own cursor beside it.
    expect(saved).toMatchObject({ cursors: { [room.id]: 1 }, updatedSince: expect.any(Number) });
    const session = first.session!;
    first.close();

    const texts = range(2, 251).map((i) => `missed ${i}`);
    await Promise.all(texts.map((text) => sender.chat.send(room.id, text)));
    await sender.chat.edit(early.id, 'early (edited)');

    const later = client({ url: t.url, session, resumeFrom: saved });
    const got = messagesOf(later, room.id);
    const updates: Message[] = [];
    later.chat.on('messageUpdated', (m) => updates.push(m));
    await later.ready();
    expect(seqs(got)).toEqual(range(2, 251));
    expect(got.map((m) => m.text)).toEqual(texts);
    expect(updates.map((m) => [m.id, m.text])).toEqual([[early.id, 'early (edited)']]);
    expect(later.chat.syncState().cursors[room.id]).toBe(251);
  });

  it('pages through more edits than one sync answer holds (updatedAfter)', async () => {
    const sender = await signedIn(t);
    const reader = await signedIn(t);
    const room = await sender.chat.createRoom({ name: uniqueName('edits'), kind: 'public' });
    await reader.chat.joinRoom(room.id);
    const sent = await Promise.all(range(1, 230).map((i) => sender.chat.send(room.id, `original ${i}`)));
    await eventually(() => reader.chat.syncState().cursors[room.id] === 230);
    await reader.chat.resync();
    const saved = reader.chat.syncState();
    const session = reader.session!;
    reader.close();

    await Promise.all(sent.map((m) => sender.chat.edit(m.id, `${m.text} (edited)`)));
    const later = client({ url: t.url, session, resumeFrom: saved });
    const latest = new Map<string, string>();
    later.chat.on('messageUpdated', (m) => latest.set(m.id, m.text));
    await later.ready();
    expect(latest.size).toBe(230);
    for (const m of sent) expect(latest.get(m.id)).toBe(`${m.text} (edited)`);
  });
});
