/** Users, sessions (logins) and refresh tokens. */
import { PostgresAdapter, sql, type Kysely, type Transaction } from 'kysely';
import { escapeLike } from './db.js';
import type { DB, NewUser, RoomRow, UserRow } from './schema.js';

/**
 * A new account joins every room marked `auto_join` (`general`) in the transaction that creates it
 * (PROTOCOL §4.3). Room rows are locked (by the `member_count` update) before memberships are
 * written, the order store/rooms.ts keeps. Returns the rooms joined, as they are afterwards.
 */
async function joinAutoJoinRooms(trx: Transaction<DB>, userId: string, now: number): Promise<RoomRow[]> {
  const rooms = await trx
    .updateTable('rooms')
    .set((eb) => ({ member_count: eb('member_count', '+', 1) }))
    .where('auto_join', '=', 1)
    .returningAll()
    .execute();
  if (rooms.length === 0) return rooms;
  await trx
    .insertInto('memberships')
    .values(rooms.map((r) => ({ room_id: r.id, user_id: userId, joined_at: now })))
    .execute();
  return rooms;
}

export class UserRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * Inserts a user; the first user ever stored becomes admin (decided inside the transaction).
   * `also` runs in the same transaction after the insert (an invite's use and room); if it throws,
   * nothing is stored. `autoJoined`: the rooms the account joined as it was created (`general`).
   */
  async create(
    user: Omit<NewUser, 'role'>,
    also?: (trx: Transaction<DB>, row: UserRow) => Promise<void>,
  ): Promise<{ row: UserRow; autoJoined: RoomRow[] }> {
    return this.db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom('users').select('id').limit(1).executeTakeFirst();
      const row: UserRow = { ...user, role: existing ? 'user' : 'admin', last_seen_at: user.last_seen_at ?? null, deactivated_at: null };
      await trx.insertInto('users').values(row).execute();
      const autoJoined = await joinAutoJoinRooms(trx, row.id, row.created_at);
      await also?.(trx, row);
      return { row, autoJoined };
    });
  }

  async update(id: string, change: Pick<Partial<UserRow>, 'display_name' | 'password_hash'>): Promise<UserRow | undefined> {
    return this.db.updateTable('users').set(change).where('id', '=', id).returningAll().executeTakeFirst();
  }

  /**
   * People (never bots) whose username or display name contains `query`, for admins: the same
   * order as `search`, deactivated accounts included.
   */
  adminSearch(query: string, limit: number): Promise<UserRow[]> {
    const contains = `%${escapeLike(query.toLowerCase())}%`;
    return this.db
      .selectFrom('users')
      .selectAll()
      .where('role', '!=', 'bot')
      .where((eb) =>
        eb.or([sql<boolean>`username_lower like ${contains} escape '\\'`, sql<boolean>`lower(display_name) like ${contains} escape '\\'`]),
      )
      .orderBy('username_lower')
      .limit(limit)
      .execute();
  }

  /**
   * Changes a person's role or deactivation, keeping at least one active admin: `last-admin` when
   * the change would leave none. Race-safe: on PostgreSQL the active admins' rows are locked first
   * (in id order, so two changes never deadlock) and re-read by whoever waited; SQLite transactions
   * take the write lock when they begin (store/db.ts).
   */
  async changeStanding(
    id: string,
    change: { role?: 'admin' | 'user' | undefined; deactivatedAt?: number | null | undefined },
  ): Promise<{ outcome: 'changed'; row: UserRow; was: UserRow['role'] } | { outcome: 'not-found' | 'bot' | 'last-admin' }> {
    const postgres = this.db.getExecutor().adapter instanceof PostgresAdapter;
    return this.db.transaction().execute(async (trx) => {
      const admins = await trx
        .selectFrom('users')
        .select('id')
        .where('role', '=', 'admin')
        .where('deactivated_at', 'is', null)
        .orderBy('id')
        .$if(postgres, (q) => q.forUpdate())
        .execute();
      const row = await trx.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) return { outcome: 'not-found' as const };
      if (row.role === 'bot') return { outcome: 'bot' as const };
      const role = change.role ?? row.role;
      const deactivatedAt = change.deactivatedAt === undefined ? row.deactivated_at : change.deactivatedAt;
      const staysActiveAdmin = role === 'admin' && deactivatedAt === null;
      if (admins.some((a) => a.id === id) && !staysActiveAdmin && admins.length === 1) return { outcome: 'last-admin' as const };
      const updated = await trx
        .updateTable('users')
        .set({ role, deactivated_at: deactivatedAt })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      return { outcome: 'changed' as const, row: updated, was: row.role };
    });
  }

  byId(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async adminIds(): Promise<string[]> {
    const rows = await this.db.selectFrom('users').select('id').where('role', '=', 'admin').execute();
    return rows.map((r) => r.id);
  }

  byUsername(username: string): Promise<UserRow | undefined> {
    return this.db
      .selectFrom('users')
      .selectAll()
      .where('username_lower', '=', username.toLowerCase())
      .executeTakeFirst();
  }

  byIds(ids: readonly string[]): Promise<UserRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('users').selectAll().where('id', 'in', ids).execute();
  }

  byUsernames(usernames: readonly string[]): Promise<UserRow[]> {
    if (usernames.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom('users')
      .selectAll()
      .where('username_lower', 'in', usernames.map((u) => u.toLowerCase()))
      .execute();
  }

  /**
   * Users whose username or display name contains `query`, case-insensitively: username prefix
   * matches first, then the others, each by username. Only the public columns are read.
   */
  search(query: string, limit: number): Promise<Pick<UserRow, 'id' | 'username' | 'display_name'>[]> {
    const needle = escapeLike(query.toLowerCase());
    const contains = `%${needle}%`;
    // ESCAPE is spelled out: SQLite has no default escape character for LIKE. Display names
    // have no lower-cased column, so they are lowered here (ASCII only on SQLite).
    return this.db
      .selectFrom('users')
      .select(['id', 'username', 'display_name'])
      .where((eb) =>
        eb.or([
          sql<boolean>`username_lower like ${contains} escape '\\'`,
          sql<boolean>`lower(display_name) like ${contains} escape '\\'`,
        ]),
      )
      .orderBy(sql`case when username_lower like ${`${needle}%`} escape '\\' then 0 else 1 end`)
      .orderBy('username_lower')
      .limit(limit)
      .execute();
  }

  async setLastSeen(id: string, at: number): Promise<void> {
    await this.db.updateTable('users').set({ last_seen_at: at }).where('id', '=', id).execute();
  }
}

