/**
 * Accounts and administration over HTTP (PROTOCOL §4.3): the user's profile and password, invite
 * links, and the admin routes (users, roles, deactivation, password resets, every room and its
 * archiving, the NDJSON export).
 * Every route takes a point of the caller's per-user budget (PROTOCOL §2); the rules live in
 * domain/accounts.ts, which the command line shares.
 */
import { Readable } from 'node:stream';
import {
  AdminRoomListQuery,
  AdminRoomParams,
  AdminRoomUpdateInput,
  AdminUserListQuery,
  AdminUserParams,
  AdminUserUpdateInput,
  InviteCreateInput,
  PasswordChangeInput,
  ProfileUpdateInput,
  type AdminRoom,
  type AdminUser,
  type Invite,
  type Room,
} from '@switchboard/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AccountService } from '../domain/accounts.js';
import type { InviteService } from '../domain/invites.js';
import type { RoomService } from '../domain/rooms.js';
import type { AuthService, Principal } from '../domain/auth.js';
import { forbidden } from '../domain/errors.js';
import { exportData } from '../domain/export.js';
import type { RateLimiter } from '../scale/rate-limit.js';
import type { ExportRepository } from '../store/export.js';
import { requireUser } from './auth.js';
import { parse } from './errors.js';
import { docs, jsonSchema } from './openapi.js';

// Answers are never parsed, only sent; `satisfies` keeps them in step with the protocol's types.
const AdminUserDoc = z.object({
  id: z.string(),
  username: z.string(),
  displayName: z.string(),
  role: z.enum(['admin', 'user', 'bot']),
  createdAt: z.number().int().describe('ms since the epoch'),
  deactivated: z.boolean(),
  lastSeenAt: z.number().int().nullable().describe('ms since the epoch; null: never connected'),
}) satisfies z.ZodType<AdminUser>;

const RoomDoc = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.enum(['public', 'private', 'dm']),
  topic: z.string(),
  createdBy: z.string().nullable().describe('null: nobody (`general`, managed by admins)'),
  createdAt: z.number().int().describe('ms since the epoch'),
  lastSeq: z.number().int(),
  memberCount: z.number().int(),
  archived: z.boolean().describe('read-only while true'),
}) satisfies z.ZodType<Room>;

const AdminRoomDoc = RoomDoc.extend({
  lastMessageAt: z.number().int().nullable().describe('ms since the epoch; null: no messages yet'),
}) satisfies z.ZodType<AdminRoom>;

const InviteDoc = z.object({
  code: z.string(),
  url: z.string().describe('PUBLIC_URL (or the request origin) + /invite/<code>: the web app opens sign-up with the code'),
  roomId: z.string().nullable(),
  maxUses: z.number().int().nullable().describe('null: unlimited'),
  expiresAt: z.number().int().describe('ms since the epoch'),
}) satisfies z.ZodType<Invite>;

const answer = (description: string, schema: z.ZodType) => ({ description, ...jsonSchema(schema, 'output') });
const adminErrors = (more: Record<number, string> = {}) =>
  docs.errors({ 401: 'no valid access token', 403: 'not an admin', 429: 'too many requests', ...more });

const schemas = {
  profile: {
    tags: ['auth'],
    summary: 'Change your display name',
    security: docs.bearer,
    body: jsonSchema(ProfileUpdateInput),
    response: { 200: docs.user('The user as it is now'), ...docs.errors({ 400: 'invalid display name', 401: 'no valid access token', 429: 'too many requests' }) },
  },
  password: {
    tags: ['auth'],
    summary: 'Change your password',
    description: 'Every other login of the user ends (as by logout); the one that asked stays.',
    security: docs.bearer,
    body: jsonSchema(PasswordChangeInput),
    response: {
      204: docs.noContent('Changed'),
      ...docs.errors({
        400: 'invalid input, or a new password that is too common or contains the username',
        401: 'no valid access token',
        403: 'the current password is wrong',
        429: 'too many wrong passwords, or too many requests',
      }),
    },
  },
  invite: {
    tags: ['auth'],
    summary: 'Create an invite link',
    description:
      'Admins, or members of `roomId`. Registering with its code works even when registration is closed, and ' +
      'joins the room. Defaults: unlimited uses, 7 days.',
    security: docs.bearer,
    body: jsonSchema(InviteCreateInput),
    response: {
      201: answer('Created', z.object({ invite: InviteDoc })),
      ...docs.errors({
        400: 'invalid input',
        401: 'no valid access token',
        403: 'not a member of the room (or no room and not an admin), or a direct conversation',
        404: 'unknown room',
        429: 'too many requests',
      }),
    },
  },
  users: {
    tags: ['admin'],
    summary: 'Find accounts',
    description: '`query` matches usernames and display names (empty: everyone); bots are not listed.',
    security: docs.bearer,
    querystring: jsonSchema(AdminUserListQuery),
    response: { 200: answer('The accounts, by username', z.object({ users: z.array(AdminUserDoc) })), ...adminErrors({ 400: 'invalid query' }) },
  },
  update: {
    tags: ['admin'],
    summary: "Change an account's role, or deactivate it",
    description:
      'Deactivating ends every login of the account at once, on every transport and node, and refuses new ones. ' +
      'Demoting or deactivating the last active admin is refused.',
    security: docs.bearer,
    params: jsonSchema(AdminUserParams),
    body: jsonSchema(AdminUserUpdateInput),
    response: {
      200: answer('The account as it is now', z.object({ user: AdminUserDoc })),
      ...adminErrors({ 400: 'invalid input', 404: 'unknown user', 409: 'the last active admin' }),
    },
  },
  reset: {
    tags: ['admin'],
    summary: "Reset an account's password",
    description: 'A new random password, shown in this answer only; every login of the account ends.',
    security: docs.bearer,
    params: jsonSchema(AdminUserParams),
    response: {
      200: answer('The temporary password', z.object({ temporaryPassword: z.string() })),
      ...adminErrors({ 400: 'invalid id', 404: 'unknown user' }),
    },
  },
  rooms: {
    tags: ['admin'],
    summary: 'List every room',
    description:
      'Public and private rooms (never direct conversations) whose name contains `query`, newest activity first: by ' +
      "the time of the last message (the room's creation while it has none), then by id. `archived` keeps only " +
      'archived (`true`) or other (`false`) rooms. `next` is the `before` of the following page (null: the last one).',
    security: docs.bearer,
    querystring: jsonSchema(AdminRoomListQuery),
    response: {
      200: answer('A page of rooms', z.object({ rooms: z.array(AdminRoomDoc), next: z.string().nullable() })),
      ...adminErrors({ 400: 'invalid query' }),
    },
  },
  archive: {
    tags: ['admin'],
    summary: 'Archive or unarchive a room',
    description:
      'The same change as the `room:archive` event: an archived room is read-only, and its members hear `room:updated`. ' +
      'Idempotent.',
    security: docs.bearer,
    params: jsonSchema(AdminRoomParams),
    body: jsonSchema(AdminRoomUpdateInput),
    response: {
      200: answer('The room as it is now', z.object({ room: RoomDoc })),
      ...adminErrors({ 400: 'invalid input', 403: 'not an admin, or a direct conversation', 404: 'unknown room' }),
    },
  },
  export: {
    tags: ['admin'],
    summary: 'Export the data',
    description:
      'NDJSON (`application/x-ndjson`), streamed: one `{ type, data }` per line — every `user` (without password ' +
      'hashes), then every `room`, `membership` and `message`.',
    security: docs.bearer,
    response: { 200: { description: 'One JSON object per line', type: 'string' }, ...adminErrors() },
  },
};

