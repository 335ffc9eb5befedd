/**
 * Matchmaking: a queue per mode. The longest-waiting player is matched first, with the players
 * closest to its rating inside a window that widens the longer it waits; once it has waited
 * `botFillMs`, bots take the seats no one within its window took. Pure: the caller passes the time.
 */
import { GameLimits, type GameMode } from '@switchboard/protocol';

export interface QueueEntry {
  userId: string;
  name: string;
  rating: number;
  mode: GameMode;
  /** When it joined the queue (ms). */
  since: number;
}

export interface Match {
  mode: GameMode;
  /** The people matched, the longest-waiting first; bots fill `seats - humans.length`. */
  humans: QueueEntry[];
  seats: number;
}

/** Rating difference accepted at once, and its growth per second of waiting. */
export const WINDOW_BASE = 100;
export const WINDOW_PER_SECOND = 25;

export class Matchmaker {
  private readonly queues: Record<GameMode, QueueEntry[]> = { duel: [], quad: [] };

  constructor(private readonly botFillMs: number) {}

  /** Queues the user for `mode` (replacing any earlier place in a queue). */
  enqueue(entry: QueueEntry): void {
    this.cancel(entry.userId);
    this.queues[entry.mode].push(entry);
  }

  /** Takes the user out of every queue; whether it was in one. */
  cancel(userId: string): boolean {
    let found = false;
    for (const mode of Object.keys(this.queues) as GameMode[]) {
      const before = this.queues[mode].length;
      this.queues[mode] = this.queues[mode].filter((e) => e.userId !== userId);
      found ||= this.queues[mode].length !== before;
    }
    return found;
  }

  isQueued(userId: string): boolean {
    return Object.values(this.queues).some((q) => q.some((e) => e.userId === userId));
  }

  /** The games that can start at `now`; their players leave the queue. */
  poll(now: number): Match[] {
    const matches: Match[] = [];
    for (const mode of Object.keys(this.queues) as GameMode[]) {
      const seats = GameLimits.seats[mode];
      let match = this.take(mode, seats, now);
      while (match) {
        matches.push(match);
        match = this.take(mode, seats, now);
      }
    }
    return matches;
  }

  /** The first game of `mode` that can start, trying the longest-waiting players first. */
  private take(mode: GameMode, seats: number, now: number): Match | undefined {
    const queue = this.queues[mode];
    for (const anchor of queue) {
      const waited = now - anchor.since;
      const window = WINDOW_BASE + (WINDOW_PER_SECOND * waited) / 1000;
      const near = queue
        .filter((e) => e !== anchor && Math.abs(e.rating - anchor.rating) <= window)
        .sort((a, b) => Math.abs(a.rating - anchor.rating) - Math.abs(b.rating - anchor.rating) || a.since - b.since)
        .slice(0, seats - 1);
      if (near.length === seats - 1 || waited >= this.botFillMs) {
        const humans = [anchor, ...near];
        this.queues[mode] = queue.filter((e) => !humans.includes(e));
        return { mode, humans, seats };
      }
    }
    return undefined;
  }
}
