/**
 * The outbox: messages on their way to the server, for "pending → sent / failed" in UIs and
 * for the guarantee that nothing typed is lost or doubled.
 *
 * Each entry has a `clientMsgId` fixed once, so every retry is the same message to the server,
 * which stores it once (PROTOCOL §4.1). Order per room is kept by sending one message of a room
 * at a time: the next one goes out only when the previous one is acknowledged (or has failed for
 * good). Rooms do not wait for each other. What happens on a failed attempt:
 *
 * - no answer (ack timeout, connection lost): tried again, on the next connect when offline;
 * - `RATE_LIMITED`: tried again after `retryAfterMs`;
 * - `UNAVAILABLE`, `UNAUTHENTICATED` (a token being renewed): tried again with backoff;
 * - anything else (`FORBIDDEN`, `NOT_FOUND`, `INVALID_ARGUMENT`, `PAYLOAD_TOO_LARGE`, …): the
 *   entry is `failed` until the app calls `retry()` (or `discard()`).
 */
import { ErrorCode, type Message } from '@switchboard/protocol';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { SwitchboardError } from './errors.js';

export type OutboxStatus = 'pending' | 'sent' | 'failed';

export interface OutboxEntry {
  readonly clientMsgId: string;
  readonly roomId: string;
  readonly text: string;
  readonly attachmentIds: readonly string[] | undefined;
  /** The thread root this message replies to. */
  readonly threadId: string | undefined;
  /** When `send()` was called, ms. */
  readonly createdAt: number;
  readonly status: OutboxStatus;
  /** Attempts made so far. */
  readonly attempts: number;
  /** The stored message, once `sent`. */
  readonly message: Message | undefined;
  /** Why the entry `failed` (or why the last attempt did not go through). */
  readonly error: SwitchboardError | undefined;
}

interface Entry {
  clientMsgId: string;
  roomId: string;
  text: string;
  attachmentIds: readonly string[] | undefined;
  threadId: string | undefined;
  createdAt: number;
  status: OutboxStatus;
  attempts: number;
  message: Message | undefined;
  error: SwitchboardError | undefined;
  waiters: { resolve: (m: Message) => void; reject: (e: SwitchboardError) => void }[];
}

export interface OutboxHooks {
  /** One attempt: resolves to the stored message or rejects with a SwitchboardError. */
  send(entry: OutboxEntry): Promise<Message>;
  connected(): boolean;
  /** `entry` changed; `entries` are all pending and failed entries, in send order. */
  changed(entry: OutboxEntry, entries: readonly OutboxEntry[]): void;
}

const snapshot = (e: Entry): OutboxEntry => ({
  clientMsgId: e.clientMsgId,
  roomId: e.roomId,
  text: e.text,
  attachmentIds: e.attachmentIds,
  threadId: e.threadId,
  createdAt: e.createdAt,
  status: e.status,
  attempts: e.attempts,
  message: e.message,
  error: e.error,
});

export class Outbox {
  /** Pending and failed entries; a Map keeps insertion (= send) order. */
  private readonly entries = new Map<string, Entry>();
  /** Rooms with an attempt in flight or a retry timer running. */
  private readonly busy = new Map<string, ReturnType<typeof setTimeout> | 'sending'>();
  private closed = false;

  constructor(
    private readonly hooks: OutboxHooks,
    private readonly backoff: BackoffOptions,
  ) {}

  list(): OutboxEntry[] {
    return [...this.entries.values()].map(snapshot);
  }

  add(input: { clientMsgId: string; roomId: string; text: string; attachmentIds?: readonly string[]; threadId?: string }): Promise<Message> {
    const existing = this.entries.get(input.clientMsgId);
    if (existing) return existing.status === 'failed' ? this.retry(input.clientMsgId) : this.wait(existing);
    const entry: Entry = {
      clientMsgId: input.clientMsgId,
      roomId: input.roomId,
      text: input.text,
      attachmentIds: input.attachmentIds,
      threadId: input.threadId,
      createdAt: Date.now(),
      status: 'pending',
      attempts: 0,
      message: undefined,
      error: undefined,
      waiters: [],
    };
    this.entries.set(entry.clientMsgId, entry);
    const done = this.wait(entry);
    this.notify(entry);
    this.pumpRoom(entry.roomId);
    return done;
  }

