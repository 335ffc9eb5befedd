/**
 * Group commit (domain/messages.ts, store/messages.ts), as a property: many senders in many rooms
 * send without waiting for acks, retry with the same client id, lose their connection and resend
 * what was not acknowledged, and some sends are refused by the database itself (a trigger that
 * the test installs aborts the insert of a "poison" text, failing the batch it lands in). Whatever
 * the schedule, on SQLite and PostgreSQL:
 * - every acknowledged message is stored exactly once, with the id and seq its ack carried;
 * - every room's seqs are 1..N without gaps;
 * - each sender's messages in a room are stored in the order they were first sent;
 * - (sends that mention someone take longer to check than plain ones, so order is not an accident;)
 * - a poison send is answered with an error and stored nowhere; its batch-mates are not failed with it.
 */
import type { Message, Result } from '@switchboard/protocol';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import { chatUser, closeSockets, connect, dialects, ok, startServer, uniqueName, type ChatUser, type TestServer } from './helpers.js';

const POISON = 'poison: the database refuses this text';
const USERS = 5;
const ROOMS = 3;

interface Send {
  user: number;
  room: number;
  /** Sent twice at once with the same client id. */
  retry: boolean;
  poison: boolean;
  /** Mentions someone: its checks take a database read that a plain send skips, so it is slower to queue. */
  mention: boolean;
  /** The sender's connection drops right after this send goes out. */
  dropAfter: boolean;
}

const sendArb: fc.Arbitrary<Send> = fc.record({
  user: fc.nat(USERS - 1),
  room: fc.nat(ROOMS - 1),
  retry: fc.boolean(),
  poison: fc.boolean().chain((p) => (p ? fc.constantFrom(true, false, false, false) : fc.constant(false))),
  mention: fc.boolean(),
  dropAfter: fc.constantFrom(true, false, false, false, false, false, false, false),
});

type Ack = Result<{ message: Message }>;

describe.each(dialects)('group commit on %s', (dialect) => {
  let t: TestServer;
  let users: ChatUser[];
  let roomIds: string[];

  beforeAll(async () => {
    // One client sends far faster than a user's message budget; rate limits have their own tests.
    t = await startServer({ dialect, RATE_LIMITS: 'off' });
    const { db } = t.server.database;
    if (dialect === 'sqlite') {
      await sql`create trigger poison before insert on messages when new.text = ${sql.lit(POISON)}
        begin select raise(abort, 'poisoned'); end`.execute(db);
    } else {
      await sql`create function poison() returns trigger language plpgsql as $$
        begin if new.text = ${sql.lit(POISON)} then raise exception 'poisoned'; end if; return new; end $$`.execute(db);
      await sql`create trigger poison before insert on messages for each row execute function poison()`.execute(db);
    }
    users = await Promise.all(Array.from({ length: USERS }, () => chatUser(t.url)));
    roomIds = [];
    for (let r = 0; r < ROOMS; r++) {
      const { room } = await ok<{ room: { id: string } }>(users[0]!.socket, 'room:create', {
        name: uniqueName('Batch'),
        kind: 'public',
      });
      for (const u of users.slice(1)) await ok(u.socket, 'room:join', { roomId: room.id });
      roomIds.push(room.id);
    }
  });

  afterAll(async () => {
    closeSockets();
    await t.close();
  });

  /** Every message of a room, ascending, read straight from the database. */
  const stored = (roomId: string) =>
    t.server.database.db
      .selectFrom('messages')
      .select(['id', 'seq', 'sender_id', 'client_msg_id', 'text'])
      .where('room_id', '=', roomId)
      .orderBy('seq')
      .execute();

  it('stores every acknowledged message exactly once, gap-free, in each sender’s order', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(sendArb, { minLength: 1, maxLength: 40 }), async (sends) => {
        run++;
        const sockets: Socket[] = users.map((u) => u.socket);
        /** Per send: its client id, the acks it got, and whether it must be resent. */
        const state = sends.map((s, i) => ({
          ...s,
          clientMsgId: `r${run}-${i}`,
          text: s.poison ? POISON : `run ${run} message ${i}${s.mention ? ` for @${users[0]!.session.user.username}` : ''}`,
          acks: [] as Ack[],
        }));
        const inFlight: Promise<void>[] = [];
        const emit = (socket: Socket, item: (typeof state)[number]) =>
          inFlight.push(
            socket
              .timeout(10_000)
              .emitWithAck('message:send', { roomId: roomIds[item.room], text: item.text, clientMsgId: item.clientMsgId })
              .then(
                (ack: Ack) => void item.acks.push(ack),
                () => undefined, // the connection dropped before the answer: resent below
              ),
          );

        for (const item of state) {
          const socket = sockets[item.user]!;
          emit(socket, item);
          if (item.retry) emit(socket, item);
          if (item.dropAfter) {
            socket.disconnect();
            sockets[item.user] = await connect(t.url, '/chat', users[item.user]!.session.accessToken);
            // What the client has no answer for yet goes out again, in its original order.
            for (const earlier of state.slice(0, state.indexOf(item) + 1)) {
              if (earlier.user === item.user && earlier.acks.length === 0) emit(sockets[item.user]!, earlier);
            }
          }
        }
        await Promise.all(inFlight);
        // Sends whose every answer was lost with a connection get one more try, as the SDK's outbox does.
        for (const item of state) if (item.acks.length === 0) emit(sockets[item.user]!, item);
        await Promise.all(inFlight);
        users.forEach((u, i) => (u.socket = sockets[i]!));

        const rows = new Map<string, Awaited<ReturnType<typeof stored>>>();
        for (const roomId of roomIds) rows.set(roomId, await stored(roomId));
        for (const item of state) {
          const sender = users[item.user]!.id;
          const mine = rows.get(roomIds[item.room]!)!.filter((r) => r.sender_id === sender && r.client_msg_id === item.clientMsgId);
          if (item.poison) {
            expect(mine).toEqual([]);
            expect(item.acks.length).toBeGreaterThan(0);
            for (const ack of item.acks) expect(ack).toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
            continue;
          }
          expect(mine).toHaveLength(1);
          expect(item.acks.length).toBeGreaterThan(0);
          for (const ack of item.acks) {
            expect(ack.ok).toBe(true);
            if (ack.ok) expect({ id: ack.message.id, seq: ack.message.seq }).toEqual({ id: mine[0]!.id, seq: mine[0]!.seq });
          }
        }
        for (const roomId of roomIds) {
          const seqs = rows.get(roomId)!.map((r) => r.seq);
          expect(seqs).toEqual(seqs.map((_, i) => i + 1));
        }
        for (let u = 0; u < USERS; u++) {
          for (let r = 0; r < ROOMS; r++) {
            const sentOrder = state.filter((s) => s.user === u && s.room === r && !s.poison).map((s) => s.clientMsgId);
            const storedOrder = rows
              .get(roomIds[r]!)!
              .filter((row) => row.sender_id === users[u]!.id && row.client_msg_id.startsWith(`r${run}-`))
              .map((row) => row.client_msg_id);
            expect(storedOrder).toEqual(sentOrder);
          }
        }
      }),
      { numRuns: 12 },
    );
  }, 120_000);
});