export function accountRoutes(
  app: FastifyInstance,
  deps: {
    auth: AuthService;
    accounts: AccountService;
    rooms: RoomService;
    invites: InviteService;
    exports: ExportRepository;
    limiter: RateLimiter;
    publicUrl: string | undefined;
  },
): void {
  const { auth, accounts, limiter } = deps;

  /** The caller, after their request took its point of the per-user budget (PROTOCOL §2). */
  const caller = async (req: FastifyRequest): Promise<Principal> => {
    const principal = await requireUser(auth, req);
    await limiter.consume(principal.userId, 'default');
    return principal;
  };
  const admin = async (req: FastifyRequest): Promise<Principal> => {
    const principal = await caller(req);
    if (principal.role !== 'admin') throw forbidden('admins only');
    return principal;
  };

  app.patch('/api/me', { schema: schemas.profile }, async (req) => {
    const { userId } = await caller(req);
    return { user: await accounts.updateProfile(userId, parse(ProfileUpdateInput, req.body)) };
  });
  app.post('/api/me/password', { schema: schemas.password }, async (req, reply) => {
    const principal = await caller(req);
    await accounts.changePassword(principal, parse(PasswordChangeInput, req.body), req.ip);
    return reply.status(204).send();
  });
  app.post('/api/invites', { schema: schemas.invite }, async (req, reply) => {
    const principal = await caller(req);
    const origin = deps.publicUrl ?? `${req.protocol}://${req.host}`;
    const invite = await deps.invites.create(principal, parse(InviteCreateInput, req.body ?? {}), origin);
    return reply.status(201).send({ invite });
  });
  app.get('/api/admin/users', { schema: schemas.users }, async (req) => {
    const principal = await admin(req);
    const { query, limit } = parse(AdminUserListQuery, req.query);
    return { users: await accounts.listUsers(principal, query, limit) };
  });
  app.patch('/api/admin/users/:id', { schema: schemas.update }, async (req) => {
    const principal = await admin(req);
    const { id } = parse(AdminUserParams, req.params);
    return { user: await accounts.updateUser(principal, id, parse(AdminUserUpdateInput, req.body)) };
  });
  app.post('/api/admin/users/:id/password', { schema: schemas.reset }, async (req) => {
    const principal = await admin(req);
    const { id } = parse(AdminUserParams, req.params);
    return { temporaryPassword: await accounts.resetPassword(principal, id) };
  });
  app.get('/api/admin/rooms', { schema: schemas.rooms }, async (req) => {
    const principal = await admin(req);
    return deps.rooms.adminList(principal, parse(AdminRoomListQuery, req.query));
  });
  app.patch('/api/admin/rooms/:id', { schema: schemas.archive }, async (req) => {
    const principal = await admin(req);
    const { id } = parse(AdminRoomParams, req.params);
    const { archived } = parse(AdminRoomUpdateInput, req.body);
    return { room: await deps.rooms.archive(principal, id, archived) };
  });
  app.get('/api/admin/export', { schema: schemas.export }, async (req, reply) => {
    await admin(req);
    return reply
      .type('application/x-ndjson; charset=utf-8')
      .header('content-disposition', 'attachment; filename="switchboard-export.ndjson"')
      .send(Readable.from(exportData(deps.exports)));
  });
}
