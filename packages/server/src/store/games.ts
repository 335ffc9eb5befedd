/**
 * Finished games and Elo ratings (PROTOCOL §6). A game and the ratings it changed are stored in
 * one transaction, so the history and the leaderboard never disagree.
 */
import type { GameMode, GameOverReason, GameRecord, LeaderboardEntry } from '@switchboard/protocol';
import type { Kysely } from 'kysely';
import type { DB } from './schema.js';

export interface FinishedGame {
  id: string;
  mode: GameMode;
  startedAt: number;
  finishedAt: number;
  winnerSeat: number | null;
  reason: GameOverReason;
  players: GameRecord['players'];
  /** New ratings of the people who played, and whether each won. */
  ratings: { userId: string; rating: number; won: boolean }[];
}

export class GameRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Current ratings of `userIds` in `mode`; users without a row are missing from the map. */
  async ratings(mode: GameMode, userIds: readonly string[]): Promise<Map<string, number>> {
    if (userIds.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('ratings')
      .select(['user_id', 'rating'])
      .where('mode', '=', mode)
      .where('user_id', 'in', [...userIds])
      .execute();
    return new Map(rows.map((r) => [r.user_id, Number(r.rating)]));
  }

  async save(game: FinishedGame): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('games')
        .values({
          id: game.id,
          mode: game.mode,
          started_at: game.startedAt,
          finished_at: game.finishedAt,
          winner_seat: game.winnerSeat,
          reason: game.reason,
          players: JSON.stringify(game.players),
        })
        .execute();
      const people = game.players.filter((p) => p.userId !== null);
      if (people.length > 0) {
        await trx
          .insertInto('game_players')
          .values(people.map((p) => ({ game_id: game.id, user_id: p.userId as string, seat: p.seat, finished_at: game.finishedAt })))
          .execute();
      }
      for (const r of game.ratings) {
        const win = r.won ? 1 : 0;
        await trx
          .insertInto('ratings')
          .values({ user_id: r.userId, mode: game.mode, rating: r.rating, games: 1, wins: win })
          .onConflict((oc) =>
            oc.columns(['user_id', 'mode']).doUpdateSet((eb) => ({
              rating: r.rating,
              games: eb('ratings.games', '+', 1),
              wins: eb('ratings.wins', '+', win),
            })),
          )
          .execute();
      }
    });
  }

  async leaderboard(mode: GameMode, limit: number): Promise<LeaderboardEntry[]> {
    const rows = await this.db
      .selectFrom('ratings')
      .innerJoin('users', 'users.id', 'ratings.user_id')
      .select(['ratings.user_id', 'users.username', 'ratings.rating', 'ratings.games', 'ratings.wins'])
      .where('ratings.mode', '=', mode)
      .orderBy('ratings.rating', 'desc')
      .orderBy('ratings.user_id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ userId: r.user_id, username: r.username, rating: Number(r.rating), games: Number(r.games), wins: Number(r.wins) }));
  }

  /** A user's finished games, newest first. */
  async history(userId: string, limit: number): Promise<GameRecord[]> {
    const rows = await this.db
      .selectFrom('game_players')
      .innerJoin('games', 'games.id', 'game_players.game_id')
      .select(['games.id', 'games.mode', 'games.finished_at', 'games.winner_seat', 'games.reason', 'games.players'])
      .where('game_players.user_id', '=', userId)
      .orderBy('game_players.finished_at', 'desc')
      .orderBy('games.id', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      gameId: r.id,
      mode: r.mode as GameMode,
      finishedAt: Number(r.finished_at),
      winnerSeat: r.winner_seat === null ? null : Number(r.winner_seat),
      reason: r.reason as GameOverReason,
      players: JSON.parse(r.players) as GameRecord['players'],
    }));
  }
}
