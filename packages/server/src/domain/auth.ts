/**
 * Accounts and logins (PROTOCOL §3): register, login, refresh with rotation and reuse detection,
 * logout, and access-token verification for HTTP and the Socket.IO handshake; accounts made with an
 * invite (PROTOCOL §4.3) or by the command line.
 *
 * Access tokens are JWT, HS256 pinned, with `iss`/`aud`/`exp` checked and the login id in `sid`.
 * A login ends by logout, by refresh-token reuse, or by a change of password or deactivation
 * (domain/accounts.ts); from then on its access tokens are refused (every verification checks the
 * session and that its account is active, and takes the role as it is now) and `session.revoked`
 * tells the transports to drop its sockets on every node.
 *
 * Against guessing and floods (PROTOCOL §2): every register, login and refresh first spends one
 * point of its client IP's budget; a login then spends one of its (username, IP) failure budget
 * before its password is checked, given back only by success (all of it) or by a check that never
 * ran (that point); and every hash waits in the PasswordHasher's bounded queue. Unknown usernames
 * take the same path and cost as known ones.
 */
import { createHash, randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { BOT_TOKEN_PREFIX, type BotCreateInput, type BotCreated, type BotInfo, type LoginInput, type RegisterInput, type Session, type User } from '@switchboard/protocol';
import type { EventBus } from './bus.js';
import { AppError, conflict, forbidden, notFound, unauthenticated } from './errors.js';
import { newId } from './ids.js';
import { checkPasswordPolicy, type PasswordHasher } from './passwords.js';
import { ipKey, type RateLimiter } from '../scale/rate-limit.js';
import { isUniqueViolation } from '../store/errors.js';
import { claimInvite } from '../store/invites.js';
import { addMembersIn } from '../store/rooms.js';
import type { RoomRow, UserRow } from '../store/schema.js';
import { toRoom } from './rooms.js';
import type { BotRepository } from '../store/bots.js';
import type { SessionRepository, UserRepository } from '../store/users.js';

const ISSUER = 'switchboard';
const AUDIENCE = 'switchboard';

/** Who a verified access token speaks for. */
export interface Principal {
  userId: string;
  sessionId: string;
  role: User['role'];
  /** Expiry of the access token, ms since the epoch. */
  expiresAt: number;
}

export interface AuthOptions {
  secret: Uint8Array;
  accessTokenTtl: number;
  refreshTokenTtl: number;
  allowRegistration: boolean;
}

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    role: row.role,
    createdAt: row.created_at,
  };
}

const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * How long a bot's socket stays connected before it must authenticate again (`auth:expired`):
 * bot tokens do not expire, but every socket's login is re-checked this often.
 */
const BOT_SOCKET_TTL_MS = 24 * 3_600_000;

export class AuthService {
  constructor(
    private readonly users: UserRepository,
    private readonly sessions: SessionRepository,
    private readonly limiter: RateLimiter,
    private readonly hasher: PasswordHasher,
    private readonly bus: EventBus,
    private readonly options: AuthOptions,
    private readonly bots: BotRepository,
  ) {}

  /**
   * Counts one account request of `ip` against its budget (`RATE_LIMITED` past it). Transports call
   * it before they even parse the request, so malformed attempts count too.
   */
  admit(ip: string, kind: 'register' | 'login' | 'refresh'): Promise<void> {
    return this.limiter.consumeIp(ipKey(ip), kind === 'register' ? 'register' : 'auth');
  }

  /** `ip` (already admitted) is the request's line in the hashing queue. */
  async register(input: RegisterInput, ip: string): Promise<Session> {
    // An invite lets its holder in even where registration is closed (PROTOCOL §4.3).
    if (!this.options.allowRegistration && input.inviteCode === undefined) {
      throw new AppError('FORBIDDEN', 'registration is closed on this server');
    }
    const { row, joined } = await this.createAccount(input, ipKey(ip));
    // The rooms' members hear of the newcomer as of any join (`room:member`), on every node.
    for (const room of joined) this.bus.publish('room.members.added', { room: toRoom(room), userIds: [row.id], by: row.id, reason: 'join' });
    return this.startSession(row);
  }

