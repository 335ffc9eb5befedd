/**
 * Rooms, DMs, memberships and read marks (PROTOCOL §4.1). Membership is persistent; every
 * change is published on the bus (`room.members.added`, `room.member.left`, `read.moved`) for
 * the transports to turn into subscriptions and emits.
 *
 * A DM has no name of its own: each side sees it named after the other user.
 */
import { AccountLimits, type AdminRoom, type Room, type RoomCreateInput, type RoomMember, type RoomWithReadState, type UserSummary } from '@switchboard/protocol';
import type { EventBus } from './bus.js';
import type { Actor } from './messages.js';
import { conflict, forbidden, invalid, notFound } from './errors.js';
import { newId } from './ids.js';
import type { PresenceService } from './presence.js';
import { MembershipCache } from '../scale/membership-cache.js';
import { isUniqueViolation } from '../store/errors.js';
import type { RoomRepository } from '../store/rooms.js';
import type { RoomRow } from '../store/schema.js';
import type { UserRepository } from '../store/users.js';

const DM_KEY_SEPARATOR = ':';

/** The one DM key of a pair, whatever the order. */
const dmKey = (a: string, b: string) => [a, b].sort().join(DM_KEY_SEPARATOR);

/** The other side of a DM, from its key. */
function dmPeer(row: RoomRow, viewerId: string): string | undefined {
  const ids = row.dm_key?.split(DM_KEY_SEPARATOR) ?? [];
  return ids.find((id) => id !== viewerId) ?? ids[0];
}

export function toRoom(row: RoomRow, name = row.name): Room {
  return {
    id: row.id,
    name,
    kind: row.kind,
    topic: row.topic,
    createdBy: row.created_by,
    createdAt: row.created_at,
    lastSeq: row.last_seq,
    memberCount: row.member_count,
    archived: row.archived === 1,
  };
}

/** Who may rename, archive and remove members of a room: its creator, and admins (alone for `general`, which has none). */
function mayManage(actor: Actor, row: RoomRow): boolean {
  return actor.role === 'admin' || (row.created_by !== null && row.created_by === actor.userId);
}

export class RoomService {
  constructor(
    private readonly rooms: RoomRepository,
    private readonly users: UserRepository,
    private readonly presence: PresenceService,
    private readonly bus: EventBus,
    /** Memberships this node has seen, with their room's row (see scale/membership-cache.ts). */
    private readonly memberships: MembershipCache<RoomRow> = new MembershipCache(),
  ) {}

  /** Rooms as `viewerId` sees them: DMs are named after the other user. */
  async present(rows: readonly RoomRow[], viewerId: string): Promise<Room[]> {
    const peers = rows.filter((r) => r.kind === 'dm').map((r) => dmPeer(r, viewerId) ?? '');
    const names = new Map((await this.users.byIds([...new Set(peers)])).map((u) => [u.id, u.display_name]));
    return rows.map((row) => toRoom(row, row.kind === 'dm' ? (names.get(dmPeer(row, viewerId) ?? '') ?? row.name) : row.name));
  }

  async presentOne(row: RoomRow, viewerId: string): Promise<Room> {
    const [room] = await this.present([row], viewerId);
    return room ?? toRoom(row);
  }

  /**
   * The room, if `userId` is a member: NOT_FOUND for an unknown room, FORBIDDEN otherwise.
   * Answered from this node's membership cache when it can, so the room's row may be a little
   * old: its kind and creation never change, but `last_seq`, `member_count`, its name, topic and
   * `archived` do (whatever depends on `archived` reads it fresh: `assertWritable`).
   */
  async requireMember(userId: string, roomId: string): Promise<{ room: RoomRow }> {
    const cached = this.memberships.get(roomId, userId);
    if (cached) return { room: cached };
    const room = await this.rooms.byId(roomId);
    if (!room) throw notFound('room');
    if ((await this.rooms.readMark(roomId, userId)) === undefined) throw forbidden('you are not a member of this room');
    this.memberships.remember(roomId, userId, room);
    return { room };
  }

