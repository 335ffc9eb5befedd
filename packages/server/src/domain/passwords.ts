/**
 * Passwords: hashing with scrypt (memory-hard, RFC 7914) from Node's own crypto, so no native
 * add-on to build; the bounded, fair queue every hash waits in; and the policy new passwords meet.
 * Hashes are stored as `scrypt$N$r$p$salt$hash` (base64url) so the cost can rise later while old
 * hashes still verify.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { ErrorCode } from '@switchboard/protocol';
import { commonPasswords } from './common-passwords.js';
import { AppError, invalid } from './errors.js';

const KEY_LENGTH = 32;
const R = 8;
const P = 1;

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

async function hashPassword(password: string, cost: number): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, cost, R, P);
  return ['scrypt', cost, R, P, salt.toString('base64url'), key.toString('base64url')].join('$');
}

async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await derive(password, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p));
  return key.length === expected.length && timingSafeEqual(key, expected);
}

const busy = () =>
  new AppError(ErrorCode.UNAVAILABLE, 'the server is busy checking passwords; try again shortly', { retryAfterMs: 1000 });

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * At most `concurrency` jobs at once, at most `maxQueued` waiting, served round-robin by source
 * (the client IP), so a flood from one source delays everyone else by at most one job per turn.
 * When the queue is full, a newcomer takes the place of the newest waiter of the longest line
 * if that line is longer than the newcomer's own would be; otherwise it is turned away at once.
 * One flooding source thus cannot crowd the others out. Hand-written because the queues on npm
 * (p-limit, p-queue) are FIFO or priority queues, neither fair between sources nor bounded.
 */
class FairQueue {
  private running = 0;
  private queued = 0;
  /** Lines by source; the Map's order is the round: the next job comes from its first line. */
  private readonly lines = new Map<string, Waiter[]>();

  constructor(
    private readonly concurrency: number,
    private readonly maxQueued: number,
  ) {}

  async run<T>(source: string, job: () => Promise<T>): Promise<T> {
    if (this.running < this.concurrency) this.running++;
    else await this.wait(source);
    try {
      return await job();
    } finally {
      this.next();
    }
  }

  private wait(source: string): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.queued >= this.maxQueued && !this.evictFor(source)) {
        reject(busy());
        return;
      }
      const line = this.lines.get(source);
      if (line) line.push({ resolve, reject });
      else this.lines.set(source, [{ resolve, reject }]);
      this.queued++;
    });
  }

  private evictFor(source: string): boolean {
    const own = this.lines.get(source)?.length ?? 0;
    let longest: Waiter[] | undefined;
    for (const line of this.lines.values()) if (!longest || line.length > longest.length) longest = line;
    if (!longest || longest.length <= own + 1) return false;
    // The longest line has at least two waiters, so it stays in the round.
    longest.pop()?.reject(busy());
    this.queued--;
    return true;
  }

  /** Hands the finished job's slot to the first line's oldest waiter, and sends that line to the back. */
  private next(): void {
    const first = this.lines.entries().next();
    if (first.done) {
      this.running--;
      return;
    }
    const [source, line] = first.value;
    const waiter = line.shift();
    this.queued--;
    this.lines.delete(source);
    if (line.length > 0) this.lines.set(source, line);
    waiter?.resolve();
  }
}

export interface HasherOptions {
  /** scrypt N of new hashes. */
  cost: number;
  /** Hashes computed at once. */
  concurrency: number;
  /** Hashes waiting beyond those; more are refused with `UNAVAILABLE`. */
  maxQueued: number;
}

/**
 * Every scrypt computation of the server, bounded: each costs tens of milliseconds of CPU and
 * 16 MiB at the default cost, so an unbounded number at once would let a flood of logins starve
 * the event loop's thread pool and memory. Past the queue, callers get `UNAVAILABLE` (with
 * `retryAfterMs`) at once instead of waiting without end.
 */
export class PasswordHasher {
  private readonly queue: FairQueue;
  private decoy: Promise<string> | undefined;

  constructor(private readonly options: HasherOptions) {
    this.queue = new FairQueue(options.concurrency, options.maxQueued);
  }

  /** A new hash of `password`; `source` (the client IP) is its line in the queue. */
  hash(password: string, source: string): Promise<string> {
    return this.queue.run(source, () => hashPassword(password, this.options.cost));
  }

  verify(password: string, stored: string, source: string): Promise<boolean> {
    return this.queue.run(source, () => verifyPassword(password, stored));
  }

  /**
   * Costs what `verify` costs, in time and in its place in the queue, and is always false: for
   * unknown usernames, so that a login's answer time does not tell whether the account exists.
   */
  async verifyDecoy(password: string, source: string): Promise<false> {
    // Made once, outside the queue: it is one hash per process lifetime.
    const decoy = await (this.decoy ??= hashPassword(randomBytes(16).toString('hex'), this.options.cost));
    await this.verify(password, decoy, source);
    return false;
  }
}

const common = new Set(commonPasswords.split('\n').filter(Boolean));

/** Digits, punctuation and spaces at the end: what people add to a common word to pass a policy. */
const SUFFIX = /[\d\p{P}\p{S}\s]+$/u;
/** Shorter stems than this are too likely to match by chance to refuse a password for. */
const MIN_STEM = 4;

/**
 * Refuses, with `INVALID_ARGUMENT`, a new password that is one of the 10,000 most used ones, or
 * one of those followed by digits or symbols ("Sunshine2024!"), or that contains the username:
 * these fall first to guessing (NIST SP 800-63B §3.1.1.2 asks to check against such lists).
 */
export function checkPasswordPolicy(password: string, username: string): void {
  const folded = password.normalize('NFKC').toLowerCase();
  if (folded.includes(username.toLowerCase())) {
    throw invalid('password: contains the username');
  }
  const stem = folded.replace(SUFFIX, '');
  if (common.has(folded) || (stem.length >= MIN_STEM && common.has(stem))) {
    throw invalid('password: is too common (one of the 10,000 most used, perhaps with digits or symbols added)');
  }
}
