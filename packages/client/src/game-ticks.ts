/**
 * Turns the compact tick stream of `/game` (PROTOCOL §6 extension, docs/protocol.md §8 "compact ticks") back into the
 * `GameTick`s that `game:tick` carries, so an app renders the same objects whichever stream it
 * asked for. The stream says only what a client cannot foresee; the decoder foresees the rest, one
 * tick at a time, with the protocol's own rule (the one the server checks its compact ticks with).
 *
 * Feed it every full picture of a game the socket gets — `game:state`, the `game:watch` answer's
 * state, and any `game:tick` that came before the socket asked for compact ticks — and every `t`.
 */
import { applyCompactTick, foreseeTick, type CompactTick, type GameState, type GameTick } from '@switchboard/protocol';

export class GameTickDecoder {
  /** The last tick decoded, per game key. */
  private readonly latest = new Map<number, GameTick>();
  private readonly keys = new Map<string, number>();

  /** A full picture of a game: decoding goes on from it. A `game:tick` counts only for a game whose state came first (it has no key). */
  state(picture: GameState | GameTick): void {
    const key = 'key' in picture ? picture.key : this.keys.get(picture.gameId);
    if (key === undefined) return;
    this.keys.set(picture.gameId, key);
    const { gameId, tick, phase, cycles } = picture;
    this.latest.set(key, { gameId, tick, phase, cycles: cycles.map((c) => ({ ...c })) });
  }

  /**
   * A `t` event: every tick from the one after the last decoded up to this one, in order. Nothing
   * for a game no state was given for, or for a tick already decoded.
   */
  push(compact: CompactTick): GameTick[] {
    const key = compact[0] as number;
    const tick = compact[1] as number;
    let last = this.latest.get(key);
    if (!last || tick <= last.tick) return [];
    const ticks: GameTick[] = [];
    while (last.tick + 1 < tick) {
      last = foreseeTick(last);
      ticks.push(last);
    }
    last = applyCompactTick(last, compact);
    ticks.push(last);
    this.latest.set(key, last);
    return ticks.map((t) => ({ ...t, cycles: t.cycles.map((c) => ({ ...c })) }));
  }

  /** Stops following a game (after its `game:over`, or leaving it). */
  forget(gameId: string): void {
    const key = this.keys.get(gameId);
    if (key === undefined) return;
    this.keys.delete(gameId);
    this.latest.delete(key);
  }
}
