/**
 * The SDK's threads and reactions against a real server: replies sent through the outbox with a
 * `threadId`, `thread()` pages, `react()`, and the root's counts and reactions arriving as
 * `messageUpdated` — live, and through `sync` after time away.
 */
import type { Message } from '@switchboard/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SwitchboardError } from '@switchboard/client';
import { dialects, eventually, startServer, uniqueName, type TestServer } from '../../server/test/helpers.js';
import { closeClients, messagesOf, serverSockets, signedIn } from './support.js';

describe.each(dialects)('SDK threads and reactions (%s)', (dialect) => {
  let t: TestServer;
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

  it('sends replies, pages the thread and hears the root’s count and reactions change', async () => {
    const { a, b, room } = await pair();
    const got = messagesOf(b, room.id);
    const updates: Message[] = [];
    b.chat.on('messageUpdated', (m) => updates.push(m));
    const root = await a.chat.send(room.id, 'root');
    const first = await b.chat.send(room.id, 'reply 1', { threadId: root.id });
    const second = await a.chat.send(room.id, 'reply 2', { threadId: root.id });
    expect([first.threadId, second.threadId]).toEqual([root.id, root.id]);
    await eventually(() => got.length === 3 && updates.filter((u) => u.id === root.id).length === 2, 5000, 'replies and root updates');
    expect(got.map((m) => m.threadId)).toEqual([null, root.id, root.id]);
    expect(updates.at(-1)).toMatchObject({ id: root.id, replyCount: 2, lastReplyAt: second.createdAt });

    const page = await b.chat.thread(root.id, { limit: 1 });
    expect(page.root.replyCount).toBe(2);
    expect(page.messages.map((m) => m.text)).toEqual(['reply 1']);
    expect(page.hasMore).toBe(true);
    const rest = await b.chat.thread(root.id, { afterSeq: first.seq });
    expect(rest.messages.map((m) => m.text)).toEqual(['reply 2']);
    expect(rest.hasMore).toBe(false);

    await a.chat.react(root.id, '🎉');
    await eventually(() => updates.at(-1)?.reactions.length === 1, 5000, 'the reaction');
    expect(updates.at(-1)?.reactions).toEqual([{ emoji: '🎉', userIds: [a.user!.id] }]);
    await a.chat.react(root.id, '🎉', false);
    await eventually(() => updates.at(-1)?.reactions.length === 0, 5000, 'the reaction taken back');

    // Refusals reject with the server's code, and the outbox keeps no failed reply to a reply.
    await expect(a.chat.react(root.id, 'not an emoji')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const refused = a.chat.send(room.id, 'nested', { threadId: first.id });
    await expect(refused).rejects.toBeInstanceOf(SwitchboardError);
    await expect(refused).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('after time away, delivers the missed reply and the root’s new count and reactions once', async () => {
    const { a, b, room } = await pair();
    const got = messagesOf(b, room.id);
    const updates: Message[] = [];
    b.chat.on('messageUpdated', (m) => updates.push(m));
    const root = await a.chat.send(room.id, 'root');
    await eventually(() => got.length === 1);

    blocked.add(b.user!.id);
    for (const s of serverSockets(t, '/chat', b.user!.id)) s.disconnect();
    await eventually(() => b.state === 'reconnecting');
    const reply = await a.chat.send(room.id, 'while away', { threadId: root.id });
    await a.chat.react(root.id, '👍');
    expect(got).toHaveLength(1);

    blocked.delete(b.user!.id);
    await b.ready();
    await eventually(() => got.length === 2 && updates.some((u) => u.reactions.length === 1), 5000, 'the catch-up');
    expect(got[1]).toMatchObject({ id: reply.id, threadId: root.id });
    const latest = updates.filter((u) => u.id === root.id).at(-1);
    expect(latest).toMatchObject({ replyCount: 1, lastReplyAt: reply.createdAt, reactions: [{ emoji: '👍', userIds: [a.user!.id] }] });
    // The same version is reported once, however often a sync's look-back repeats it.
    await b.chat.resync();
    expect(updates.filter((u) => u.id === root.id && u.reactions.length === 1)).toHaveLength(1);
  });
});