  /**
   * Creates an account under the password policy (registration, and the command line with
   * `source` 'cli'). With `inviteCode`, one use of the invite is taken and its room joined in the
   * same transaction, so a refused code stores nothing. `joined`: every room the account is in
   * (`general`, the invite's room), each once and as it is afterwards.
   */
  async createAccount(input: RegisterInput, source: string): Promise<{ row: UserRow; joined: RoomRow[] }> {
    checkPasswordPolicy(input.password, input.username);
    if (await this.users.byUsername(input.username)) throw conflict('username is taken');
    const passwordHash = await this.hasher.hash(input.password, source);
    const { inviteCode } = input;
    let invited: RoomRow | undefined;
    try {
      const now = Date.now();
      const { row, autoJoined } = await this.users.create(
        {
          id: newId(),
          username: input.username,
          username_lower: input.username.toLowerCase(),
          display_name: input.displayName?.trim() ?? input.username,
          password_hash: passwordHash,
          created_at: now,
          last_seen_at: null,
        },
        inviteCode === undefined
          ? undefined
          : async (trx, user) => {
              const invite = await claimInvite(trx, inviteCode, now);
              if (!invite) throw forbidden('this invite is unknown, used up or expired');
              if (invite.room_id !== null) invited = (await addMembersIn(trx, invite.room_id, [user.id], now))?.room;
            },
      );
      // An invite to `general` finds the account a member already: the later row counts.
      const joined = autoJoined.filter((room) => room.id !== invited?.id);
      return { row, joined: invited ? [...joined, invited] : joined };
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('username is taken');
      throw err;
    }
  }

  /** `ip` (already admitted) keys the failed-login throttle together with the username. */
  async login(input: LoginInput, ip: string): Promise<Session> {
    const source = ipKey(ip);
    const key = `${input.username.toLowerCase()}|${source}`;
    await this.limiter.loginAttempt(key);
    let ok: boolean;
    let row: UserRow | undefined;
    try {
      row = await this.users.byUsername(input.username);
      // A bot has no password: it signs in with its token only, and takes the unknown user's path here.
      ok = row && row.role !== 'bot'
        ? await this.hasher.verify(input.password, row.password_hash, source)
        : await this.hasher.verifyDecoy(input.password, source);
    } catch (err) {
      await this.limiter.loginNotChecked(key);
      throw err;
    }
    if (!row || row.role === 'bot' || !ok) throw unauthenticated('wrong username or password');
    if (row.deactivated_at !== null) throw unauthenticated('this account is deactivated');
    await this.limiter.loginSucceeded(key);
    return this.startSession(row);
  }

  async refresh(refreshToken: string): Promise<Session> {
    const next = this.newRefreshToken();
    const result = await this.sessions.rotate(sha256(refreshToken), {
      hash: sha256(next.token),
      now: Date.now(),
      expiresAt: next.expiresAt,
    });
    if (result.outcome === 'reused') {
      // A spent token presented again means it leaked (OAuth 2.0 Security BCP §4.14.2): end the login.
      await this.revoke(result.sessionId, result.userId);
      throw unauthenticated('refresh token already used; the session has been ended');
    }
    if (result.outcome === 'invalid') throw unauthenticated('invalid or expired refresh token');
    const row = await this.users.byId(result.userId);
    if (!row) throw unauthenticated('account no longer exists');
    if (row.deactivated_at !== null) throw unauthenticated('this account is deactivated');
    return this.session(row, result.sessionId, next.token);
  }

  async logout(refreshToken: string): Promise<void> {
    const owner = await this.sessions.sessionOfToken(sha256(refreshToken));
    if (owner) await this.revoke(owner.sessionId, owner.userId);
  }