  async create(userId: string, input: RoomCreateInput): Promise<Room> {
    const memberIds = [...new Set([userId, ...(input.memberIds ?? [])])];
    const found = await this.users.byIds(memberIds);
    if (found.length !== memberIds.length) throw notFound('user');
    const name = input.name.trim();
    const now = Date.now();
    let row: RoomRow;
    try {
      row = await this.rooms.create(
        {
          id: newId(),
          name,
          name_lower: name.toLowerCase(),
          kind: input.kind,
          topic: input.topic?.trim() ?? '',
          created_by: userId,
          created_at: now,
          dm_key: null,
        },
        memberIds,
        now,
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('a public room with this name exists');
      throw err;
    }
    const room = toRoom(row);
    this.bus.publish('room.members.added', { room, userIds: memberIds, by: userId, reason: 'create' });
    return room;
  }

  /** The user's rooms, DMs included, with read marks and unread counts. */
  async list(userId: string): Promise<RoomWithReadState[]> {
    const rows = await this.rooms.listForUser(userId);
    const rooms = await this.present(rows, userId);
    return rooms.map((room, i) => {
      const lastReadSeq = rows[i]?.last_read_seq ?? 0;
      return { ...room, lastReadSeq, unread: Math.max(0, room.lastSeq - lastReadSeq), muted: rows[i]?.muted === 1 };
    });
  }

  async browse(query: string | undefined, limit: number): Promise<Room[]> {
    return (await this.rooms.browse(query?.trim() ?? '', limit)).map((row) => toRoom(row));
  }

  /** The user directory, for finding people to invite or write to: anyone may search it. */
  async searchUsers(query: string, limit: number): Promise<UserSummary[]> {
    const rows = await this.users.search(query.trim(), limit);
    return rows.map((row) => ({ id: row.id, username: row.username, displayName: row.display_name }));
  }

  async join(userId: string, roomId: string): Promise<Room> {
    const existing = await this.rooms.byId(roomId);
    if (!existing) throw notFound('room');
    if (existing.kind !== 'public') {
      if ((await this.rooms.readMark(roomId, userId)) === undefined) throw forbidden('this room is not public');
      return this.presentOne(existing, userId);
    }
    const result = await this.rooms.addMembers(roomId, [userId], Date.now());
    if (!result) throw notFound('room');
    const room = toRoom(result.room);
    if (result.added.length > 0) {
      this.bus.publish('room.members.added', { room, userIds: result.added, by: userId, reason: 'join' });
    }
    return room;
  }

  async leave(userId: string, roomId: string): Promise<void> {
    const existing = await this.rooms.byId(roomId);
    if (!existing) throw notFound('room');
    if (existing.kind === 'dm') throw forbidden('a direct conversation cannot be left');
    const result = await this.rooms.removeMember(roomId, userId);
    // Before the leave is acknowledged: no node may answer from a cached membership afterwards.
    this.memberships.forget(roomId, userId);
    if (result?.removed) this.bus.publish('room.member.left', { room: toRoom(result.room), userId });
  }

  async invite(userId: string, roomId: string, inviteeId: string): Promise<void> {
    const { room: existing } = await this.requireMember(userId, roomId);
    if (existing.kind === 'dm') throw forbidden('nobody can be added to a direct conversation');
    if (!(await this.users.byId(inviteeId))) throw notFound('user');
    const result = await this.rooms.addMembers(roomId, [inviteeId], Date.now());
    if (result && result.added.length > 0) {
      this.bus.publish('room.members.added', { room: toRoom(result.room), userIds: result.added, by: userId, reason: 'invite' });
    }
  }

  async members(userId: string, roomId: string): Promise<RoomMember[]> {
    await this.requireMember(userId, roomId);
    const rows = await this.rooms.members(roomId);
    const online = await this.presence.online(rows.map((r) => r.id));
    return rows.map((r) => ({
      id: r.id,
      username: r.username,
      displayName: r.display_name,
      online: online.has(r.id),
      lastReadSeq: r.last_read_seq,
    }));
  }

  /** The one DM room of the pair, created on first use. */
  async openDm(userId: string, otherId: string): Promise<Room> {
    if (otherId === userId) throw invalid('userId: a direct conversation needs another user');
    const key = dmKey(userId, otherId);
    const existing = await this.rooms.byDmKey(key);
    if (existing) return this.presentOne(existing, userId);
    const [me, other] = await Promise.all([this.users.byId(userId), this.users.byId(otherId)]);
    if (!other) throw notFound('user');
    if (!me) throw notFound('user');
    const now = Date.now();
    let row: RoomRow;
    try {
      row = await this.rooms.create(
        {
          id: newId(),
          // Stored for people reading the database; clients always see the other user's name.
          name: `${me.username}, ${other.username}`,
          name_lower: `${me.username}, ${other.username}`.toLowerCase(),
          kind: 'dm',
          topic: '',
          created_by: userId,
          created_at: now,
          dm_key: key,
        },
        [userId, otherId],
        now,
      );
    } catch (err) {
      // Both users opened it at once: the other request created it.
      if (!isUniqueViolation(err)) throw err;
      const raced = await this.rooms.byDmKey(key);
      if (!raced) throw err;
      return this.presentOne(raced, userId);
    }
    // `room:added` goes to the other user, who sees the DM named after the opener.
    this.bus.publish('room.members.added', {
      room: toRoom(row, me.display_name),
      userIds: [userId, otherId],
      by: userId,
      reason: 'dm',
    });
    return toRoom(row, other.display_name);
  }

  /**
   * FORBIDDEN when the room is archived (read-only), NOT_FOUND when there is none. Read fresh from
   * the database, not the membership cache, so an archive on another node counts at once. Sends
   * need no call: the group commit checks the same under the room's lock (store/messages.ts).
   */
  async assertWritable(roomId: string): Promise<void> {
    if (await this.isArchived(roomId)) throw forbidden('this room is archived');
  }

  /** Whether the room is archived, read fresh from the database; NOT_FOUND when there is none. */
  async isArchived(roomId: string): Promise<boolean> {
    const row = await this.rooms.byId(roomId);
    if (!row) throw notFound('room');
    return row.archived === 1;
  }

  /** The room, if `actor` may manage it (see `mayManage`); a DM can never be managed. */
  private async requireManager(actor: Actor, roomId: string): Promise<RoomRow> {
    const row = await this.rooms.byId(roomId);
    if (!row) throw notFound('room');
    if (row.kind === 'dm') throw forbidden('a direct conversation cannot be changed');
    if (!mayManage(actor, row)) throw forbidden("only the room's creator or an admin can do this");
    return row;
  }

  /** Renames the room and/or sets its topic → `room.updated`. */
  async update(actor: Actor, input: { roomId: string; name?: string | undefined; topic?: string | undefined }): Promise<Room> {
    await this.requireManager(actor, input.roomId);
    let row: RoomRow | undefined;
    try {
      row = await this.rooms.update(input.roomId, { name: input.name?.trim(), topic: input.topic?.trim() });
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('a public room with this name exists');
      throw err;
    }
    if (!row) throw notFound('room');
    const room = toRoom(row);
    this.bus.publish('room.updated', { room });
    return room;
  }

  /** Archives (read-only) or unarchives the room → `room.updated`; idempotent. */
  async archive(actor: Actor, roomId: string, archived: boolean): Promise<Room> {
    await this.requireManager(actor, roomId);
    const row = await this.rooms.setArchived(roomId, archived);
    if (!row) throw notFound('room');
    const room = toRoom(row);
    this.bus.publish('room.updated', { room });
    return room;
  }

  /**
   * Every public and private room for admins, newest activity first (see `RoomRepository.adminList`),
   * with the cursor of the next page (`next`, null on the last page).
   */
  async adminList(
    actor: Actor,
    filter: { query?: string | undefined; archived?: boolean | undefined; limit?: number | undefined; before?: { activeAt: number; id: string } | undefined },
  ): Promise<{ rooms: AdminRoom[]; next: string | null }> {
    if (actor.role !== 'admin') throw forbidden('only admins see every room');
    const limit = filter.limit ?? AccountLimits.adminRoomsDefault;
    // One row more than the page tells whether another page follows.
    const rows = await this.rooms.adminList({ query: filter.query ?? '', archived: filter.archived, after: filter.before, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      rooms: page.map((row) => ({ ...toRoom(row), lastMessageAt: row.last_message_at })),
      next: rows.length > limit && last ? `${last.active_at}.${last.id}` : null,
    };
  }

  /** Ends another member's membership, as a leave would (idempotent) → `room.member.left`. */
  async remove(actor: Actor, roomId: string, userId: string): Promise<void> {
    await this.requireManager(actor, roomId);
    if (!(await this.users.byId(userId))) throw notFound('user');
    const result = await this.rooms.removeMember(roomId, userId);
    // Before the removal is acknowledged: no node may answer from a cached membership afterwards.
    this.memberships.forget(roomId, userId);
    if (result?.removed) this.bus.publish('room.member.left', { room: toRoom(result.room), userId });
  }

  /** Mutes or unmutes the room's notifications for the caller (a member). */
  async mute(userId: string, roomId: string, muted: boolean): Promise<void> {
    await this.requireMember(userId, roomId);
    if (!(await this.rooms.setMuted(roomId, userId, muted))) throw forbidden('you are not a member of this room');
  }

  /** Moves the read mark forward (clamped to the room's last seq); publishes only when it moved. */
  async markRead(userId: string, roomId: string, seq: number): Promise<void> {
    await this.requireMember(userId, roomId);
    const moved = await this.rooms.moveReadMark(roomId, userId, seq);
    if (moved !== undefined) this.bus.publish('read.moved', { roomId, userId, seq: moved });
  }

  roomIdsOf(userId: string): Promise<string[]> {
    return this.rooms.roomIdsOf(userId);
  }

  /** Members of the room among the given usernames. */
  membersNamed(roomId: string, usernames: readonly string[]): Promise<string[]> {
    return this.rooms.membersNamed(roomId, usernames);
  }

  /** Of `roomIds`, the rooms that exist, and which of them the user is a member of. */
  async readable(userId: string, roomIds: readonly string[]): Promise<{ rooms: Map<string, RoomRow>; member: Set<string> }> {
    const [rows, member] = await Promise.all([this.rooms.byIds(roomIds), this.rooms.memberOf(userId, roomIds)]);
    return { rooms: new Map(rows.map((r) => [r.id, r])), member };
  }
}
