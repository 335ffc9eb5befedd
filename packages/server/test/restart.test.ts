/**
 * Durability across a restart: a server is stopped and a new one started on the same DATA_DIR and
 * database. History, memberships, read marks and notifications must all be there, and access
 * tokens signed before the restart must still be accepted (the generated JWT secret is kept in
 * DATA_DIR), on SQLite and PostgreSQL.
 */
import { io, type Socket } from 'socket.io-client';
import type { Message, Notification, Room, RoomWithReadState, Session } from '@switchboard/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { closeSockets, connect, dialects, eventually, http, next, ok, register, startServer, uniqueName, type TestServer } from './helpers.js';

type ListAnswer = { notifications: Notification[]; unread: number; hasMore: boolean };

interface Snapshot {
  rooms: RoomWithReadState[];
  history: Record<string, Message[]>;
  notifications: ListAnswer;
  unreadOnConnect: number;
}

const byId = <T extends { id: string }>(items: T[]) => [...items].sort((a, b) => a.id.localeCompare(b.id));

describe.each(dialects)('restart on %s', (dialect) => {
  const servers: TestServer[] = [];
  afterEach(async () => {
    closeSockets();
    // Stop every server first: the last one also removes the shared data.
    for (const s of servers.slice(0, -1)) await s.stop();
    await servers.at(-1)?.close();
    servers.length = 0;
  });

  /** Everything a user can see, read through the wire with the given access token. */
  async function snapshot(t: TestServer, session: Session): Promise<Snapshot> {
    const chat = await connect(t.url, '/chat', session.accessToken);
    // Listening before the handshake, so the count sent on connect cannot slip past.
    const inbox = io(`${t.url}/notifications`, { auth: { token: session.accessToken }, transports: ['websocket'], reconnection: false, forceNew: true });
    const unreadOnConnect = next<{ count: number }>(inbox, 'notification:unread');
    try {
      await new Promise<void>((resolve, reject) => {
        inbox.once('connect', resolve);
        inbox.once('connect_error', reject);
      });
      const { rooms } = await ok<{ rooms: RoomWithReadState[] }>(chat, 'room:list', {});
      const history: Record<string, Message[]> = {};
      for (const room of rooms) history[room.id] = (await ok<{ messages: Message[] }>(chat, 'message:history', { roomId: room.id })).messages;
      const notifications = await ok<ListAnswer>(inbox, 'notification:list', {});
      return { rooms: byId(rooms), history, notifications, unreadOnConnect: (await unreadOnConnect).count };
    } finally {
      chat.disconnect();
      inbox.disconnect();
    }
  }

  it('keeps history, memberships, read marks, notifications and the signing secret', async () => {
    const first = await startServer({ dialect });
    servers.push(first);
    const [alice, bob, carol] = [await register(first.url, uniqueName('alice')), await register(first.url), await register(first.url)];
    const chat: Record<string, Socket> = {};
    for (const s of [alice, bob, carol]) chat[s.user.id] = await connect(first.url, '/chat', s.accessToken);
    const as = (s: Session) => chat[s.user.id] as Socket;
    const send = async (s: Session, roomId: string, text: string) =>
      (await ok<{ message: Message }>(as(s), 'message:send', { roomId, clientMsgId: uniqueName('c'), text })).message;

    const open = (await ok<{ room: Room }>(as(alice), 'room:create', { name: uniqueName('Open'), kind: 'public', topic: 'all' })).room;
    await ok(as(bob), 'room:join', { roomId: open.id });
    const secret = (await ok<{ room: Room }>(as(alice), 'room:create', { name: uniqueName('Secret'), kind: 'private', memberIds: [bob.user.id] })).room;
    const dm = (await ok<{ room: Room }>(as(alice), 'dm:open', { userId: carol.user.id })).room;

    await send(alice, open.id, `morning @${bob.user.username}`);
    await send(bob, open.id, 'morning');
    await send(alice, open.id, `@${bob.user.username} lunch?`);
    await send(bob, secret.id, 'shh');
    const edited = await send(alice, secret.id, 'tpyo');
    await ok(as(alice), 'message:edit', { messageId: edited.id, text: 'typo' });
    const deleted = await send(alice, open.id, 'oops');
    await ok(as(alice), 'message:delete', { messageId: deleted.id });
    await send(alice, dm.id, 'hello carol');
    await send(carol, dm.id, 'hello alice');
    await send(alice, dm.id, 'one more thing');

    // Sending moves the sender's own read mark; this one moves past that.
    await ok(as(bob), 'read', { roomId: open.id, seq: 3 });

    // Bob: an invite (his read past both mentions read them); Carol: two DMs; Alice: one.
    const notifications = first.server.services.notifications;
    await eventually(async () => (await notifications.unreadCount(bob.user.id)) === 1, 5000, "Bob's notifications");
    await eventually(async () => (await notifications.unreadCount(carol.user.id)) === 2, 5000, "Carol's notifications");
    await eventually(async () => (await notifications.unreadCount(alice.user.id)) === 1, 5000, "Alice's notification");
    const bobInbox = await connect(first.url, '/notifications', bob.accessToken);
    const bobAll = await ok<ListAnswer>(bobInbox, 'notification:list', {});
    const oldest = bobAll.notifications.at(-1);
    expect(oldest?.kind).toBe('invite');
    await ok(bobInbox, 'notification:read', { ids: [oldest?.id] });

    const before = new Map<string, Snapshot>();
    for (const s of [alice, bob, carol]) before.set(s.user.id, await snapshot(first, s));
    closeSockets();
    await first.stop();

    const second = await first.restart();
    servers.push(second);
    for (const s of [alice, bob, carol]) {
      // The same access token as before the restart: the secret was reloaded from DATA_DIR.
      const after = await snapshot(second, s);
      expect(after).toEqual(before.get(s.user.id));
    }

    const bobAfter = before.get(bob.user.id);
    expect(bobAfter?.unreadOnConnect).toBe(0);
    expect(bobAfter?.notifications.notifications.map((n) => [n.kind, n.readAt === null])).toEqual([
      ['mention', false],
      ['mention', false],
      ['invite', false],
    ]);
    expect(bobAfter?.rooms.filter((r) => r.name !== 'general').map((r) => r.id).sort()).toEqual([open.id, secret.id].sort());
    expect(bobAfter?.rooms.find((r) => r.id === open.id)).toMatchObject({ lastReadSeq: 3, lastSeq: 4 });
    expect(bobAfter?.history[open.id]?.map((m) => [m.seq, m.deleted])).toEqual([
      [1, false],
      [2, false],
      [3, false],
      [4, true],
    ]);
    expect(bobAfter?.history[secret.id]?.map((m) => m.text)).toEqual(['shh', 'typo']);
    expect(before.get(carol.user.id)?.rooms.filter((r) => r.name !== 'general')).toMatchObject([{ id: dm.id, kind: 'dm', lastReadSeq: 2, lastSeq: 3 }]);
    expect(before.get(carol.user.id)?.unreadOnConnect).toBe(2);
    expect(before.get(alice.user.id)?.unreadOnConnect).toBe(1);

    // Logins survive too, and the rooms go on where they stopped.
    const refreshed = await http<Session>(second.url, 'POST', '/api/auth/refresh', { refreshToken: alice.refreshToken });
    expect(refreshed.status).toBe(200);
    const aliceChat = await connect(second.url, '/chat', refreshed.body.accessToken);
    const resumed = await ok<{ message: Message }>(aliceChat, 'message:send', { roomId: open.id, clientMsgId: uniqueName('c'), text: 'back' });
    expect(resumed.message.seq).toBe(5);
  });
});
