/**
 * Threads and reactions on `/chat` (PROTOCOL §4.3), on SQLite and PostgreSQL, over real sockets:
 * replies are room messages that move their root's count, `thread:history` pages a thread,
 * `message:react` is idempotent and bounded, and `sync` brings a reconnecting client every change
 * that was announced with `message:updated` meanwhile.
 */
import { Limits, type Message, type Room, type SyncRoomResult } from '@switchboard/protocol';
import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChatUser,
  chatUser as newChatUser,
  closeSockets,
  collect,
  dialects,
  eventually,
  next,
  ok,
  request,
  startServer,
  type TestServer,
  uniqueName,
} from './helpers.js';
import { connectWs } from './plain-clients.js';

type Thread = { root: Message; messages: Message[]; hasMore: boolean };

describe.each(dialects)('threads and reactions on %s', (dialect) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ dialect, RATE_LIMITS: 'off' });
  });
  afterAll(() => t.close());
  afterEach(closeSockets);

  const chatUser = (): Promise<ChatUser> => newChatUser(t.url);

  const createRoom = async (u: ChatUser, memberIds: string[] = []) =>
    (await ok<{ room: Room }>(u.socket, 'room:create', { name: uniqueName('Thread room'), kind: 'public', memberIds })).room;

  const send = async (u: ChatUser, roomId: string, text: string, extra: Record<string, unknown> = {}) =>
    (await ok<{ message: Message }>(u.socket, 'message:send', { roomId, clientMsgId: uniqueName('c'), text, ...extra })).message;

  const codeOf = async (socket: Socket, event: string, payload: unknown) => {
    const res = await request(socket, event, payload);
    return res.ok ? 'ok' : res.error.code;
  };

  const thread = (u: ChatUser, payload: Record<string, unknown>) => ok<Thread>(u.socket, 'thread:history', payload);
  const react = (u: ChatUser, messageId: string, emoji: string, on = true) => ok(u.socket, 'message:react', { messageId, emoji, on });

  it('stores a reply as the room’s next message and announces its root with the new count', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const room = await createRoom(a, [b.id]);
    const root = await send(a, room.id, 'a question');
    expect(root).toMatchObject({ threadId: null, replyCount: 0, lastReplyAt: null, reactions: [] });

    const newToA = next<Message>(a.socket, 'message:new', (m) => m.threadId === root.id);
    const rootToA = next<Message>(a.socket, 'message:updated', (m) => m.id === root.id);
    const clientMsgId = uniqueName('reply');
    const { message: reply } = await ok<{ message: Message }>(b.socket, 'message:send', {
      roomId: room.id,
      clientMsgId,
      text: 'an answer',
      threadId: root.id,
    });
    expect(reply).toMatchObject({ roomId: room.id, seq: root.seq + 1, threadId: root.id, replyCount: 0 });
    expect(await newToA).toEqual(reply);
    expect(await rootToA).toEqual({ ...root, replyCount: 1, lastReplyAt: reply.createdAt });

    // A retry answers the stored reply and counts nothing twice.
    const again = await ok<{ message: Message }>(b.socket, 'message:send', { roomId: room.id, clientMsgId, text: 'an answer', threadId: root.id });
    expect(again.message).toEqual(reply);
    const { root: stored } = await thread(a, { messageId: root.id });
    expect(stored.replyCount).toBe(1);

    // The room's history holds the reply like any other message.
    const { messages } = await ok<{ messages: Message[] }>(a.socket, 'message:history', { roomId: room.id });
    expect(messages.map((m) => [m.seq, m.threadId])).toEqual([
      [root.seq, null],
      [reply.seq, root.id],
    ]);
  });

  it('counts replies sent at once from several sockets exactly, with gap-free seqs', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const room = await createRoom(a, [b.id]);
    const root = await send(a, room.id, 'busy thread');
    const replies = await Promise.all(
      Array.from({ length: 12 }, (_, i) => send(i % 2 === 0 ? a : b, room.id, `reply ${i}`, { threadId: root.id })),
    );
    expect(replies.map((r) => r.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 12 }, (_, i) => root.seq + 1 + i));
    const page = await thread(b, { messageId: root.id });
    expect(page.root.replyCount).toBe(12);
    expect(page.root.lastReplyAt).toBe(Math.max(...replies.map((r) => r.createdAt)));
    expect(page.messages.map((m) => m.seq)).toEqual(replies.map((r) => r.seq).sort((x, y) => x - y));
  });

  it('pages a thread ascending, keeps deleted replies listed and counted', async () => {
    const a = await chatUser();
    const room = await createRoom(a);
    const root = await send(a, room.id, 'root');
    const replies: Message[] = [];
    for (let i = 1; i <= 5; i++) {
      replies.push(await send(a, room.id, `reply ${i}`, { threadId: root.id }));
      await send(a, room.id, `room chatter ${i}`);
    }
    await ok(a.socket, 'message:delete', { messageId: replies[1]?.id });

    const first = await thread(a, { messageId: root.id, limit: 2 });
    expect(first.root).toMatchObject({ id: root.id, replyCount: 5, lastReplyAt: replies[4]?.createdAt });
    expect(first.messages.map((m) => m.text)).toEqual(['reply 1', '']);
    expect(first.messages[1]).toMatchObject({ deleted: true, threadId: root.id });
    expect(first.hasMore).toBe(true);
    const second = await thread(a, { messageId: root.id, afterSeq: first.messages.at(-1)?.seq, limit: 2 });
    expect(second.messages.map((m) => m.text)).toEqual(['reply 3', 'reply 4']);
    expect(second.hasMore).toBe(true);
    const last = await thread(a, { messageId: root.id, afterSeq: second.messages.at(-1)?.seq, limit: 2 });
    expect(last.messages.map((m) => m.text)).toEqual(['reply 5']);
    expect(last.hasMore).toBe(false);
    // A root without replies is a thread of its own root only.
    const lonely = await send(a, room.id, 'lonely');
    expect(await thread(a, { messageId: lonely.id })).toEqual({ ok: true, root: lonely, messages: [], hasMore: false });
  });

  it('refuses replies to a reply, to another room’s message or to nothing, and thread:history of a reply', async () => {
    const [a, outsider] = [await chatUser(), await chatUser()];
    const [room, other] = [await createRoom(a), await createRoom(a)];
    const root = await send(a, room.id, 'root');
    const reply = await send(a, room.id, 'reply', { threadId: root.id });
    const elsewhere = await send(a, other.id, 'other room');
    const sendCode = (threadId: string) => codeOf(a.socket, 'message:send', { roomId: room.id, clientMsgId: uniqueName('c'), text: 'x', threadId });
    expect(await sendCode(reply.id)).toBe('INVALID_ARGUMENT');
    expect(await sendCode(elsewhere.id)).toBe('INVALID_ARGUMENT');
    expect(await sendCode('no-such-message')).toBe('INVALID_ARGUMENT');
    expect(await sendCode('not an id!')).toBe('INVALID_ARGUMENT');
    expect(await codeOf(a.socket, 'thread:history', { messageId: reply.id })).toBe('INVALID_ARGUMENT');
    expect(await codeOf(a.socket, 'thread:history', { messageId: 'no-such-message' })).toBe('NOT_FOUND');
    expect(await codeOf(a.socket, 'thread:history', { messageId: root.id, limit: 0 })).toBe('INVALID_ARGUMENT');
    // Nothing was stored by the refusals: the thread still has its one reply.
    expect((await thread(a, { messageId: root.id })).root.replyCount).toBe(1);

    // Members only: reading a thread, replying in it, reacting.
    expect(await codeOf(outsider.socket, 'thread:history', { messageId: root.id })).toBe('FORBIDDEN');
    expect(await codeOf(outsider.socket, 'message:send', { roomId: room.id, clientMsgId: uniqueName('c'), text: 'x', threadId: root.id })).toBe(
      'FORBIDDEN',
    );
    expect(await codeOf(outsider.socket, 'message:react', { messageId: root.id, emoji: '👍', on: true })).toBe('FORBIDDEN');
    expect((await thread(a, { messageId: root.id })).root.reactions).toEqual([]);
  });

  it('adds and removes reactions idempotently, announcing only changes', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const room = await createRoom(a, [b.id]);
    const message = await send(a, room.id, 'react to me');
    const updates = collect<Message>(b.socket, 'message:updated');

    await react(a, message.id, '👍');
    await react(a, message.id, '👍');
    await react(b, message.id, '👍');
    await react(b, message.id, ':tada:');
    // Typed without its presentation selector, ❤ is the same reaction as ❤️.
    await react(a, message.id, '❤');
    await react(b, message.id, '❤️');
    await react(a, message.id, '👍', false);
    await react(a, message.id, '👍', false);
    await eventually(() => updates.length >= 6, 5000, 'six updates');
    const expected = [
      { emoji: '👍', userIds: [b.id] },
      { emoji: ':tada:', userIds: [b.id] },
      { emoji: '❤️', userIds: [a.id, b.id] },
    ];
    // The last change's announcement carries the whole state; the repeats announced nothing.
    await eventually(() => updates.at(-1)?.reactions.length === 3, 5000, 'the last update');
    expect(updates.map((u) => u.reactions.map((r) => `${r.emoji}×${r.userIds.length}`).join(' '))).toEqual([
      '👍×1',
      '👍×2',
      '👍×2 :tada:×1',
      '👍×2 :tada:×1 ❤️×1',
      '👍×2 :tada:×1 ❤️×2',
      '👍×1 :tada:×1 ❤️×2',
    ]);
    expect(updates.at(-1)).toEqual({ ...message, reactions: expected });
    // The last one to take a reaction back removes the emoji.
    await react(b, message.id, ':tada:', false);
    const { messages } = await ok<{ messages: Message[] }>(a.socket, 'message:history', { roomId: room.id });
    expect(messages[0]?.reactions).toEqual([expected[0], expected[2]]);

    for (const emoji of ['', 'ab', '👍👍', '👍 ', ':Not_Lower:', '::', ':a b:', `:${'x'.repeat(70)}:`, 42]) {
      expect(await codeOf(a.socket, 'message:react', { messageId: message.id, emoji, on: true })).toBe('INVALID_ARGUMENT');
    }
    expect(await codeOf(a.socket, 'message:react', { messageId: message.id, emoji: '👍' })).toBe('INVALID_ARGUMENT');
    expect(await codeOf(a.socket, 'message:react', { messageId: 'no-such-message', emoji: '👍', on: true })).toBe('NOT_FOUND');
  });

  it(`refuses a ${Limits.reactionsPerMessageMax + 1}st distinct emoji and reactions to a deleted message (CONFLICT)`, async () => {
    const a = await chatUser();
    const room = await createRoom(a);
    const message = await send(a, room.id, 'popular');
    const emoji = Array.from({ length: Limits.reactionsPerMessageMax + 1 }, (_, i) => `:e${i}:`);
    for (const e of emoji.slice(0, -1)) await react(a, message.id, e);
    expect(await codeOf(a.socket, 'message:react', { messageId: message.id, emoji: emoji.at(-1), on: true })).toBe('CONFLICT');
    // Existing emoji still take more people, and taking one back frees a place.
    const b = await newChatUser(t.url);
    await ok(b.socket, 'room:join', { roomId: room.id });
    await react(b, message.id, ':e0:');
    await react(a, message.id, ':e1:', false);
    await react(a, message.id, emoji.at(-1) ?? '');
    const { root } = await thread(a, { messageId: message.id });
    expect(root.reactions).toHaveLength(Limits.reactionsPerMessageMax);
    expect(root.reactions[0]).toEqual({ emoji: ':e0:', userIds: [a.id, b.id] });

    await ok(a.socket, 'message:delete', { messageId: message.id });
    expect(await codeOf(a.socket, 'message:react', { messageId: message.id, emoji: '👍', on: true })).toBe('CONFLICT');
    expect(await codeOf(a.socket, 'message:react', { messageId: message.id, emoji: ':e0:', on: false })).toBe('CONFLICT');
  });

  it('takes replies from the HTTP publish API and the /ws gateway too, and tells /ws subscribers of the root’s change', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const room = await createRoom(a, [b.id]);
    const root = await send(a, room.id, 'root');
    const ws = await connectWs(t.url, b.session.accessToken);
    try {
      expect(await ws.request('subscribe', { roomId: room.id })).toMatchObject({ ok: true });
      const publish = (body: unknown) =>
        fetch(`${t.url}/api/rooms/${room.id}/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${a.session.accessToken}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const res = await publish({ text: 'over HTTP', threadId: root.id });
      expect(res.status).toBe(201);
      const { message: overHttp } = (await res.json()) as { message: Message };
      expect(overHttp).toMatchObject({ threadId: root.id, seq: root.seq + 1 });
      expect((await publish({ text: 'nested', threadId: overHttp.id })).status).toBe(400);

      const overWs = await ws.request('publish', { roomId: room.id, clientMsgId: uniqueName('w'), text: 'over /ws', threadId: root.id });
      expect(overWs).toMatchObject({ ok: true, message: { threadId: root.id, seq: root.seq + 2 } });
      await ws.waitFor((f) => f.type === 'event' && f.event === 'message:updated' && (f.data as Message).replyCount === 2);
      await react(a, root.id, '🚀');
      const reacted = await ws.waitFor((f) => f.type === 'event' && f.event === 'message:updated' && (f.data as Message).reactions.length === 1);
      expect((reacted.data as Message).reactions).toEqual([{ emoji: '🚀', userIds: [a.id] }]);
    } finally {
      ws.ws.close();
    }
  });

  it('brings a reconnecting client every reaction and reply count it missed through sync', async () => {
    const [a, b] = [await chatUser(), await chatUser()];
    const room = await createRoom(a, [b.id]);
    const root = await send(a, room.id, 'root');
    const liked = await send(a, room.id, 'liked');
    const unliked = await send(a, room.id, 'liked, then not');
    await react(b, unliked.id, '🎉');
    const before = await ok<{ serverTime: number }>(b.socket, 'sync', { rooms: { [room.id]: unliked.seq } });
    b.socket.disconnect();

    // While b is away: a reply (a new message, and a change to its root), a reaction, one taken back.
    const reply = await send(a, room.id, 'reply', { threadId: root.id });
    await react(a, liked.id, '👍');
    await react(a, unliked.id, '🎉');
    await react(a, unliked.id, '🎉', false);

    const back = await newChatUser(t.url, b.session);
    const answer = await ok<{ rooms: SyncRoomResult[] }>(back.socket, 'sync', {
      rooms: { [room.id]: unliked.seq },
      updatedSince: before.serverTime,
    });
    const result = answer.rooms[0];
    if (!result || 'error' in result) throw new Error('sync refused the room');
    expect(result.messages.map((m) => m.id)).toEqual([reply.id]);
    const updated = new Map(result.updated.map((m) => [m.id, m]));
    expect(updated.get(root.id)).toMatchObject({ replyCount: 1, lastReplyAt: reply.createdAt });
    expect(updated.get(liked.id)?.reactions).toEqual([{ emoji: '👍', userIds: [a.id] }]);
    expect(updated.get(unliked.id)?.reactions).toEqual([{ emoji: '🎉', userIds: [b.id] }]);

    // The paging cursor walks reaction changes as it walks edits.
    const paged = await ok<{ rooms: SyncRoomResult[] }>(back.socket, 'sync', {
      rooms: { [room.id]: unliked.seq },
      updatedAfter: { [room.id]: `${before.serverTime - 60_000}.` },
    });
    const page = paged.rooms[0];
    if (!page || 'error' in page) throw new Error('sync refused the room');
    expect(page.updated.map((m) => m.id).sort()).toEqual([root.id, liked.id, unliked.id].sort());
  });
});
