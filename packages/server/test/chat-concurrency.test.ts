/**
 * Ordering under concurrency (PROTOCOL §4.1 "Ordering and delivery"): many clients sending into
 * one room at once get seqs exactly 1..N, no gap and no duplicate, and retried client ids store
 * nothing new — on SQLite and on PostgreSQL, where the sends really run in parallel.
 */
import type { Socket } from 'socket.io-client';
import type { Message, Room, SyncRoomResult } from '@switchboard/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeSockets, collect, connect, dialects, ok, register, request, startServer, uniqueName, type TestServer } from './helpers.js';

const CLIENTS = 20;
const PER_CLIENT = 11; // 220 messages: more than one 200-message page

describe.each(dialects)('/chat concurrent sends on %s', (dialect) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ dialect });
  });
  afterAll(() => t.close());
  afterEach(closeSockets);

  it(`gives ${CLIENTS} concurrent senders seqs exactly 1..N; retries create nothing`, async () => {
    const sessions = await Promise.all(Array.from({ length: CLIENTS }, () => register(t.url)));
    const sockets: Socket[] = await Promise.all(sessions.map((s) => connect(t.url, '/chat', s.accessToken)));
    const [owner, ...others] = sockets;
    if (!owner) throw new Error('no clients');
    const { room } = await ok<{ room: Room }>(owner, 'room:create', {
      name: uniqueName('Busy'),
      kind: 'public',
      memberIds: sessions.slice(1).map((s) => s.user.id),
    });
    await Promise.all(others.map((s) => ok(s, 'room:list', {})));
    const delivered = collect<Message>(owner, 'message:new');

    const sends = sockets.flatMap((socket, c) =>
      Array.from({ length: PER_CLIENT }, (_, i) =>
        ok<{ message: Message }>(socket, 'message:send', { roomId: room.id, clientMsgId: `c${c}-m${i}`, text: `client ${c} message ${i}` }),
      ),
    );
    const acks = (await Promise.all(sends)).map((a) => a.message);
    const total = CLIENTS * PER_CLIENT;
    expect(acks.map((m) => m.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(new Set(acks.map((m) => m.id)).size).toBe(total);

    // Each client's own messages carry increasing seqs in the order it sent them.
    for (let c = 0; c < CLIENTS; c++) {
      const mine = acks.slice(c * PER_CLIENT, (c + 1) * PER_CLIENT).map((m) => m.seq);
      expect(mine).toEqual([...mine].sort((x, y) => x - y));
    }

    // Every client retries two of its messages, twice at once: the stored messages come back.
    const retries = sockets.flatMap((socket, c) =>
      [0, 0, PER_CLIENT - 1, PER_CLIENT - 1].map((i) =>
        ok<{ message: Message }>(socket, 'message:send', { roomId: room.id, clientMsgId: `c${c}-m${i}`, text: 'retry' }).then(
          (r) => [r.message, acks[c * PER_CLIENT + i]] as const,
        ),
      ),
    );
    for (const [again, original] of await Promise.all(retries)) expect(again).toEqual(original);

    // A brand-new client id sent at once from two sockets of one user is stored once: both
    // answers name the same message. (The racing-transaction path below the service is covered
    // by store.test.ts, which appends without the service's per-room queue.)
    const ownerAgain = await connect(t.url, '/chat', sessions[0]?.accessToken ?? '');
    await ok(ownerAgain, 'room:list', {});
    const TWINS = 5;
    for (let i = 0; i < TWINS; i++) {
      const [x, y] = await Promise.all(
        [owner, ownerAgain].map((s) => request<{ message: Message }>(s, 'message:send', { roomId: room.id, clientMsgId: `twin-${i}`, text: 'twin' })),
      );
      if (!x?.ok || !y?.ok) throw new Error(`twin send failed: ${JSON.stringify([x, y])}`);
      expect(x.message).toEqual(y.message);
      expect(x.message.seq).toBe(total + i + 1);
    }

    // The stored room: exactly 1..N+1, read back in pages; history clamps its limit to 200.
    const firstPage = await ok<{ messages: Message[]; hasMore: boolean }>(owner, 'message:history', {
      roomId: room.id,
      afterSeq: 0,
      limit: 1000,
    });
    expect(firstPage.messages).toHaveLength(200);
    expect(firstPage.hasMore).toBe(true);
    const rest = await ok<{ messages: Message[]; hasMore: boolean }>(owner, 'message:history', { roomId: room.id, afterSeq: 200, limit: 200 });
    expect(rest.hasMore).toBe(false);
    const stored = [...firstPage.messages, ...rest.messages].map((m) => m.seq);
    expect(stored).toEqual(Array.from({ length: total + TWINS }, (_, i) => i + 1));

    // sync pages the same way: 200 per room, hasMore, then the rest.
    const sync = await ok<{ rooms: SyncRoomResult[] }>(owner, 'sync', { rooms: { [room.id]: 0 } });
    const synced = sync.rooms[0];
    if (!synced || 'error' in synced) throw new Error('sync failed');
    expect(synced.messages.map((m) => m.seq)).toEqual(stored.slice(0, 200));
    expect(synced.hasMore).toBe(true);

    // Live delivery to one member: every message once, in seq order.
    const before = Date.now();
    while (delivered.length < total + TWINS && Date.now() - before < 5000) await new Promise((r) => setTimeout(r, 20));
    expect(delivered.map((m) => m.seq)).toEqual(stored);
  });
});
