/**
 * Bot accounts (PROTOCOL §8): a user with role `bot`, a login (session) that never expires on its
 * own, and the SHA-256 of its token. Deleting a bot revokes its login, which ends its token
 * everywhere at once; the user row stays, as its messages name it.
 */
import type { Kysely } from 'kysely';
import type { DB, UserRow } from './schema.js';

export class BotRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Stores the bot, its login and its token's hash in one transaction. */
  async create(bot: UserRow, sessionId: string, tokenHash: string, createdBy: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('users').values(bot).execute();
      await trx.insertInto('sessions').values({ id: sessionId, user_id: bot.id, created_at: bot.created_at, revoked_at: null }).execute();
      await trx
        .insertInto('bot_tokens')
        .values({ token_hash: tokenHash, user_id: bot.id, session_id: sessionId, created_by: createdBy, created_at: bot.created_at })
        .execute();
    });
  }

  /** Bots with a live token, newest first, with who created them. */
  list(): Promise<(UserRow & { token_created_at: number; created_by: string })[]> {
    return this.db
      .selectFrom('bot_tokens')
      .innerJoin('users', 'users.id', 'bot_tokens.user_id')
      .selectAll('users')
      .select(['bot_tokens.created_at as token_created_at', 'bot_tokens.created_by as created_by'])
      .orderBy('bot_tokens.created_at', 'desc')
      .execute();
  }

  /** The bot and login a token hash belongs to, while the login is active. */
  byTokenHash(tokenHash: string): Promise<{ userId: string; sessionId: string } | undefined> {
    return this.db
      .selectFrom('bot_tokens')
      .innerJoin('sessions', 'sessions.id', 'bot_tokens.session_id')
      .select(['bot_tokens.user_id as userId', 'bot_tokens.session_id as sessionId'])
      .where('bot_tokens.token_hash', '=', tokenHash)
      .where('sessions.revoked_at', 'is', null)
      .executeTakeFirst();
  }

  /** Ends the bot's token: revokes its login; its login id, or undefined when there is no such live bot. */
  async delete(botId: string, now: number): Promise<string | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const token = await trx.selectFrom('bot_tokens').select('session_id').where('user_id', '=', botId).executeTakeFirst();
      if (!token) return undefined;
      await trx.deleteFrom('bot_tokens').where('user_id', '=', botId).execute();
      await trx.updateTable('sessions').set({ revoked_at: now }).where('id', '=', token.session_id).where('revoked_at', 'is', null).execute();
      return token.session_id;
    });
  }
}
