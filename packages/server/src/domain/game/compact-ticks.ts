/**
 * Builds the compact tick (PROTOCOL §6 extension, docs/protocol.md §8 "compact ticks") that stands for one tick of a game,
 * from the tick before it. Whatever it builds it checks with the protocol's own decoding rule, and
 * sends a keyframe instead when a delta would not give exactly the real tick, so a client never
 * foresees a position the server did not reach.
 */
import {
  CompactDirections,
  CompactPhases,
  CompactTickLimits,
  applyCompactTick,
  foreseeTick,
  type CompactChange,
  type CompactTick,
  type Cycle,
  type GameTick,
} from '@switchboard/protocol';

const sameCycle = (a: Cycle | undefined, b: Cycle | undefined) =>
  a !== undefined && b !== undefined && a.seat === b.seat && a.x === b.x && a.y === b.y && a.dir === b.dir && a.alive === b.alive;

const sameTick = (a: GameTick, b: GameTick) =>
  a.tick === b.tick && a.phase === b.phase && a.cycles.length === b.cycles.length && a.cycles.every((c, i) => sameCycle(c, b.cycles[i]));

function keyframe(key: number, tick: GameTick): number[] {
  const frame = [key, tick.tick, CompactPhases.indexOf(tick.phase as (typeof CompactPhases)[number])];
  for (const c of tick.cycles) frame.push(c.x, c.y, CompactDirections.indexOf(c.dir), c.alive ? 1 : 0);
  return frame;
}

/** The compact tick for `next` (the tick after `prev`), or null when a client foresees it. */
export function compactTick(key: number, prev: GameTick, next: GameTick): CompactTick | null {
  if (next.tick % CompactTickLimits.keyframeEvery === 0 || next.phase !== prev.phase || next.tick !== prev.tick + 1) return keyframe(key, next);
  const foreseen = foreseeTick(prev);
  const changes: CompactChange[] = [];
  next.cycles.forEach((cycle, seat) => {
    if (sameCycle(cycle, foreseen.cycles[seat])) return;
    const dir = CompactDirections.indexOf(cycle.dir);
    changes.push(cycle.alive ? [seat, dir] : [seat, dir, 0]);
  });
  if (changes.length === 0 && next.cycles.length === prev.cycles.length) return null;
  const delta: CompactTick = [key, next.tick, ...changes];
  return sameTick(applyCompactTick(prev, delta), next) ? delta : keyframe(key, next);
}
