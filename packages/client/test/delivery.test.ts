/**
 * Delivery and the outbox against a real server: gap detection, catching up after time away
 * (new messages as `message`, edits as `messageUpdated`), outbox failure and retry, waiting out
 * RATE_LIMITED, unread counts, and notifications.
 */
import type { Message, Notification } from '@switchboard/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SwitchboardError, type OutboxEntry } from '@switchboard/client';
import { channel } from '../../server/src/realtime/types.js';
import { connect, dialects, eventually, request, startServer, uniqueName, type TestServer } from '../../server/test/helpers.js';
import { closeClients, messagesOf, range, seqs, serverSockets, signedIn } from './support.js';

describe.each(dialects)('SDK delivery (%s)', (dialect) => {
  let t: TestServer;
  /** Users whose `/chat` handshakes this server refuses for now (to keep them away for a while). */
  const blocked = new Set<string>();
  beforeAll(async () => {
    t = await startServer({ dialect });
    t.server.realtime.io.of('/chat').use((socket, next) => {
      next(blocked.has(socket.data.userId) ? new Error('UNAVAILABLE') : undefined);
    });
  });
  afterAll(() => t.close());
  afterEach(() => {
    blocked.clear();
    closeClients();
  });

  async function pair() {
    const a = await signedIn(t);
    const b = await signedIn(t);
    const room = await a.chat.createRoom({ name: uniqueName('room'), kind: 'public' });
    await b.chat.joinRoom(room.id);
    return { a, b, room };
  }

  it('fills a gap with sync and delivers in order', async () => {
    const { a, b, room } = await pair();
    const got = messagesOf(b, room.id);
    let syncs = 0;
    b.chat.on('synced', () => syncs++);
    await a.chat.send(room.id, 'one');
    await eventually(() => got.length === 1);

    // B stays connected but misses "two": its socket is briefly out of the room's channel.
    const [socket] = serverSockets(t, '/chat', b.user!.id);
    await socket!.leave(channel.room(room.id));
    await a.chat.send(room.id, 'two');
    await socket!.join(channel.room(room.id));
    expect(got).toHaveLength(1);

    await a.chat.send(room.id, 'three'); // seq 3 after 1: a gap
    await eventually(() => got.length === 3);
    expect(seqs(got)).toEqual([1, 2, 3]);
    expect(got.map((m) => m.text)).toEqual(['one', 'two', 'three']);
    expect(syncs).toBeGreaterThanOrEqual(1);
  });

  it('after time away, delivers what was missed and the edits made meanwhile', async () => {
    const { a, b, room } = await pair();
    const got = messagesOf(b, room.id);
    const updates: Message[] = [];
    b.chat.on('messageUpdated', (m) => updates.push(m));
    const first = await a.chat.send(room.id, 'before');
    const doomed = await a.chat.send(room.id, 'to be deleted');
    await eventually(() => got.length === 2);

    blocked.add(b.user!.id);
    for (const s of serverSockets(t, '/chat', b.user!.id)) s.disconnect();
    await eventually(() => b.state === 'reconnecting');

    await a.chat.send(room.id, 'while away 1');
    await a.chat.send(room.id, 'while away 2');
    await a.chat.edit(first.id, 'before (edited)');
    await a.chat.delete(doomed.id);
    expect(got).toHaveLength(2);

    blocked.delete(b.user!.id);
    await b.ready();
    await eventually(() => got.length === 4 && updates.length >= 2);
    expect(seqs(got)).toEqual([1, 2, 3, 4]);
    expect(got.slice(2).map((m) => m.text)).toEqual(['while away 1', 'while away 2']);
    const latest = new Map(updates.map((m) => [m.id, m]));
    expect(latest.get(first.id)).toMatchObject({ text: 'before (edited)', seq: 1 });
    expect(latest.get(first.id)?.editedAt).toEqual(expect.any(Number));
    expect(latest.get(doomed.id)).toMatchObject({ deleted: true, text: '', seq: 2 });
  });

  it('outbox: a send into a room one is not in fails with FORBIDDEN; retry works after joining', async () => {
    const a = await signedIn(t);
    const b = await signedIn(t);
    const room = await b.chat.createRoom({ name: uniqueName('closed'), kind: 'public' });
    const changes: OutboxEntry[] = [];
    a.chat.on('outbox', (entry) => changes.push(entry));

    const error = await a.chat.send(room.id, 'let me in').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(SwitchboardError);
    expect(error).toMatchObject({ code: 'FORBIDDEN', local: false });
    const [failed] = a.chat.outbox;
    expect(failed).toMatchObject({ roomId: room.id, text: 'let me in', status: 'failed', attempts: 1 });
    expect(failed!.error?.code).toBe('FORBIDDEN');

    await a.chat.joinRoom(room.id);
    const message = await a.chat.retry(failed!.clientMsgId);
    expect(message).toMatchObject({ roomId: room.id, seq: 1, text: 'let me in', clientMsgId: failed!.clientMsgId });
    expect(a.chat.outbox).toEqual([]);
    expect(changes.map((e) => e.status)).toEqual(['pending', 'failed', 'pending', 'sent']);
    expect(changes.at(-1)?.message).toEqual(message);

    // Invalid input is refused at once, without an outbox entry.
    await expect(a.chat.send(room.id, '   ')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(a.chat.send(room.id, 'x'.repeat(4001))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(a.chat.outbox).toEqual([]);
    await expect(a.chat.retry('no-such-entry')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('outbox: waits out RATE_LIMITED and keeps the order', async () => {
    const { a, b, room } = await pair();
    const got = messagesOf(b, room.id);
    let maxAttempts = 0;
    a.chat.on('outbox', (entry) => (maxAttempts = Math.max(maxAttempts, entry.attempts)));
    // Another socket of the same user floods (malformed sends count too) until the outbox has been
    // refused at least once, however fast or slow this machine sends.
    const raw = await connect(t.url, '/chat', a.session!.accessToken);
    let flooding = true;
    const flood = (async () => {
      while (flooding) {
        raw.emit('message:send', {});
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await eventually(async () => {
      const answer = await request(raw, 'message:send', {});
      return !answer.ok && answer.error.code === 'RATE_LIMITED';
    });
    const texts = range(1, 12).map((i) => `burst ${i}`);
    const sending = Promise.all(texts.map((text) => a.chat.send(room.id, text)));
    await eventually(() => maxAttempts > 1);
    flooding = false;
    await flood;
    raw.disconnect();
    const stored = await sending;
    expect(seqs(stored)).toEqual(range(1, 12));
    expect(stored.map((m) => m.text)).toEqual(texts);
    await eventually(() => got.length === 12);
    expect(got.map((m) => m.text)).toEqual(texts);
  });

  it('keeps unread counts: others’ messages count, reading clears them', async () => {
    const { a, b, room } = await pair();
    await b.chat.send(room.id, 'mine does not count');
    await a.chat.send(room.id, 'one');
    await a.chat.send(room.id, 'two');
    await eventually(() => b.chat.room(room.id)?.lastSeq === 3);
    expect(b.chat.room(room.id)).toMatchObject({ unread: 2, lastReadSeq: 1 });
    // The same as the server's count.
    const [listed] = (await b.chat.listRooms()).filter((r) => r.id === room.id);
    expect(listed).toMatchObject({ unread: 2, lastReadSeq: 1 });
    const events: number[] = [];
    b.chat.on('unread', (e) => events.push(e.unread));
    await b.chat.markRead(room.id, 3);
    expect(b.chat.room(room.id)).toMatchObject({ unread: 0, lastReadSeq: 3 });
    expect(events).toEqual([0]);
  });

  it('notifications: new ones arrive with the unread count; markRead("all") clears it', async () => {
    const { a, b, room } = await pair();
    const notes: Notification[] = [];
    b.notifications.on('notification', (n) => notes.push(n));
    const counts: number[] = [];
    b.notifications.on('unread', (n) => counts.push(n));
    await a.chat.send(room.id, `hello @${b.user!.username}`);
    await eventually(() => notes.length === 1 && b.notifications.unread === 1);
    expect(notes[0]!.kind).toBe('mention');
    const page = await b.notifications.list();
    expect(page.unread).toBe(1);
    expect(page.notifications.map((n) => n.id)).toEqual([notes[0]!.id]);
    expect(await b.notifications.markRead('all')).toBe(0);
    expect(b.notifications.unread).toBe(0);
    expect(counts.at(-1)).toBe(0);
    expect(counts).toContain(1);
  });
});
