/**
 * `/chat` messages (PROTOCOL §4.1): send (idempotent per client id), edit, delete, history pages
 * and `sync`, with their error paths and the rate limit on `message:send`, on SQLite and PostgreSQL.
 */
import type { Socket } from 'socket.io-client';
import type { Message, Room, RoomWithReadState, Session, SyncRoomResult } from '@switchboard/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mentionedUsernames, SYNC_LOOKBACK_MS } from '../src/domain/messages.js';
import {
  type ChatUser,
  chatUser as newChatUser,
  closeSockets,
  collect,
  dialects,
  next,
  ok,
  register,
  request,
  startServer,
  type TestServer,
  uniqueName,
} from './helpers.js';


describe('mentions', () => {
  it('finds @usernames, also before punctuation, and not inside e-mail addresses', () => {
    expect(mentionedUsernames('hi @Ann and @bob.smith, see mail@example.com')).toEqual(['ann', 'bob.smith']);
    expect(mentionedUsernames('thanks @carol.')).toEqual(['carol.', 'carol']);
    expect(mentionedUsernames('@al is too short, @' + 'x'.repeat(40))).toEqual(['x'.repeat(32)]);
  });
});

describe.each(dialects)('/chat messages on %s', (dialect) => {
  let t: TestServer;
  let admin: Session;
  beforeAll(async () => {
    t = await startServer({ dialect });
    admin = await register(t.url); // the first account of a fresh database is the admin
  });
  afterAll(() => t.close());
  afterEach(closeSockets);

  const chatUser = (session?: Session): Promise<ChatUser> => newChatUser(t.url, session);

  const createRoom = async (u: ChatUser, memberIds: string[] = [], kind = 'public') =>
    (await ok<{ room: Room }>(u.socket, 'room:create', { name: uniqueName('Room'), kind, memberIds })).room;

  const send = async (u: ChatUser, roomId: string, text = 'hello', clientMsgId = uniqueName('c')) =>
    (await ok<{ message: Message }>(u.socket, 'message:send', { roomId, clientMsgId, text })).message;

  const codeOf = async (socket: Socket, event: string, payload: unknown) => {
    const res = await request(socket, event, payload);
    return res.ok ? 'ok' : res.error.code;
  };

  const history = (u: ChatUser, payload: Record<string, unknown>) =>
    ok<{ messages: Message[]; hasMore: boolean }>(u.socket, 'message:history', payload);

  it('sends: the ack carries the stored message; every subscribed socket, the sender’s own included, gets message:new', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const aOther = await chatUser(a.session);
    const room = await createRoom(a, [b.id]);
    const toA = next<Message>(a.socket, 'message:new');
    const toAOther = next<Message>(aOther.socket, 'message:new');
    const toB = next<Message>(b.socket, 'message:new');
    const message = await send(a, room.id, 'hello 👋', 'client-1');
    expect(message).toEqual({
      id: expect.any(String),
      roomId: room.id,
      seq: 1,
      senderId: a.id,
      senderName: a.session.user.displayName,
      text: 'hello 👋',
      attachments: [],
      clientMsgId: 'client-1',
      createdAt: expect.any(Number),
      editedAt: null,
      deleted: false,
      threadId: null,
      replyCount: 0,
      lastReplyAt: null,
      reactions: [],
    });
    expect(await toA).toEqual(message);
    expect(await toAOther).toEqual(message);
    expect(await toB).toEqual(message);
    expect((await send(b, room.id, 'second')).seq).toBe(2);
  });

  it('returns the first message for a repeated clientMsgId and stores nothing new', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const room = await createRoom(a, [b.id]);
    const firstDelivered = next<Message>(b.socket, 'message:new');
    const first = await send(a, room.id, 'once', 'retry-me');
    await firstDelivered;
    const seen = collect<Message>(b.socket, 'message:new');
    const again = await send(a, room.id, 'a different text', 'retry-me');
    expect(again).toEqual(first);
    // Another sender may use the same client id: it is theirs.
    const theirsDelivered = next<Message>(b.socket, 'message:new');
    const theirs = await send(b, room.id, 'mine', 'retry-me');
    expect(theirs.seq).toBe(2);
    await theirsDelivered;
    // Delivery is in order per socket: had the retry been announced, it would have come first.
    expect(seen.map((m) => m.id)).toEqual([theirs.id]);
    const page = await history(a, { roomId: room.id });
    expect(page.messages.map((m) => m.seq)).toEqual([1, 2]);
  });

  it('moves the sender’s read mark with each message; others see it as unread', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const room = await createRoom(a, [b.id]);
    await send(a, room.id);
    await send(a, room.id);
    const mine = (await ok<{ rooms: RoomWithReadState[] }>(a.socket, 'room:list', {})).rooms.find((r) => r.id === room.id);
    const theirs = (await ok<{ rooms: RoomWithReadState[] }>(b.socket, 'room:list', {})).rooms.find((r) => r.id === room.id);
    expect(mine).toMatchObject({ lastSeq: 2, lastReadSeq: 2, unread: 0 });
    expect(theirs).toMatchObject({ lastSeq: 2, lastReadSeq: 0, unread: 2 });
  });

  it('refuses to send to rooms the sender is not in, unknown rooms, and attachments that do not exist', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const priv = await createRoom(a, [], 'private');
    const pub = await createRoom(a);
    const payload = (roomId: string) => ({ roomId, clientMsgId: uniqueName('c'), text: 'hi' });
    expect(await codeOf(b.socket, 'message:send', payload(priv.id))).toBe('FORBIDDEN');
    expect(await codeOf(b.socket, 'message:send', payload(pub.id))).toBe('FORBIDDEN');
    expect(await codeOf(b.socket, 'message:send', payload('no-such-room'))).toBe('NOT_FOUND');
    expect(await codeOf(a.socket, 'message:send', { ...payload(pub.id), attachmentIds: ['no-such-file'] })).toBe('NOT_FOUND');
    expect((await history(a, { roomId: pub.id })).messages).toEqual([]);
  });

  it.each([
    ['blank text', { text: '  \n ' }],
    ['4001 code points', { text: '😀'.repeat(4001) }],
    ['a number as text', { text: 42 }],
    ['no clientMsgId', { clientMsgId: undefined }],
    ['a clientMsgId with spaces', { clientMsgId: 'not url safe' }],
    ['a bad room id', { roomId: '../etc' }],
    ['attachmentIds not an array', { attachmentIds: 'file' }],
  ])('refuses a message with %s as INVALID_ARGUMENT', async (_what, override) => {
    const a = await chatUser();
    const room = await createRoom(a);
    const res = await request(a.socket, 'message:send', { roomId: room.id, clientMsgId: uniqueName('c'), text: 'ok', ...override });
    expect(res).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT', message: expect.any(String) } });
    expect((await history(a, { roomId: room.id })).messages).toEqual([]);
  });

  it('accepts exactly 4000 code points (astral characters count once)', async () => {
    const a = await chatUser();
    const room = await createRoom(a);
    const text = '😀'.repeat(4000);
    expect((await send(a, room.id, text)).text).toBe(text);
  });

  it('edits: sender only, message:updated with editedAt; unknown NOT_FOUND; outsiders FORBIDDEN', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const outsider = await chatUser();
    const room = await createRoom(a, [b.id]);
    const message = await send(a, room.id, 'typo');
    const updated = next<Message>(b.socket, 'message:updated');
    const edited = (await ok<{ message: Message }>(a.socket, 'message:edit', { messageId: message.id, text: 'fixed' })).message;
    expect(edited).toEqual({ ...message, text: 'fixed', editedAt: expect.any(Number) });
    expect(edited.editedAt).toBeGreaterThanOrEqual(message.createdAt);
    expect(await updated).toEqual(edited);

    expect(await codeOf(b.socket, 'message:edit', { messageId: message.id, text: 'mine now' })).toBe('FORBIDDEN');
    expect(await codeOf(outsider.socket, 'message:edit', { messageId: message.id, text: 'x' })).toBe('FORBIDDEN');
    expect(await codeOf(a.socket, 'message:edit', { messageId: 'no-such-message', text: 'x' })).toBe('NOT_FOUND');
    expect(await codeOf(a.socket, 'message:edit', { messageId: message.id, text: ' ' })).toBe('INVALID_ARGUMENT');
    expect((await history(b, { roomId: room.id })).messages[0]?.text).toBe('fixed');
  });

  it('deletes: sender or admin, idempotent, message:updated once; a deleted message cannot be edited', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const boss = await chatUser(admin);
    const room = await createRoom(a, [b.id, boss.id]);
    const first = await send(a, room.id, 'regrettable');
    const second = await send(a, room.id, 'also regrettable');

    expect(await codeOf(b.socket, 'message:delete', { messageId: first.id })).toBe('FORBIDDEN');
    const updates = collect<Message>(b.socket, 'message:updated');
    const updated = next<Message>(b.socket, 'message:updated');
    expect(await ok(a.socket, 'message:delete', { messageId: first.id })).toEqual({ ok: true });
    expect(await updated).toEqual({ ...first, text: '', attachments: [], deleted: true });
    expect(await ok(a.socket, 'message:delete', { messageId: first.id })).toEqual({ ok: true });
    expect(await codeOf(a.socket, 'message:edit', { messageId: first.id, text: 'back' })).toBe('CONFLICT');

    const byAdmin = next<Message>(b.socket, 'message:updated', (m) => m.id === second.id);
    expect(await ok(boss.socket, 'message:delete', { messageId: second.id })).toEqual({ ok: true });
    expect((await byAdmin).deleted).toBe(true);
    expect(updates.map((m) => m.id)).toEqual([first.id, second.id]);
    expect(await codeOf(a.socket, 'message:delete', { messageId: 'no-such-message' })).toBe('NOT_FOUND');
    const outsider = await chatUser();
    expect(await codeOf(outsider.socket, 'message:delete', { messageId: second.id })).toBe('FORBIDDEN');
    const page = await history(a, { roomId: room.id });
    expect(page.messages.map((m) => [m.seq, m.text, m.deleted])).toEqual([
      [1, '', true],
      [2, '', true],
    ]);
  });

  it('pages history in ascending seq with beforeSeq / afterSeq and hasMore in the direction read', async () => {
    const a = await chatUser();
    const room = await createRoom(a);
    for (let i = 1; i <= 7; i++) await send(a, room.id, `m${i}`);
    const seqs = (page: { messages: Message[] }) => page.messages.map((m) => m.seq);

    const latest = await history(a, { roomId: room.id, limit: 3 });
    expect([seqs(latest), latest.hasMore]).toEqual([[5, 6, 7], true]);
    const older = await history(a, { roomId: room.id, beforeSeq: 5, limit: 3 });
    expect([seqs(older), older.hasMore]).toEqual([[2, 3, 4], true]);
    const oldest = await history(a, { roomId: room.id, beforeSeq: 2, limit: 3 });
    expect([seqs(oldest), oldest.hasMore]).toEqual([[1], false]);
    const fromStart = await history(a, { roomId: room.id, afterSeq: 0, limit: 3 });
    expect([seqs(fromStart), fromStart.hasMore]).toEqual([[1, 2, 3], true]);
    const toEnd = await history(a, { roomId: room.id, afterSeq: 4, limit: 3 });
    expect([seqs(toEnd), toEnd.hasMore]).toEqual([[5, 6, 7], false]);
    const all = await history(a, { roomId: room.id });
    expect([seqs(all), all.hasMore]).toEqual([[1, 2, 3, 4, 5, 6, 7], false]);
    const clamped = await history(a, { roomId: room.id, limit: 10_000 });
    expect(seqs(clamped)).toHaveLength(7);

    expect(await codeOf(a.socket, 'message:history', { roomId: room.id, beforeSeq: 3, afterSeq: 1 })).toBe('INVALID_ARGUMENT');
    expect(await codeOf(a.socket, 'message:history', { roomId: room.id, limit: 0 })).toBe('INVALID_ARGUMENT');
    expect(await codeOf(a.socket, 'message:history', { roomId: room.id, beforeSeq: -1 })).toBe('INVALID_ARGUMENT');
    expect(await codeOf(a.socket, 'message:history', { roomId: 'no-such-room' })).toBe('NOT_FOUND');
    const outsider = await chatUser();
    expect(await codeOf(outsider.socket, 'message:history', { roomId: room.id })).toBe('FORBIDDEN');
  });

  it('syncs: new messages per room, edits and deletes since updatedSince, and per-room errors', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const room = await createRoom(a, [b.id]);
    const quiet = await createRoom(a, [b.id]);
    const foreign = await createRoom(await chatUser(), [], 'private');
    const m1 = await send(a, room.id, 'one');
    const m2 = await send(a, room.id, 'two');
    await send(a, room.id, 'three');

    const first = await ok<{ serverTime: number; rooms: SyncRoomResult[] }>(b.socket, 'sync', { rooms: { [room.id]: 1 } });
    expect(first.serverTime).toEqual(expect.any(Number));
    expect(first.rooms).toEqual([
      { roomId: room.id, messages: [expect.objectContaining({ seq: 2 }), expect.objectContaining({ seq: 3 })], updated: [], hasMore: false, updatedHasMore: false },
    ]);

    await ok(a.socket, 'message:edit', { messageId: m1.id, text: 'one, edited' });
    await ok(a.socket, 'message:delete', { messageId: m2.id });
    const m4 = await send(a, room.id, 'four');
    const second = await ok<{ serverTime: number; rooms: SyncRoomResult[] }>(b.socket, 'sync', {
      rooms: { [room.id]: 3, [quiet.id]: 0, [foreign.id]: 0, 'no-such-room': 5 },
      updatedSince: first.serverTime,
    });
    expect(second.serverTime).toBeGreaterThanOrEqual(first.serverTime);
    const byRoom = new Map(second.rooms.map((r) => [r.roomId, r]));
    expect(byRoom.get(room.id)).toEqual({
      roomId: room.id,
      messages: [m4],
      updated: [
        expect.objectContaining({ id: m1.id, text: 'one, edited', editedAt: expect.any(Number) }),
        expect.objectContaining({ id: m2.id, text: '', deleted: true }),
      ],
      hasMore: false,
      updatedHasMore: false,
    });
    expect(byRoom.get(quiet.id)).toEqual({ roomId: quiet.id, messages: [], updated: [], hasMore: false, updatedHasMore: false });
    expect(byRoom.get(foreign.id)).toEqual({ roomId: foreign.id, error: { code: 'FORBIDDEN' } });
    expect(byRoom.get('no-such-room')).toEqual({ roomId: 'no-such-room', error: { code: 'NOT_FOUND' } });

    // Changes from shortly before updatedSince are reported again (SYNC_LOOKBACK_MS), so an edit that
    // committed after the previous sync's serverTime is never lost; older ones are not.
    const again = await ok<{ rooms: SyncRoomResult[] }>(b.socket, 'sync', { rooms: { [room.id]: 4 }, updatedSince: second.serverTime });
    expect(again.rooms[0]).toMatchObject({ messages: [], updated: [{ id: m1.id }, { id: m2.id }] });
    const third = await ok<{ rooms: SyncRoomResult[] }>(b.socket, 'sync', {
      rooms: { [room.id]: 4 },
      updatedSince: second.serverTime + SYNC_LOOKBACK_MS + 1,
    });
    expect(third.rooms).toEqual([{ roomId: room.id, messages: [], updated: [], hasMore: false, updatedHasMore: false }]);
    // A cursor continues after the change it names, whatever updatedSince says.
    const afterFirst = await ok<{ rooms: SyncRoomResult[] }>(b.socket, 'sync', {
      rooms: { [room.id]: 4 },
      updatedAfter: { [room.id]: `0.0` },
    });
    expect(afterFirst.rooms[0]).toMatchObject({ updated: [{ id: m1.id }, { id: m2.id }], updatedHasMore: false });
    expect(await codeOf(b.socket, 'sync', { rooms: { [room.id]: 4 }, updatedAfter: { [room.id]: 'not a cursor' } })).toBe('INVALID_ARGUMENT');

    expect(await codeOf(b.socket, 'sync', { rooms: { [room.id]: -1 } })).toBe('INVALID_ARGUMENT');
    expect(await codeOf(b.socket, 'sync', { rooms: [] })).toBe('INVALID_ARGUMENT');
    expect(await codeOf(b.socket, 'sync', {})).toBe('INVALID_ARGUMENT');
  });

  it('limits a message:send flood: RATE_LIMITED with retryAfterMs, and nothing past the budget is stored', async () => {
    const a = await chatUser();
    const room = await createRoom(a);
    const answers = await Promise.all(
      Array.from({ length: 45 }, (_, i) => request(a.socket, 'message:send', { roomId: room.id, clientMsgId: `flood-${i}`, text: `m${i}` })),
    );
    const accepted = answers.filter((r) => r.ok);
    const refused = answers.filter((r) => !r.ok);
    expect(accepted.length).toBeGreaterThanOrEqual(30);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED', retryAfterMs: expect.any(Number) } });
      if (!r.ok) expect(r.error.retryAfterMs).toBeGreaterThan(0);
    }
    const page = await history(a, { roomId: room.id, limit: 200 });
    expect(page.messages).toHaveLength(accepted.length);
    expect(page.messages.map((m) => m.seq)).toEqual(accepted.map((_, i) => i + 1));
  });

  it('answers a failed message:send without an ack with an error event', async () => {
    const a = await chatUser();
    const error = next<{ code: string; message: string; event: string }>(a.socket, 'error');
    a.socket.emit('message:send', { roomId: 'no-such-room', clientMsgId: 'x', text: 'hi' });
    expect(await error).toEqual({ code: 'NOT_FOUND', message: expect.any(String), event: 'message:send' });
    const invalid = next<{ code: string; event: string }>(a.socket, 'error');
    a.socket.emit('message:send', { roomId: 'no-such-room', clientMsgId: 'x', text: '' });
    expect(await invalid).toMatchObject({ code: 'INVALID_ARGUMENT', event: 'message:send' });
  });

  it('answers a rate-limited request without an ack with an error event carrying retryAfterMs', async () => {
    const a = await chatUser();
    const room = await createRoom(a);
    const limited = next<{ code: string; event: string; retryAfterMs: number }>(a.socket, 'error', (e) => e.code === 'RATE_LIMITED');
    for (let i = 0; i < 45; i++) a.socket.emit('message:send', { roomId: room.id, clientMsgId: `quiet-${i}`, text: `m${i}` });
    const error = await limited;
    expect(error).toMatchObject({ code: 'RATE_LIMITED', event: 'message:send' });
    expect(error.retryAfterMs).toBeGreaterThan(0);
  });
});