export class SessionRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async create(session: { id: string; userId: string; refreshHash: string; now: number; expiresAt: number }) {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('sessions')
        .values({ id: session.id, user_id: session.userId, created_at: session.now, revoked_at: null })
        .execute();
      await trx
        .insertInto('refresh_tokens')
        .values({
          token_hash: session.refreshHash,
          session_id: session.id,
          created_at: session.now,
          expires_at: session.expiresAt,
          used_at: null,
        })
        .execute();
    });
  }

  /** Whether the login is active: not ended, and its account not deactivated. */
  isActive(sessionId: string): Promise<boolean> {
    return this.activeRole(sessionId).then((role) => role !== undefined);
  }

  /** The role of an active login's user now (it may have changed since the token was signed). */
  activeRole(sessionId: string): Promise<UserRow['role'] | undefined> {
    return this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select('users.role')
      .where('sessions.id', '=', sessionId)
      .where('sessions.revoked_at', 'is', null)
      .where('users.deactivated_at', 'is', null)
      .executeTakeFirst()
      .then((row) => row?.role);
  }

  /** Ends every active login of the user but `keep`; returns the ids of those it ended. */
  async revokeAllOf(userId: string, now: number, keep?: string): Promise<string[]> {
    const rows = await this.db
      .updateTable('sessions')
      .set({ revoked_at: now })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .$if(keep !== undefined, (q) => q.where('id', '!=', keep ?? ''))
      .returning('id')
      .execute();
    return rows.map((r) => r.id);
  }

  /**
   * Exchanges a refresh token for a new one, atomically: the old token is marked used only if it
   * was unused, so two concurrent exchanges cannot both succeed.
   * - `rotated`: the new token is stored; `reused`: the token was already spent (the caller
   *   revokes the session); `invalid`: unknown, expired, or its session has ended.
   */
  async rotate(
    oldHash: string,
    next: { hash: string; now: number; expiresAt: number },
  ): Promise<{ outcome: 'rotated'; sessionId: string; userId: string } | { outcome: 'reused'; sessionId: string; userId: string } | { outcome: 'invalid' }> {
    return this.db.transaction().execute(async (trx) => {
      const token = await trx
        .selectFrom('refresh_tokens')
        .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
        .select([
          'refresh_tokens.session_id',
          'refresh_tokens.expires_at',
          'refresh_tokens.used_at',
          'sessions.user_id',
          'sessions.revoked_at',
        ])
        .where('refresh_tokens.token_hash', '=', oldHash)
        .executeTakeFirst();
      if (!token || token.revoked_at !== null) return { outcome: 'invalid' as const };
      const ids = { sessionId: token.session_id, userId: token.user_id };
      if (token.used_at !== null) return { outcome: 'reused' as const, ...ids };
      if (token.expires_at <= next.now) return { outcome: 'invalid' as const };
      const claimed = await trx
        .updateTable('refresh_tokens')
        .set({ used_at: next.now })
        .where('token_hash', '=', oldHash)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) return { outcome: 'reused' as const, ...ids };
      await trx
        .insertInto('refresh_tokens')
        .values({
          token_hash: next.hash,
          session_id: token.session_id,
          created_at: next.now,
          expires_at: next.expiresAt,
          used_at: null,
        })
        .execute();
      return { outcome: 'rotated' as const, ...ids };
    });
  }

  /** The session a refresh token belongs to, spent or not. */
  sessionOfToken(hash: string): Promise<{ sessionId: string; userId: string } | undefined> {
    return this.db
      .selectFrom('refresh_tokens')
      .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
      .select(['sessions.id as sessionId', 'sessions.user_id as userId'])
      .where('refresh_tokens.token_hash', '=', hash)
      .executeTakeFirst();
  }

  /** Ends a login; true when it was active until now. */
  async revoke(sessionId: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('sessions')
      .set({ revoked_at: now })
      .where('id', '=', sessionId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}
