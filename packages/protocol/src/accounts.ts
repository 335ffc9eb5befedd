/**
 * Accounts and administration (PROTOCOL §4.3): the signed-in user's profile and password, invite
 * links, and the admin's view of every account (roles, deactivation, password resets, export) and
 * of every room (archiving).
 */
import { z } from 'zod';
import type { Room, User } from './models.js';
import { Limits } from './limits.js';
import { DisplayName, Id, Password } from './schemas.js';

export const AccountLimits = {
  /** Largest `maxUses` of an invite. */
  inviteMaxUses: 1_000_000,
  /** Default and largest `expiresIn` of an invite, seconds (7 and 365 days). */
  inviteExpiresInDefault: 7 * 24 * 3600,
  inviteExpiresInMax: 365 * 24 * 3600,
  /** `GET /api/admin/users`: default and largest page. */
  adminUsersDefault: 50,
  adminUsersMax: 200,
  adminQueryMax: 64,
  /** `GET /api/admin/rooms`: default and largest page. */
  adminRoomsDefault: 50,
  adminRoomsMax: 200,
} as const;

export const ProfileUpdateInput = z.object({ displayName: DisplayName });
export type ProfileUpdateInput = z.input<typeof ProfileUpdateInput>;

export const PasswordChangeInput = z.object({
  currentPassword: z.string().min(1).max(Limits.passwordMax * 4),
  newPassword: Password,
});
export type PasswordChangeInput = z.input<typeof PasswordChangeInput>;

export const InviteCreateInput = z.object({
  roomId: Id.optional(),
  maxUses: z.number().int().min(1).max(AccountLimits.inviteMaxUses).optional(),
  expiresIn: z.number().int().min(60).max(AccountLimits.inviteExpiresInMax).optional(),
});
export type InviteCreateInput = z.input<typeof InviteCreateInput>;

export interface Invite {
  code: string;
  /** Where the web app opens sign-up with the code: `PUBLIC_URL` (or the request's origin) + `/invite/<code>`. */
  url: string;
  roomId: string | null;
  /** `null`: unlimited. */
  maxUses: number | null;
  expiresAt: number;
}

/** A user as admins see them. */
export interface AdminUser extends User {
  deactivated: boolean;
  lastSeenAt: number | null;
}

export const AdminUserListQuery = z.object({
  query: z.string().trim().max(AccountLimits.adminQueryMax).optional(),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .transform((n) => Math.min(n, AccountLimits.adminUsersMax))
    .optional(),
});
export type AdminUserListQuery = z.input<typeof AdminUserListQuery>;

export const AdminUserParams = z.object({ id: Id });

export const AdminUserUpdateInput = z
  .object({
    role: z.enum(['admin', 'user']).optional(),
    deactivated: z.boolean().optional(),
  })
  .refine((u) => u.role !== undefined || u.deactivated !== undefined, { message: 'give role or deactivated' });
export type AdminUserUpdateInput = z.input<typeof AdminUserUpdateInput>;

/** A public or private room as admins see it: `lastMessageAt` is null while it has no messages. */
export interface AdminRoom extends Room {
  lastMessageAt: number | null;
}

/**
 * Where a page of `GET /api/admin/rooms` continues: the last room's activity (its last message's
 * time, or its creation while it has none) and id, as `<ms>.<id>`. A cursor rather than a room id,
 * so a room that gets a message while someone pages moves ahead of it instead of shifting the pages.
 */
export const AdminRoomCursor = z
  .string()
  .regex(new RegExp(`^\\d{1,16}\\.[A-Za-z0-9_-]{1,${Limits.idMax}}$`), 'must be the `next` of an earlier page')
  .transform((cursor) => {
    const dot = cursor.indexOf('.');
    return { activeAt: Number(cursor.slice(0, dot)), id: cursor.slice(dot + 1) };
  });

export const AdminRoomListQuery = z.object({
  query: z.string().trim().max(AccountLimits.adminQueryMax).optional(),
  /** `true`: archived rooms only; `false`: the others; absent: both. */
  archived: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .transform((n) => Math.min(n, AccountLimits.adminRoomsMax))
    .optional(),
  before: AdminRoomCursor.optional(),
});
export type AdminRoomListQuery = z.input<typeof AdminRoomListQuery>;

export const AdminRoomParams = z.object({ id: Id });

export const AdminRoomUpdateInput = z.object({ archived: z.boolean() });
export type AdminRoomUpdateInput = z.input<typeof AdminRoomUpdateInput>;

/**
 * One line of `GET /api/admin/export` (NDJSON): every user (never a password hash), then every room,
 * membership and message, each as `{ type, data }`.
 */
export type ExportLine =
  | { type: 'user'; data: AdminUser }
  | { type: 'room'; data: { id: string; name: string; kind: string; topic: string; createdBy: string | null; createdAt: number; lastSeq: number } }
  | { type: 'membership'; data: { roomId: string; userId: string; joinedAt: number; lastReadSeq: number } }
  | {
      type: 'message';
      data: {
        id: string;
        roomId: string;
        seq: number;
        senderId: string;
        text: string;
        attachments: unknown;
        clientMsgId: string;
        createdAt: number;
        editedAt: number | null;
        deleted: boolean;
      };
    };
