/**
 * Per-room ordering of incoming messages: the heart of "every message exactly once, in order".
 *
 * For each tracked room it keeps the highest contiguous `seq` delivered. A message is delivered
 * only when it is the next one (`seq === last + 1`); anything at or below `last` is a duplicate
 * (a re-delivery after a reconnect, a sync overlapping live events) and is dropped; anything
 * further ahead waits in a buffer while the caller fetches what is missing (`onGap`). Live
 * events and sync answers go through the same `accept()`, so their overlap cannot duplicate.
 */
import type { Message } from '@switchboard/protocol';

interface Track {
  last: number;
  /** Messages past a gap, by seq, waiting for the gap to fill. */
  ahead: Map<number, Message>;
  /** The version (what `message:updated` can change) last reported per message id, newest last, bounded. */
  reported: Map<string, string>;
}

/** Updates remembered per room to drop repeats: a sync reports recent edits again (its look-back). */
const REPORTED_MAX = 1000;

export interface SequencerHooks {
  deliver(message: Message): void;
  update(message: Message): void;
  /** A message arrived past a gap: what lies between must be fetched (`sync`). */
  gap(roomId: string): void;
}

export class Sequencer {
  private readonly rooms = new Map<string, Track>();
  /** Where rooms that stopped being tracked were, so re-joining does not deliver them twice. */
  private readonly left = new Map<string, number>();

  constructor(private readonly hooks: SequencerHooks) {}

  has(roomId: string): boolean {
    return this.rooms.has(roomId);
  }

  cursor(roomId: string): number | undefined {
    return this.rooms.get(roomId)?.last;
  }

  /** Every tracked room's cursor: the `rooms` of a `sync` request. */
  cursors(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [roomId, track] of this.rooms) out[roomId] = track.last;
    return out;
  }

  /** Starts tracking a room at `seq` (no-op when tracked); a room tracked before resumes where it was. */
  track(roomId: string, seq: number): void {
    if (this.rooms.has(roomId)) return;
    this.rooms.set(roomId, { last: Math.max(seq, this.left.get(roomId) ?? 0), ahead: new Map(), reported: new Map() });
    this.left.delete(roomId);
  }

  untrack(roomId: string): void {
    const track = this.rooms.get(roomId);
    if (!track) return;
    this.left.set(roomId, track.last);
    this.rooms.delete(roomId);
  }

  /** True when a room stopped being tracked (left, or no longer readable). */
  wasLeft(roomId: string): boolean {
    return this.left.has(roomId);
  }

  accept(message: Message): void {
    const track = this.rooms.get(message.roomId);
    if (!track || message.seq <= track.last) return;
    if (message.seq > track.last + 1) {
      track.ahead.set(message.seq, message);
      this.hooks.gap(message.roomId);
      return;
    }
    this.hooks.deliver(message);
    track.last = message.seq;
    for (let next = track.ahead.get(track.last + 1); next; next = track.ahead.get(track.last + 1)) {
      track.ahead.delete(next.seq);
      this.hooks.deliver(next);
      track.last = next.seq;
    }
  }

  /**
   * An edit, deletion, reaction or new reply count: reported once per version for delivered messages (a live
   * `message:updated` and a later sync's look-back carry the same one), folded into buffered ones.
   */
  update(message: Message): void {
    const track = this.rooms.get(message.roomId);
    if (!track) return;
    if (message.seq > track.last) {
      if (track.ahead.has(message.seq)) track.ahead.set(message.seq, message);
      return;
    }
    const version = JSON.stringify([message.editedAt, message.deleted, message.replyCount, message.lastReplyAt, message.reactions]);
    if (track.reported.get(message.id) === version) return;
    track.reported.delete(message.id);
    track.reported.set(message.id, version);
    if (track.reported.size > REPORTED_MAX) track.reported.delete(track.reported.keys().next().value as string);
    this.hooks.update(message);
  }
}