  /** Verifies an access token and that its login is still active; throws `UNAUTHENTICATED`. */
  async verify(token: string): Promise<Principal> {
    if (token.startsWith(BOT_TOKEN_PREFIX)) return this.verifyBot(token);
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.options.secret, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaims: ['sub', 'sid', 'exp'],
      }));
    } catch (err) {
      const reason = err instanceof joseErrors.JWTExpired ? 'access token expired' : 'invalid access token';
      throw new AppError('UNAUTHENTICATED', reason, { cause: err });
    }
    const { sub, sid, exp } = payload;
    if (typeof sub !== 'string' || typeof sid !== 'string' || typeof exp !== 'number') {
      throw unauthenticated('invalid access token');
    }
    // The role as it is now: an admin demoted a moment ago is no longer one, whatever the token says.
    const role = await this.sessions.activeRole(sid);
    if (role === undefined) throw unauthenticated('session has ended');
    return { userId: sub, sessionId: sid, role: role === 'admin' ? 'admin' : 'user', expiresAt: exp * 1000 };
  }

  /** Creates a bot (admins only); its token is in the answer and nowhere else. */
  async createBot(actor: Principal, input: BotCreateInput): Promise<BotCreated> {
    if (actor.role !== 'admin') throw forbidden('only admins create bots');
    if (await this.users.byUsername(input.username)) throw conflict('username is taken');
    const token = `${BOT_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const row: UserRow = {
      id: newId(),
      username: input.username,
      username_lower: input.username.toLowerCase(),
      display_name: input.displayName?.trim() ?? input.username,
      password_hash: '',
      role: 'bot',
      created_at: Date.now(),
      last_seen_at: null,
      deactivated_at: null,
    };
    try {
      await this.bots.create(row, newId(), sha256(token), actor.userId);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('username is taken');
      throw err;
    }
    return { bot: toUser(row), token };
  }

  /** Bots whose token works (admins only), newest first. */
  async listBots(actor: Principal): Promise<BotInfo[]> {
    if (actor.role !== 'admin') throw forbidden('only admins list bots');
    const rows = await this.bots.list();
    return rows.map((row) => ({ bot: toUser(row), createdAt: Number(row.token_created_at), createdBy: row.created_by }));
  }

  /** Deletes a bot (admins only): its token stops working at once, its sockets go on every node. */
  async deleteBot(actor: Principal, botId: string): Promise<void> {
    if (actor.role !== 'admin') throw forbidden('only admins delete bots');
    const sessionId = await this.bots.delete(botId, Date.now());
    if (sessionId === undefined) throw notFound('bot');
    this.bus.publish('session.revoked', { sessionId, userId: botId });
  }

  private async verifyBot(token: string): Promise<Principal> {
    const bot = await this.bots.byTokenHash(sha256(token));
    if (!bot) throw unauthenticated('invalid bot token');
    return { ...bot, role: 'bot', expiresAt: Date.now() + BOT_SOCKET_TTL_MS };
  }

  async me(userId: string): Promise<User> {
    const row = await this.users.byId(userId);
    if (!row) throw unauthenticated('account no longer exists');
    return toUser(row);
  }

  private async revoke(sessionId: string, userId: string): Promise<void> {
    await this.sessions.revoke(sessionId, Date.now());
    this.bus.publish('session.revoked', { sessionId, userId });
  }

  private async startSession(row: UserRow): Promise<Session> {
    const sessionId = newId();
    const refresh = this.newRefreshToken();
    await this.sessions.create({
      id: sessionId,
      userId: row.id,
      refreshHash: sha256(refresh.token),
      now: Date.now(),
      expiresAt: refresh.expiresAt,
    });
    return this.session(row, sessionId, refresh.token);
  }

  private async session(row: UserRow, sessionId: string, refreshToken: string): Promise<Session> {
    const ttl = this.options.accessTokenTtl;
    const accessToken = await new SignJWT({ sid: sessionId, role: row.role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(row.id)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + ttl)
      .setJti(randomBytes(8).toString('base64url'))
      .sign(this.options.secret);
    return { user: toUser(row), accessToken, refreshToken, expiresIn: ttl };
  }

  private newRefreshToken() {
    return {
      token: randomBytes(32).toString('base64url'),
      expiresAt: Date.now() + this.options.refreshTokenTtl * 1000,
    };
  }
}