  /** Puts a failed entry back in line (behind what is pending in its room). */
  retry(clientMsgId: string): Promise<Message> {
    const entry = this.entries.get(clientMsgId);
    if (!entry) {
      return Promise.reject(new SwitchboardError(ErrorCode.NOT_FOUND, `no outbox entry ${clientMsgId}`, { local: true }));
    }
    if (entry.status === 'failed') {
      // Re-inserting moves it to the end of the send order.
      this.entries.delete(clientMsgId);
      this.entries.set(clientMsgId, entry);
      entry.status = 'pending';
      entry.error = undefined;
      this.notify(entry);
    }
    const done = this.wait(entry);
    this.pumpRoom(entry.roomId);
    return done;
  }

  /** Drops a failed entry (a pending one cannot be recalled: it may already be stored). */
  discard(clientMsgId: string): boolean {
    const entry = this.entries.get(clientMsgId);
    if (entry?.status !== 'failed') return false;
    this.entries.delete(clientMsgId);
    this.notify(entry);
    return true;
  }

  /** Starts whatever can go now (called on every connect). */
  pump(): void {
    for (const roomId of new Set([...this.entries.values()].map((e) => e.roomId))) this.pumpRoom(roomId);
  }

  /** Stops; pending sends reject with `error` (their entries stay listed as pending). */
  close(error: SwitchboardError): void {
    this.closed = true;
    for (const timer of this.busy.values()) if (timer !== 'sending') clearTimeout(timer);
    this.busy.clear();
    for (const entry of this.entries.values()) for (const w of entry.waiters.splice(0)) w.reject(error);
  }

  private wait(entry: Entry): Promise<Message> {
    return new Promise((resolve, reject) => entry.waiters.push({ resolve, reject }));
  }

  private notify(entry: Entry): void {
    this.hooks.changed(snapshot(entry), this.list());
  }

  private pumpRoom(roomId: string): void {
    if (this.closed || this.busy.has(roomId) || !this.hooks.connected()) return;
    const entry = [...this.entries.values()].find((e) => e.roomId === roomId && e.status === 'pending');
    if (!entry) return;
    this.busy.set(roomId, 'sending');
    entry.attempts++;
    this.hooks.send(snapshot(entry)).then(
      (message) => {
        if (this.closed) return;
        this.busy.delete(roomId);
        this.entries.delete(entry.clientMsgId);
        entry.status = 'sent';
        entry.message = message;
        entry.error = undefined;
        this.notify(entry);
        for (const w of entry.waiters.splice(0)) w.resolve(message);
        this.pumpRoom(roomId);
      },
      (err: unknown) => {
        if (this.closed) return;
        this.busy.delete(roomId);
        const error = err instanceof SwitchboardError ? err : SwitchboardError.noAnswer('message:send', err);
        entry.error = error;
        const delay = this.retryDelay(error, entry.attempts);
        if (delay === undefined) {
          entry.status = 'failed';
          this.notify(entry);
          for (const w of entry.waiters.splice(0)) w.reject(error);
          this.pumpRoom(roomId);
        } else if (delay === 0) {
          this.pumpRoom(roomId); // offline: the next connect pumps
        } else {
          this.busy.set(
            roomId,
            setTimeout(() => {
              this.busy.delete(roomId);
              this.pumpRoom(roomId);
            }, delay),
          );
        }
      },
    );
  }

  /** How long to wait before the next attempt; undefined when the entry has failed for good. */
  private retryDelay(error: SwitchboardError, attempts: number): number | undefined {
    if (error.local) return this.hooks.connected() ? backoffDelay(attempts - 1, this.backoff) : 0;
    switch (error.code) {
      case ErrorCode.RATE_LIMITED:
        return Math.max(1, error.retryAfterMs ?? this.backoff.min);
      case ErrorCode.UNAVAILABLE:
      case ErrorCode.UNAUTHENTICATED:
        return Math.max(1, backoffDelay(attempts - 1, this.backoff));
      default:
        return undefined;
    }
  }
}
