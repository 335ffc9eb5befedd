/**
 * `/notifications` (PROTOCOL §4.2): mention, DM and invite notifications made from `/chat`
 * activity, pushed live and found again after an offline spell; list paging, read marks and
 * malformed requests, on SQLite and PostgreSQL.
 */
import { io, type Socket } from 'socket.io-client';
import { codePointLength, type Message, type Notification, type Room, type Session } from '@switchboard/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeSockets, connect, dialects, eventually, next, ok, register, request, startServer, uniqueName, type TestServer } from './helpers.js';

type ListAnswer = { notifications: Notification[]; unread: number; hasMore: boolean };

/** A `/notifications` socket whose listeners are in place before it connects, so the on-connect count is never missed. */
interface Inbox {
  socket: Socket;
  news: Notification[];
  counts: number[];
}

const inboxes = new Set<Socket>();

async function openInbox(url: string, token: string): Promise<Inbox> {
  const socket = io(`${url}/notifications`, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
  inboxes.add(socket);
  const inbox: Inbox = { socket, news: [], counts: [] };
  socket.on('notification:new', (n: Notification) => inbox.news.push(n));
  socket.on('notification:unread', ({ count }: { count: number }) => inbox.counts.push(count));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  // The on-connect count is the first thing the server says.
  await eventually(() => inbox.counts.length > 0, 5000, 'the unread count on connect');
  return inbox;
}

interface Person {
  session: Session;
  id: string;
  username: string;
  name: string;
  chat: Socket;
}

describe.each(dialects)('/notifications on %s', (dialect) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ dialect });
  });
  afterAll(() => t.close());
  afterEach(() => {
    closeSockets();
    for (const socket of inboxes) socket.disconnect();
    inboxes.clear();
  });

  async function person(): Promise<Person> {
    const session = await register(t.url, uniqueName('u'));
    const chat = await connect(t.url, '/chat', session.accessToken);
    return { session, id: session.user.id, username: session.user.username, name: session.user.displayName, chat };
  }

  const publicRoom = async (owner: Person, ...members: Person[]) => {
    const { room } = await ok<{ room: Room }>(owner.chat, 'room:create', { name: uniqueName('Room'), kind: 'public' });
    for (const m of members) await ok(m.chat, 'room:join', { roomId: room.id });
    return room;
  };

  const send = async (from: Person, roomId: string, text: string) =>
    (await ok<{ message: Message }>(from.chat, 'message:send', { roomId, clientMsgId: uniqueName('c'), text })).message;

  const list = (inbox: Inbox, payload: unknown = {}) => ok<ListAnswer>(inbox.socket, 'notification:list', payload);

  /** Waits until the user's stored unread count reaches `count`: for users with no socket open. */
  const storedUnread = (userId: string, count: number) =>
    eventually(async () => (await t.server.services.notifications.unreadCount(userId)) === count, 5000, `${count} unread`);

  it('sends a mention to the mentioned member, live, with a click-through; never to the sender or bystanders', async () => {
    const [alice, bob, carol] = [await person(), await person(), await person()];
    const room = await publicRoom(alice, bob, carol);
    const [aliceBox, bobBox, carolBox] = [await openInbox(t.url, alice.session.accessToken), await openInbox(t.url, bob.session.accessToken), await openInbox(t.url, carol.session.accessToken)];
    expect(bobBox.counts).toEqual([0]);

    const newN = next<Notification>(bobBox.socket, 'notification:new');
    const unread = next<{ count: number }>(bobBox.socket, 'notification:unread');
    const message = await send(alice, room.id, `hi @${bob.username}, and hi to me @${alice.username}`);
    const notification = await newN;
    expect(notification).toEqual({
      id: expect.any(String),
      kind: 'mention',
      title: `${alice.name} mentioned you in #${room.name}`,
      body: message.text,
      data: { roomId: room.id, messageId: message.id, seq: message.seq },
      createdAt: expect.any(Number),
      readAt: null,
    });
    expect((await unread).count).toBe(1);

    // All recipients of one message are stored together: by now the others would have theirs.
    for (const box of [aliceBox, carolBox]) {
      const answer = await list(box);
      expect(answer).toMatchObject({ notifications: [], unread: 0, hasMore: false });
      expect(box.news).toEqual([]);
    }
    expect(await list(bobBox)).toMatchObject({ notifications: [notification], unread: 1, hasMore: false });
  });

  it('pushes to every notifications socket of the user', async () => {
    const [alice, bob] = [await person(), await person()];
    const room = await publicRoom(alice, bob);
    const boxes = [await openInbox(t.url, bob.session.accessToken), await openInbox(t.url, bob.session.accessToken)];
    const arrivals = boxes.map((b) => next<Notification>(b.socket, 'notification:new'));
    await send(alice, room.id, `@${bob.username} look`);
    const [first, second] = await Promise.all(arrivals);
    expect(first?.id).toBeDefined();
    expect(second?.id).toBe(first?.id);
  });

  it('notifies a DM as "dm", once, even when the message also mentions the recipient', async () => {
    const [alice, bob] = [await person(), await person()];
    const [aliceBox, bobBox] = [await openInbox(t.url, alice.session.accessToken), await openInbox(t.url, bob.session.accessToken)];
    const { room } = await ok<{ room: Room }>(alice.chat, 'dm:open', { userId: bob.id });
    const newN = next<Notification>(bobBox.socket, 'notification:new');
    const message = await send(alice, room.id, `@${bob.username} are you there?`);
    const notification = await newN;
    expect(notification).toMatchObject({
      kind: 'dm',
      title: `${alice.name} sent you a message`,
      body: message.text,
      data: { roomId: room.id, messageId: message.id, seq: message.seq },
    });
    const bobList = await list(bobBox);
    expect(bobList.notifications.map((n) => n.kind)).toEqual(['dm']);
    expect(bobList.unread).toBe(1);
    expect((await list(aliceBox)).notifications).toEqual([]);

    // The reply notifies the other side the same way.
    const back = next<Notification>(aliceBox.socket, 'notification:new');
    await send(bob, room.id, 'yes');
    expect(await back).toMatchObject({ kind: 'dm', title: `${bob.name} sent you a message`, body: 'yes' });

    // Bodies are plain text: the Markdown goes, the words stay, and HTML stays text.
    const formatted = next<Notification>(aliceBox.socket, 'notification:new');
    await send(bob, room.id, '**Deploy** is _done_, see [the log](https://example.com/log)\n\n```sh\nnpm run ship\n```\n<b>ok</b>');
    expect(await formatted).toMatchObject({ body: 'Deploy is done, see the log npm run ship <b>ok</b>' });
  });

  it('sends an invite for a private room created with members and for room:invite, but not for public rooms', async () => {
    const [alice, bob, carol, dave] = [await person(), await person(), await person(), await person()];
    const inbox = (p: Person) => openInbox(t.url, p.session.accessToken);
    const [aliceBox, bobBox, carolBox, daveBox] = await Promise.all([inbox(alice), inbox(bob), inbox(carol), inbox(dave)]);

    await ok(alice.chat, 'room:create', { name: uniqueName('Open'), kind: 'public', memberIds: [dave.id] });
    const bobInvite = next<Notification>(bobBox.socket, 'notification:new');
    const { room } = await ok<{ room: Room }>(alice.chat, 'room:create', {
      name: uniqueName('Secret'),
      kind: 'private',
      topic: 'plans',
      memberIds: [bob.id],
    });
    expect(await bobInvite).toMatchObject({
      kind: 'invite',
      // The inviter's username and the room's name; nothing else the inviter wrote (not the topic).
      title: `${alice.username} added you to #${room.name}`,
      body: '',
      data: { roomId: room.id },
      readAt: null,
    });

    const carolInvite = next<Notification>(carolBox.socket, 'notification:new');
    await ok(bob.chat, 'room:invite', { roomId: room.id, userId: carol.id });
    expect(await carolInvite).toMatchObject({
      kind: 'invite',
      title: `${bob.username} invited you to #${room.name}`,
      data: { roomId: room.id },
    });

    // Dave was only ever added to a public room; the creator and inviter get nothing.
    const daveInvite = next<Notification>(daveBox.socket, 'notification:new');
    await ok(alice.chat, 'room:invite', { roomId: room.id, userId: dave.id });
    expect((await daveInvite).data).toEqual({ roomId: room.id });
    expect((await list(daveBox)).notifications.map((n) => n.kind)).toEqual(['invite']);
    expect((await list(aliceBox)).notifications).toEqual([]);
    expect((await list(bobBox)).notifications).toHaveLength(1);
  });

  it('keeps notifications for an offline user: the count on connect and the list', async () => {
    const [alice, bob] = [await person(), await person()];
    const room = await publicRoom(alice, bob);
    const first = await send(alice, room.id, `@${bob.username} one`);
    const second = await send(alice, room.id, `@${bob.username} two`);
    await storedUnread(bob.id, 2);

    const bobBox = await openInbox(t.url, bob.session.accessToken);
    expect(bobBox.counts).toEqual([2]);
    const answer = await list(bobBox);
    expect(answer.unread).toBe(2);
    expect(answer.hasMore).toBe(false);
    expect(answer.notifications.map((n) => n.data.messageId)).toEqual([second.id, first.id]);
  });

  it('pages newest first with before and limit, and filters with unreadOnly', async () => {
    const [alice, bob] = [await person(), await person()];
    const room = await publicRoom(alice, bob);
    const sent: Message[] = [];
    for (let i = 0; i < 7; i++) sent.push(await send(alice, room.id, `@${bob.username} number ${i}`));
    await storedUnread(bob.id, 7);
    const bobBox = await openInbox(t.url, bob.session.accessToken);

    const pages: ListAnswer[] = [];
    let before: string | undefined;
    do {
      const page = await list(bobBox, { limit: 3, ...(before ? { before } : {}) });
      pages.push(page);
      before = page.notifications.at(-1)?.id;
    } while (pages.at(-1)?.hasMore);
    expect(pages.map((p) => p.notifications.length)).toEqual([3, 3, 1]);
    expect(pages.map((p) => p.hasMore)).toEqual([true, true, false]);
    const all = pages.flatMap((p) => p.notifications);
    expect(all.map((n) => n.data.messageId)).toEqual(sent.map((m) => m.id).reverse());
    const ids = all.map((n) => n.id);
    expect([...ids].sort().reverse()).toEqual(ids);

    // Without a limit: all of them; a huge limit is clamped, not refused.
    expect((await list(bobBox)).notifications).toHaveLength(7);
    expect((await list(bobBox, { limit: 100_000 })).notifications).toHaveLength(7);

    const readIds = [ids[1], ids[4]];
    expect(await ok(bobBox.socket, 'notification:read', { ids: readIds })).toEqual({ ok: true, unread: 5 });
    const unreadOnly = await list(bobBox, { unreadOnly: true });
    expect(unreadOnly.notifications.map((n) => n.id)).toEqual(ids.filter((id) => !readIds.includes(id)));
    expect(unreadOnly.notifications.every((n) => n.readAt === null)).toBe(true);
    expect(unreadOnly.unread).toBe(5);
    const unreadPage = await list(bobBox, { unreadOnly: true, limit: 2, before: ids[1] });
    expect(unreadPage.notifications.map((n) => n.id)).toEqual([ids[2], ids[3]]);
    expect(unreadPage.hasMore).toBe(true);
  });

  it('marks read by ids and all, pushes the new count, and ignores ids of other users', async () => {
    const [alice, bob, carol] = [await person(), await person(), await person()];
    const room = await publicRoom(alice, bob, carol);
    for (let i = 0; i < 3; i++) await send(alice, room.id, `@${bob.username} @${carol.username} ${i}`);
    await storedUnread(bob.id, 3);
    await storedUnread(carol.id, 3);
    const [bobBox, bobOther, carolBox] = [
      await openInbox(t.url, bob.session.accessToken),
      await openInbox(t.url, bob.session.accessToken),
      await openInbox(t.url, carol.session.accessToken),
    ];
    const bobIds = (await list(bobBox)).notifications.map((n) => n.id);

    // Carol cannot touch Bob's notifications: nothing changes for either of them.
    expect(await ok(carolBox.socket, 'notification:read', { ids: bobIds })).toEqual({ ok: true, unread: 3 });
    expect((await list(bobBox)).unread).toBe(3);

    const pushed = next<{ count: number }>(bobOther.socket, 'notification:unread');
    const before = Date.now();
    expect(await ok(bobBox.socket, 'notification:read', { ids: [bobIds[0], 'unknown-id'] })).toEqual({ ok: true, unread: 2 });
    expect((await pushed).count).toBe(2);
    const marked = (await list(bobBox)).notifications.find((n) => n.id === bobIds[0]);
    expect(marked?.readAt).toBeGreaterThanOrEqual(before);

    // Reading it again changes nothing.
    expect(await ok(bobBox.socket, 'notification:read', { ids: [bobIds[0]] })).toEqual({ ok: true, unread: 2 });
    expect((await list(bobBox)).notifications.find((n) => n.id === bobIds[0])?.readAt).toBe(marked?.readAt);

    const zero = next<{ count: number }>(bobOther.socket, 'notification:unread', (p) => p.count === 0);
    expect(await ok(bobBox.socket, 'notification:read', { all: true })).toEqual({ ok: true, unread: 0 });
    expect((await zero).count).toBe(0);
    expect((await list(bobBox, { unreadOnly: true })).notifications).toEqual([]);
    expect((await list(carolBox)).unread).toBe(3);
  });

  it('cuts long bodies to about 140 code points', async () => {
    const [alice, bob] = [await person(), await person()];
    const room = await publicRoom(alice, bob);
    const bobBox = await openInbox(t.url, bob.session.accessToken);
    const newN = next<Notification>(bobBox.socket, 'notification:new');
    await send(alice, room.id, `@${bob.username} ${'😀'.repeat(400)}`);
    const { body } = await newN;
    expect(codePointLength(body)).toBeLessThanOrEqual(140);
    expect(codePointLength(body)).toBeGreaterThan(100);
    expect(body.startsWith(`@${bob.username} 😀`)).toBe(true);
    expect(body.endsWith('…')).toBe(true);
  });

  it.each([
    ['notification:read', '{}', {}],
    ['notification:read', '{ all: false }', { all: false }],
    ['notification:read', '{ ids: "abc" }', { ids: 'abc' }],
    ['notification:read', '{ ids: [1, 2] }', { ids: [1, 2] }],
    ['notification:read', '{ ids: ["ok", "not an id!"] }', { ids: ['ok', 'not an id!'] }],
    ['notification:read', 'more ids than allowed', { ids: Array.from({ length: 501 }, (_, i) => `id${i}`) }],
    ['notification:read', '{ all: "yes" }', { all: 'yes' }],
    ['notification:read', 'null', null],
    ['notification:read', '"all"', 'all'],
    ['notification:list', '{ limit: 0 }', { limit: 0 }],
    ['notification:list', '{ limit: 2.5 }', { limit: 2.5 }],
    ['notification:list', '{ limit: "10" }', { limit: '10' }],
    ['notification:list', '{ before: "x".repeat(65) }', { before: 'x'.repeat(65) }],
    ['notification:list', '{ before: 42 }', { before: 42 }],
    ['notification:list', '{ unreadOnly: "true" }', { unreadOnly: 'true' }],
    ['notification:list', '7', 7],
  ])('answers %s %s with INVALID_ARGUMENT', async (event, _label, payload) => {
    const bob = await register(t.url);
    const box = await openInbox(t.url, bob.accessToken);
    const res = await request(box.socket, event, payload);
    expect(res.ok).toBe(false);
    if (!res.ok) {
      expect(res.error.code).toBe('INVALID_ARGUMENT');
      expect(res.error.message).toBeTruthy();
    }
  });

  it('answers unknown events, and failures without an ack as an error event; ignores extra fields', async () => {
    const bob = await register(t.url);
    const box = await openInbox(t.url, bob.accessToken);
    const unknown = await request(box.socket, 'message:send', { roomId: 'r', text: 'hi' });
    expect(unknown).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });

    const error = next<{ code: string; event: string; message: string }>(box.socket, 'error');
    box.socket.emit('notification:read', {});
    expect(await error).toMatchObject({ code: 'INVALID_ARGUMENT', event: 'notification:read' });

    expect(await ok(box.socket, 'notification:list', { limit: 5, extra: { deep: [1, 2] } })).toMatchObject({
      notifications: [],
      unread: 0,
      hasMore: false,
    });
    // No payload at all (not even `null`) is a valid list request.
    expect(await box.socket.timeout(5000).emitWithAck('notification:list')).toMatchObject({ ok: true, notifications: [], unread: 0 });
    expect(await ok(box.socket, 'notification:read', { ids: [], all: true, colour: 'blue' })).toEqual({ ok: true, unread: 0 });
  });

  it('refuses a handshake without a valid token', async () => {
    const socket = io(`${t.url}/notifications`, { auth: { token: 'nope' }, transports: ['websocket'], reconnection: false, forceNew: true });
    inboxes.add(socket);
    const message = await new Promise<string>((resolve) => socket.once('connect_error', (err) => resolve(err.message)));
    expect(message).toBe('UNAUTHENTICATED');
  });
});
