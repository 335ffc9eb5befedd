/**
 * Rooms that appear while the client runs (joined, invited to) are delivered from the `lastSeq`
 * they come with: what was said before is history, read with `history()`, not pulled through
 * `sync` (a public room can have a long past). A room that first shows itself by a live message
 * (created on another device) joins the room list too.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually, register, startServer, uniqueName, type TestServer } from '../../server/test/helpers.js';
import { client, closeClients, messagesOf, range, seqs, signedIn } from './support.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
});
afterAll(() => t.close());
afterEach(closeClients);

describe('SDK: rooms that appear later', () => {
  it('a joined room starts at its lastSeq; earlier messages stay history', async () => {
    const a = await signedIn(t);
    const b = await signedIn(t);
    const room = await a.chat.createRoom({ name: uniqueName('busy'), kind: 'public' });
    for (const i of range(1, 5)) await a.chat.send(room.id, `before ${i}`);

    const got = messagesOf(b, room.id);
    const joined = await b.chat.joinRoom(room.id);
    expect(joined.lastSeq).toBe(5);
    expect(b.chat.room(room.id)).toMatchObject({ lastSeq: 5, unread: 5, lastReadSeq: 0 });

    await a.chat.send(room.id, 'after');
    await eventually(() => got.length === 1);
    await b.chat.resync();
    expect(seqs(got)).toEqual([6]);
    expect(b.chat.room(room.id)).toMatchObject({ lastSeq: 6, unread: 6 });
    expect(seqs((await b.chat.history(room.id)).messages)).toEqual(range(1, 6));
  });

  it('a room created on another device is listed once its first message arrives', async () => {
    const username = uniqueName('twice');
    const password = 'tangerine-harbor-7';
    await register(t.url, username, password);
    const laptop = client({ url: t.url, username, password });
    const phone = client({ url: t.url, username, password });
    await Promise.all([laptop.ready(), phone.ready()]);
    const room = await laptop.chat.createRoom({ name: uniqueName('solo'), kind: 'public' });
    const got = messagesOf(phone, room.id);
    await laptop.chat.send(room.id, 'note to self');
    await eventually(() => phone.chat.room(room.id) !== undefined && got.length === 1);
    expect(phone.chat.room(room.id)).toMatchObject({ name: room.name, lastSeq: 1 });
    expect(got.map((m) => m.text)).toEqual(['note to self']);
  });

  it('a room one is invited to starts at the lastSeq of the invitation', async () => {
    const a = await signedIn(t);
    const b = await signedIn(t);
    const room = await a.chat.createRoom({ name: uniqueName('quiet'), kind: 'private' });
    await a.chat.send(room.id, 'before the invite');
    await a.chat.send(room.id, 'still before');

    const got = messagesOf(b, room.id);
    const added = new Promise<number>((resolve) => b.chat.on('roomAdded', (r) => r.id === room.id && resolve(r.lastSeq)));
    await a.chat.invite(room.id, b.user!.id);
    expect(await added).toBe(2);

    await a.chat.send(room.id, 'welcome');
    await eventually(() => got.length === 1);
    await b.chat.resync();
    expect(got.map((m) => [m.seq, m.text])).toEqual([[3, 'welcome']]);
  });
});
