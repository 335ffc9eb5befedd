/**
 * `sync` answers are bounded as a whole, not only per room (Limits.syncAnswerMax): the rooms after
 * the budget is spent answer `hasMore` with no messages (or `updatedHasMore` with a cursor) and are
 * paged on. On the wire, and through the SDK, which pages on by itself until it holds everything.
 */
import { Limits, type Message, type SyncRoomResult } from '@switchboard/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, closeClients, messagesOf, range, seqs } from '../../client/test/support.js';
import { chatUser, closeSockets, dialects, ok, startServer, uniqueName, type ChatUser, type TestServer } from './helpers.js';

const ROOMS = 3;
const EACH = 300;

type Rooms = { rooms: SyncRoomResult[] };
const counts = (answer: Rooms) =>
  answer.rooms.map((r) => ('error' in r ? r.error.code : [r.messages.length, r.hasMore, r.updated.length, r.updatedHasMore]));

describe.each(dialects)('sync paging on %s', (dialect) => {
  let t: TestServer;
  let sender: ChatUser;
  let reader: ChatUser;
  const roomIds: string[] = [];
  const sent: Message[] = [];

  beforeAll(async () => {
    // 900 messages within the default 10/s would take 90 s; the rate limit has its own tests.
    t = await startServer({ dialect, RATE_LIMITS: 'off' });
    [sender, reader] = [await chatUser(t.url), await chatUser(t.url)];
    for (let r = 0; r < ROOMS; r++) {
      const { room } = await ok<{ room: { id: string } }>(sender.socket, 'room:create', {
        name: uniqueName('Paged'),
        kind: 'public',
        memberIds: [reader.id],
      });
      roomIds.push(room.id);
      for (let i = 0; i < EACH; i += 50) {
        const batch = await Promise.all(
          range(i + 1, i + 50).map((n) =>
            ok<{ message: Message }>(sender.socket, 'message:send', { roomId: room.id, clientMsgId: `${r}-${n}`, text: `room ${r} #${n}` }),
          ),
        );
        sent.push(...batch.map((b) => b.message));
      }
    }
  }, 60_000);

  afterAll(async () => {
    closeClients();
    closeSockets();
    await t.close();
  });

  it('spends one budget over all rooms, in request order, and pages on', async () => {
    const all = Object.fromEntries(roomIds.map((id) => [id, 0]));
    const first = await ok<Rooms & { serverTime: number }>(reader.socket, 'sync', { rooms: all });
    expect(Limits.syncAnswerMax).toBe(500);
    // 200 + 200 + 100 = 500: the third room gets what is left.
    expect(counts(first)).toEqual([
      [200, true, 0, false],
      [200, true, 0, false],
      [100, true, 0, false],
    ]);
    const [a, b, c] = roomIds as [string, string, string];
    const second = await ok<Rooms>(reader.socket, 'sync', { rooms: { [a]: 200, [b]: 200, [c]: 100 } });
    // 100 + 100 left in the first two rooms, then 200 of the third's 200.
    expect(counts(second)).toEqual([
      [100, false, 0, false],
      [100, false, 0, false],
      [200, false, 0, false],
    ]);

    // Changes share the budget: with every message edited, the new messages of the first room take
    // their share first, and the rooms after the budget get a cursor to go on from.
    const edited = sent.filter((m) => m.roomId !== a || m.seq <= 250);
    for (let i = 0; i < edited.length; i += 50) {
      await Promise.all(edited.slice(i, i + 50).map((m) => ok(sender.socket, 'message:edit', { messageId: m.id, text: `${m.text} (edited)` })));
    }
    const changes = await ok<Rooms>(reader.socket, 'sync', { rooms: { [a]: 250, [b]: EACH, [c]: EACH }, updatedSince: first.serverTime });
    // 50 new messages, then 200 + 200 changes, then the 50 left of the 500.
    expect(counts(changes)).toEqual([
      [50, false, 200, true],
      [0, false, 200, true],
      [0, false, 50, true],
    ]);
    const cursors = Object.fromEntries(
      changes.rooms.flatMap((r) => ('updatedCursor' in r && r.updatedCursor !== undefined ? [[r.roomId, r.updatedCursor]] : [])),
    );
    expect(Object.keys(cursors)).toEqual(roomIds);
    // New messages can take the whole budget: then every room's changes come with a cursor that
    // starts them from updatedSince, and asking with it brings them.
    const crowded = await ok<Rooms>(reader.socket, 'sync', { rooms: { [a]: 1, [b]: 1, [c]: 1 }, updatedSince: first.serverTime });
    expect(counts(crowded)).toEqual([
      [200, true, 0, true],
      [200, true, 0, true],
      [100, true, 0, true],
    ]);
    const fromStart = crowded.rooms.map((r) => ('updatedCursor' in r ? r.updatedCursor : undefined));
    const resumed = await ok<Rooms>(reader.socket, 'sync', { rooms: { [c]: EACH }, updatedAfter: { [c]: fromStart[2] } });
    expect(counts(resumed)).toEqual([[0, false, 200, true]]);

    const more = await ok<Rooms>(reader.socket, 'sync', { rooms: { [a]: EACH, [b]: EACH, [c]: EACH }, updatedAfter: cursors });
    // The rest of each room's changes, in request order: 50 + 100, then 200 of the third's 250.
    expect(counts(more)).toEqual([
      [0, false, 50, false],
      [0, false, 100, false],
      [0, false, 200, true],
    ]);
  });

  it('lets the SDK catch up on every room from nothing, in order, exactly once', async () => {
    const later = client({ url: t.url, session: reader.session, resumeFrom: { cursors: Object.fromEntries(roomIds.map((id) => [id, 0])) } });
    const got = roomIds.map((roomId) => messagesOf(later, roomId));
    await later.ready();
    for (const messages of got) expect(seqs(messages)).toEqual(range(1, EACH));
  });
});
