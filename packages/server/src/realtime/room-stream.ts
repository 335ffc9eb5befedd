/**
 * One room's messages for one connection of a plain transport (`/ws` subscriptions, SSE streams):
 * what follows a seq, read from the database, then the live messages, in seq order, each once.
 *
 * Live messages that arrive while the stream reads the database wait in a small buffer and are
 * deduplicated by seq; past the buffer they are read back from the database instead, so a busy room
 * costs a slow connection no more than `PENDING_MAX` messages. A live message that is not the next
 * seq was overtaken by an earlier one (two nodes' broadcasts cross): seqs commit in order, so the
 * earlier one is stored, and the stream reads it before going on. No gap, no repeat.
 */
import { Limits, type Message } from '@switchboard/protocol';
import type { Logger } from 'pino';
import type { MessageService } from '../domain/messages.js';

/** Live messages a stream holds while it reads the database. */
const PENDING_MAX = Limits.pageMax;

/** Where a stream's messages go. */
export interface RoomStreamSink {
  /** Resolves when the connection may take another page (its client has read enough). */
  whenReadable(): Promise<void>;
  /** Sends one message: called in seq order, each seq once. */
  send(message: Message): void;
  /** The connection is gone: the stream stops reading. */
  isClosed(): boolean;
}

export class RoomStream {
  /** The seq of the last message sent. */
  cursor = 0;
  private busy = true;
  private pending: Message[] = [];
  private missed = false;
  private stopped = false;

  constructor(
    readonly roomId: string,
    private readonly userId: string,
    private readonly messages: MessageService,
    private readonly sink: RoomStreamSink,
    private readonly log: Logger,
  ) {}

  /**
   * Sends what follows `afterSeq` (or, without it, starts after the room's latest message) and
   * resolves once caught up; live messages given to `live` meanwhile are sent in their turn. The
   * caller starts listening for live messages before calling this, so none falls in between.
   * Rejects (NOT_FOUND, FORBIDDEN, …) when the user may not read the room.
   */
  async start(afterSeq: number | undefined): Promise<void> {
    if (afterSeq === undefined) {
      const latest = await this.messages.history(this.userId, { roomId: this.roomId, limit: 1 });
      this.cursor = latest.messages.at(-1)?.seq ?? 0;
    } else {
      this.cursor = afterSeq;
    }
    await this.catchUp();
  }

  /** A live message of the room. */
  live(message: Message): void {
    if (this.stopped) return;
    if (this.busy) {
      if (this.pending.length < PENDING_MAX) this.pending.push(message);
      else this.missed = true;
      return;
    }
    if (message.seq <= this.cursor) return;
    if (message.seq === this.cursor + 1) return this.deliver(message);
    this.pending.push(message);
    this.catchUp().catch((err: unknown) => {
      // The membership ended or the database failed: the stream stops; its client resubscribes.
      this.log.debug({ err, roomId: this.roomId, userId: this.userId }, 'room stream stopped');
      this.stop();
    });
  }

  /** Whether `seq` was sent already (an update to it concerns the client). */
  sent(seq: number): boolean {
    return seq <= this.cursor;
  }

  stop(): void {
    this.stopped = true;
  }

  private deliver(message: Message): void {
    this.cursor = message.seq;
    this.sink.send(message);
  }

  private async catchUp(): Promise<void> {
    this.busy = true;
    /** Rounds in a row that read nothing new from the database. */
    let stale = 0;
    try {
      for (;;) {
        const before = this.cursor;
        let hasMore = true;
        while (hasMore) {
          await this.sink.whenReadable();
          if (this.stopped || this.sink.isClosed()) return;
          const page = await this.messages.history(this.userId, { roomId: this.roomId, afterSeq: this.cursor, limit: Limits.pageMax });
          if (this.stopped || this.sink.isClosed()) return;
          for (const message of page.messages) if (message.seq > this.cursor) this.deliver(message);
          hasMore = page.hasMore;
        }
        stale = this.cursor === before ? stale + 1 : 0;
        const pending = this.pending.sort((a, b) => a.seq - b.seq);
        let gap = this.missed;
        this.pending = [];
        this.missed = false;
        for (const message of pending) {
          if (message.seq <= this.cursor) continue;
          if (message.seq !== this.cursor + 1) {
            // A read that started after this message arrived returns what precedes it, so a
            // second round without progress means the database broke that promise: go on
            // rather than spin.
            if (stale < 2) {
              gap = true;
              break;
            }
            this.log.error({ roomId: this.roomId, cursor: this.cursor, seq: message.seq }, 'room stream skipped missing seqs');
          }
          this.deliver(message);
        }
        if (!gap) return;
      }
    } finally {
      this.busy = false;
    }
  }
}
