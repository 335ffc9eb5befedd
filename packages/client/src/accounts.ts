/**
 * `client.accounts` (PROTOCOL §4.3): the signed-in user's display name and password, invite links,
 * and the admin's account and room management, over HTTP with the client's access token.
 */
import type { AdminRoom, AdminUser, AdminUserUpdateInput, Invite, InviteCreateInput, Room, User } from '@switchboard/protocol';
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

  /**
   * Admins only: a page of public and private rooms whose name contains `query`, newest activity
   * first; `next` (null on the last page) is the `before` of the page that follows.
   */
  async listRooms(options: { query?: string; archived?: boolean; limit?: number; before?: string } = {}): Promise<{ rooms: AdminRoom[]; next: string | null }> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(options)) if (value !== undefined) params.set(key, String(value));
    return this.request<{ rooms: AdminRoom[]; next: string | null }>('GET', `/api/admin/rooms?${params.toString()}`);
  }

  /** Admins only: archives (read-only) or unarchives a room, as `chat.archiveRoom` does. */
  async setRoomArchived(roomId: string, archived: boolean): Promise<Room> {
    return (await this.request<{ room: Room }>('PATCH', `/api/admin/rooms/${encodeURIComponent(roomId)}`, { archived })).room;
  }

  private request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return authorizedCall<T>(this.server(), this.tokens, method, path, body);
  }
}
