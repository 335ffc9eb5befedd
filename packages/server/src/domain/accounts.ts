/**
 * Accounts after sign-up (PROTOCOL §4.3): the user's display name and password, and what admins do to accounts — list them, change roles, deactivate, reset passwords. The command
 * line (cli.ts) calls the same methods with an admin actor of its own.
 *
 * Every way a login is taken away (a new password, a reset, deactivation) revokes the sessions in
 * the database first, so every verification refuses them from then on, and then publishes
 * `session.revoked` for each, which ends their connections on every transport and node.
 */
import { randomBytes } from 'node:crypto';
import {
  AccountLimits,
  type AdminUser,
  type AdminUserUpdateInput,
  type PasswordChangeInput,
  type ProfileUpdateInput,
  type User,
} from '@switchboard/protocol';
import type { EventBus } from './bus.js';
import { conflict, forbidden, notFound } from './errors.js';
import { checkPasswordPolicy, type PasswordHasher } from './passwords.js';
import { toUser, type Principal } from './auth.js';
import { ipKey, type RateLimiter } from '../scale/rate-limit.js';
import type { UserRow } from '../store/schema.js';
import type { SessionRepository, UserRepository } from '../store/users.js';

/** Who acts on accounts: a signed-in user, or the command line (an admin by definition). */
export type Actor = Pick<Principal, 'userId' | 'role'>;

/** The command line's actor: whoever can run it on the server's data is its administrator. */
export const CONSOLE: Actor = { userId: 'console', role: 'admin' };

export function toAdminUser(row: UserRow): AdminUser {
  return { ...toUser(row), deactivated: row.deactivated_at !== null, lastSeenAt: row.last_seen_at };
}

function requireAdmin(actor: Actor): void {
  if (actor.role !== 'admin') throw forbidden('only admins manage accounts');
}

export class AccountService {
  constructor(
    private readonly users: UserRepository,
    private readonly sessions: SessionRepository,
    private readonly limiter: RateLimiter,
    private readonly hasher: PasswordHasher,
    private readonly bus: EventBus,
  ) {}

  async updateProfile(userId: string, input: ProfileUpdateInput): Promise<User> {
    const row = await this.users.update(userId, { display_name: input.displayName });
    if (!row) throw notFound('user');
    return toUser(row);
  }

  /**
   * Sets a new password after checking the current one; every other login of the user ends. The
   * check counts against the same failure budget as logins (per username and IP), so a stolen
   * access token cannot be used to guess the password.
   */
  async changePassword(principal: Principal, input: PasswordChangeInput, ip: string): Promise<void> {
    const row = await this.users.byId(principal.userId);
    if (!row || row.role === 'bot') throw forbidden('this account has no password');
    checkPasswordPolicy(input.newPassword, row.username);
    const source = ipKey(ip);
    const key = `${row.username_lower}|${source}`;
    await this.limiter.loginAttempt(key);
    let ok: boolean;
    try {
      ok = await this.hasher.verify(input.currentPassword, row.password_hash, source);
    } catch (err) {
      await this.limiter.loginNotChecked(key);
      throw err;
    }
    if (!ok) throw forbidden('the current password is wrong');
    await this.limiter.loginSucceeded(key);
    await this.users.update(row.id, { password_hash: await this.hasher.hash(input.newPassword, source) });
    await this.endLogins(row.id, { keep: principal.sessionId });
  }

  async listUsers(actor: Actor, query: string | undefined, limit: number | undefined): Promise<AdminUser[]> {
    requireAdmin(actor);
    const rows = await this.users.adminSearch(query ?? '', limit ?? AccountLimits.adminUsersDefault);
    return rows.map(toAdminUser);
  }

  async byUsername(actor: Actor, username: string): Promise<AdminUser> {
    requireAdmin(actor);
    const row = await this.users.byUsername(username);
    if (!row || row.role === 'bot') throw notFound('user');
    return toAdminUser(row);
  }

  /**
   * Changes a role or deactivates (or reactivates) an account. There is always an active admin
   * left (`CONFLICT` otherwise, decided in one transaction); deactivating ends every login at once.
   */
  async updateUser(actor: Actor, userId: string, input: AdminUserUpdateInput): Promise<AdminUser> {
    requireAdmin(actor);
    const deactivatedAt = input.deactivated === undefined ? undefined : input.deactivated ? Date.now() : null;
    const result = await this.users.changeStanding(userId, { role: input.role, deactivatedAt });
    switch (result.outcome) {
      case 'not-found':
        throw notFound('user');
      case 'bot':
        throw forbidden('bots are managed with /api/bots');
      case 'last-admin':
        throw conflict('this is the last active admin: make someone else admin first');
    }
    if (input.deactivated === true) await this.endLogins(userId, { deactivated: true });
    if (input.role === 'user' && result.was === 'admin') this.bus.publish('user.demoted', { userId });
    return toAdminUser(result.row);
  }

  /** Gives the user a new random password, shown once to the admin; their logins end. */
  async resetPassword(actor: Actor, userId: string): Promise<string> {
    requireAdmin(actor);
    const row = await this.users.byId(userId);
    if (!row || row.role === 'bot') throw notFound('user');
    let password: string;
    // 16 random characters are never common, but may by chance contain a short username.
    do password = randomBytes(12).toString('base64url');
    while (!passesPolicy(password, row.username));
    await this.users.update(userId, { password_hash: await this.hasher.hash(password, 'admin') });
    await this.endLogins(userId, {});
    return password;
  }

  private async endLogins(userId: string, options: { keep?: string; deactivated?: boolean }): Promise<void> {
    const ended = await this.sessions.revokeAllOf(userId, Date.now(), options.keep);
    for (const sessionId of ended) {
      this.bus.publish('session.revoked', { sessionId, userId, ...(options.deactivated ? { deactivated: true } : {}) });
    }
  }
}

function passesPolicy(password: string, username: string): boolean {
  try {
    checkPasswordPolicy(password, username);
    return true;
  } catch {
    return false;
  }
}
