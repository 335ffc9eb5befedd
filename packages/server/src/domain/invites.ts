/**
 * Invite links (PROTOCOL §4.3): admins make them for any room or none, members for their room.
 * Registering with one is AuthService.register's (it takes a use in the account's transaction).
 */
import { randomBytes } from 'node:crypto';
import { AccountLimits, type Invite, type InviteCreateInput } from '@switchboard/protocol';
import type { Actor } from './accounts.js';
import { forbidden, notFound } from './errors.js';
import type { RoomService } from './rooms.js';
import type { InviteRepository } from '../store/invites.js';
import type { RoomRepository } from '../store/rooms.js';

export class InviteService {
  constructor(
    private readonly invites: InviteRepository,
    private readonly roomRows: RoomRepository,
    private readonly rooms: RoomService,
  ) {}

  /** `origin`: where the web app is served (PUBLIC_URL, or the request's origin). */
  async create(actor: Actor, input: InviteCreateInput, origin: string): Promise<Invite> {
    const roomId = input.roomId ?? null;
    if (roomId === null) {
      if (actor.role !== 'admin') throw forbidden('only admins create invites without a room');
    } else {
      const room = await this.roomRows.byId(roomId);
      if (!room) throw notFound('room');
      if (room.kind === 'dm') throw forbidden('nobody can be invited to a direct conversation');
      if (actor.role !== 'admin') await this.rooms.requireMember(actor.userId, roomId);
    }
    const now = Date.now();
    const invite = {
      code: randomBytes(18).toString('base64url'),
      room_id: roomId,
      created_by: actor.userId,
      created_at: now,
      expires_at: now + (input.expiresIn ?? AccountLimits.inviteExpiresInDefault) * 1000,
      max_uses: input.maxUses ?? null,
    };
    await this.invites.create(invite);
    return {
      code: invite.code,
      url: `${origin.replace(/\/+$/, '')}/invite/${invite.code}`,
      roomId,
      maxUses: invite.max_uses,
      expiresAt: invite.expires_at,
    };
  }
}
