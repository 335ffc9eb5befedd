/**
 * Elo for games of 2 or 4: every pair of players is one Elo match (the winner beat each other
 * player; everyone else, and everyone in a drawn game, drew), and a player's change is the mean
 * over its pairs. Bots take part with their rating but are never stored.
 */
import type { GamePlayer } from '@switchboard/protocol';

const K = 32;

/** Each player's rating after the game, by seat, rounded to whole points. */
export function rateGame(players: readonly Pick<GamePlayer, 'seat' | 'rating'>[], winnerSeat: number | null): Map<number, number> {
  const after = new Map<number, number>();
  for (const p of players) {
    let delta = 0;
    for (const q of players) {
      if (q === p) continue;
      const expected = 1 / (1 + 10 ** ((q.rating - p.rating) / 400));
      const score = p.seat === winnerSeat ? 1 : q.seat === winnerSeat ? 0 : 0.5;
      delta += K * (score - expected);
    }
    after.set(p.seat, Math.round(p.rating + delta / Math.max(1, players.length - 1)));
  }
  return after;
}
