/**
 * Ratings and history of finished games (PROTOCOL §6): reads the players' ratings when a game
 * starts, and stores the result with the new Elo ratings when it ends. Bots are rated at the
 * initial rating and never stored; an aborted game changes no rating.
 */
import { GameLimits, type GameMode, type GameOverReason, type GamePlayer, type GameRecord, type LeaderboardEntry, type RatingChange } from '@switchboard/protocol';
import type { GameRepository } from '../../store/games.js';
import { rateGame } from './ratings.js';

export interface GameResult {
  gameId: string;
  mode: GameMode;
  startedAt: number;
  finishedAt: number;
  winnerSeat: number | null;
  reason: GameOverReason;
  players: readonly GamePlayer[];
}

export class GameRecords {
  constructor(private readonly repository: GameRepository) {}

  /** The rating of each user in `mode` (the initial rating for those who never played it). */
  async ratings(mode: GameMode, userIds: readonly string[]): Promise<Map<string, number>> {
    const stored = await this.repository.ratings(mode, userIds);
    return new Map(userIds.map((id) => [id, stored.get(id) ?? GameLimits.initialRating]));
  }

  /** Stores a finished game and its players' new ratings; returns the changes. */
  async finish(result: GameResult): Promise<RatingChange[]> {
    const after = result.reason === 'aborted' ? new Map<number, number>() : rateGame(result.players, result.winnerSeat);
    const changes = result.players
      .filter((p): p is GamePlayer & { userId: string } => p.userId !== null)
      .map((p) => ({ userId: p.userId, before: p.rating, after: after.get(p.seat) ?? p.rating, won: p.seat === result.winnerSeat }));
    await this.repository.save({
      id: result.gameId,
      mode: result.mode,
      startedAt: result.startedAt,
      finishedAt: result.finishedAt,
      winnerSeat: result.winnerSeat,
      reason: result.reason,
      players: result.players.map(({ seat, userId, name, bot }) => ({ seat, userId, name, bot })),
      ratings: result.reason === 'aborted' ? [] : changes.map((c) => ({ userId: c.userId, rating: c.after, won: c.won })),
    });
    return changes.map(({ userId, before, after: rating }) => ({ userId, before, after: rating }));
  }

  leaderboard(mode: GameMode): Promise<LeaderboardEntry[]> {
    return this.repository.leaderboard(mode, GameLimits.leaderboardMax);
  }

  history(userId: string): Promise<GameRecord[]> {
    return this.repository.history(userId, GameLimits.historyMax);
  }
}
