/**
 * `client.accounts` (PROTOCOL §4.3): the signed-in user's display name and password, invite links,
 * and the admin's account management, over HTTP with the client's access token.
 */
import type { AdminUser, AdminUserUpdateInput, Invite, InviteCreateInput, User } from '@switchboard/protocol';
import { authorizedCall } from './http.js';
import type { TokenSource } from './tokens.js';

export class AccountsApi {
  constructor(
    private readonly server: () => string,
    private readonly tokens: TokenSource,
  ) {}

  async setDisplayName(displayName: string): Promise<User> {
    return (await this.request<{ user: User }>('PATCH', '/api/me', { displayName })).user;
  }

  /** Every other login of the user ends; this one stays. */
  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    await this.request<undefined>('POST', '/api/me/password', { currentPassword, newPassword });
  }

  async createInvite(input: InviteCreateInput = {}): Promise<Invite> {
    return (await this.request<{ invite: Invite }>('POST', '/api/invites', input)).invite;
  }

  /** Admins only: accounts whose username or display name contains `query`. */
  async listUsers(query = '', limit?: number): Promise<AdminUser[]> {
    const params = new URLSearchParams({ query, ...(limit === undefined ? {} : { limit: String(limit) }) });
    return (await this.request<{ users: AdminUser[] }>('GET', `/api/admin/users?${params.toString()}`)).users;
  }

  /** Admins only: a new role, or deactivation (every login of the user ends) and reactivation. */
  async updateUser(userId: string, change: AdminUserUpdateInput): Promise<AdminUser> {
    return (await this.request<{ user: AdminUser }>('PATCH', `/api/admin/users/${encodeURIComponent(userId)}`, change)).user;
  }

  /** Admins only: the temporary password, to hand to the user; their logins end. */
  async resetPassword(userId: string): Promise<string> {
    return (await this.request<{ temporaryPassword: string }>('POST', `/api/admin/users/${encodeURIComponent(userId)}/password`)).temporaryPassword;
  }

  private request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return authorizedCall<T>(this.server(), this.tokens, method, path, body);
  }
}
