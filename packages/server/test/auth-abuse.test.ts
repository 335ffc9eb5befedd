/**
 * Credential guessing and unauthenticated floods (PROTOCOL §2): the failed-login throttle holds
 * against parallel guesses on one node and across nodes, per-IP budgets stop one address, the
 * password-hash queue is bounded and fair, and new passwords meet the policy.
 *
 * Distinct client IPs come from binding the client socket to other loopback addresses
 * (127.0.0.2, 127.0.0.3, …, all routed to `lo` on Linux): the server sees them as the peer
 * address, and trusts no X-Forwarded-For.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Session } from '@switchboard/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSockets, connect, eventually, http, register, startServer, uniqueName, type TestServer } from './helpers.js';
import { ipKey } from '../src/scale/rate-limit.js';
import { startCluster, type TestCluster } from './multinode.js';
import { PROCESS_TEST_TIMEOUT_MS, spawnServer, type ServerProcess } from './processes.js';

interface Answer<T = unknown> {
  status: number;
  body: T;
  /** The Retry-After header, in seconds. */
  retryAfter: number | undefined;
}

type ErrorBody = { error: { code: string; message: string; retryAfterMs?: number } };

/** POSTs JSON from the client address `from`, on a connection of its own. */
function post<T = ErrorBody>(url: string, path: string, body: unknown, from = '127.0.0.1'): Promise<Answer<T>> {
  const target = new URL(path, url);
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        localAddress: from,
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          const header = res.headers['retry-after'];
          resolve({
            status: res.statusCode ?? 0,
            body: (text ? JSON.parse(text) : undefined) as T,
            retryAfter: header === undefined ? undefined : Number(header),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const login = (url: string, username: string, password: string, from?: string) =>
  post(url, '/api/auth/login', { username, password }, from);

const count = (answers: Answer[], status: number) => answers.filter((a) => a.status === status).length;

/** Every RATE_LIMITED answer carries retryAfterMs in the body and Retry-After in the headers. */
function expectRetryAfter(answers: Answer[]): void {
  for (const a of answers) {
    const error = (a.body as ErrorBody).error;
    expect(error.retryAfterMs).toBeGreaterThan(0);
    expect(a.retryAfter).toBeGreaterThan(0);
  }
}

const PASSWORD = 'correct horse battery';
const GUESSES = 300;
const RIGHT_AT = 250;

/**
 * Fires GUESSES logins for one user from one IP at once, spread round-robin over `urls`; the one
 * at RIGHT_AT has the right password. Checks that only the failure budget of 10 was verified.
 */
async function parallelGuesses(urls: string[], username: string): Promise<void> {
  const answers = await Promise.all(
    Array.from({ length: GUESSES }, (_, i) =>
      login(urls[i % urls.length]!, username, i === RIGHT_AT ? PASSWORD : `wrong-guess-${i}`, '127.0.0.2'),
    ),
  );
  expect(count(answers, 401)).toBe(10);
  expect(count(answers, 200)).toBe(0);
  expect(count(answers, 429)).toBe(GUESSES - 10);
  expect(answers[RIGHT_AT]!.status).toBe(429);
  expectRetryAfter(answers.filter((a) => a.status === 429));

  // The throttle is per (username, IP): the owner elsewhere still gets in, and that success clears
  // only their own count, not the guesser's.
  expect((await login(urls[0]!, username, PASSWORD, '127.0.0.3')).status).toBe(200);
  for (const url of urls) expect((await login(url, username, PASSWORD, '127.0.0.2')).status).toBe(429);
}

describe('failed-login throttle against parallel guesses', () => {
  let t: TestServer;
  beforeAll(async () => {
    // A per-IP budget out of the way, so that the per-(username, IP) throttle is what is tested.
    t = await startServer({ LOGIN_IP_BURST: 100_000 });
  });
  afterAll(() => t.close());

  it('verifies at most 10 of hundreds of simultaneous guesses on one node; the right password past them is 429', async () => {
    const s = await register(t.url, uniqueName('victim'), PASSWORD);
    await parallelGuesses([t.url], s.user.username);
  });

  it('counts unknown usernames like known ones', async () => {
    const ghost = uniqueName('ghost');
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => login(t.url, ghost, `wrong-guess-${i}`, '127.0.0.4')));
    expect(count(answers, 401)).toBe(10);
    expect(count(answers, 429)).toBe(30);
  });

  it('a successful login clears the count of its username and IP', async () => {
    const s = await register(t.url, uniqueName('forgetful'), PASSWORD);
    const name = s.user.username;
    for (let i = 0; i < 9; i++) expect((await login(t.url, name, `wrong-guess-${i}`, '127.0.0.5')).status).toBe(401);
    expect((await login(t.url, name, PASSWORD, '127.0.0.5')).status).toBe(200);
    const again = await Promise.all(Array.from({ length: 15 }, (_, i) => login(t.url, name, `wrong-again-${i}`, '127.0.0.5')));
    expect(count(again, 401)).toBe(10);
    expect(count(again, 429)).toBe(5);
  });
});

describe('failed-login throttle on two nodes sharing Redis and PostgreSQL', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster(2, { LOGIN_IP_BURST: 100_000, REGISTER_IP_BURST: 30 });
  }, 60_000);
  afterAll(() => cluster.close());

  it('verifies at most 10 guesses in all, however they are split between the nodes', async () => {
    const urls = cluster.nodes.map((n) => n.url);
    const s = await register(urls[0]!, uniqueName('victim'), PASSWORD);
    await parallelGuesses(urls, s.user.username);
  });

  it('shares the per-IP registration budget between the nodes', async () => {
    const urls = cluster.nodes.map((n) => n.url);
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        post(urls[i % 2]!, '/api/auth/register', { username: uniqueName('spread'), password: PASSWORD }, '127.0.0.6'),
      ),
    );
    const created = count(answers, 201);
    // 30 at once, and 1 more if a minute turns during the test.
    expect(created).toBeGreaterThanOrEqual(30);
    expect(created).toBeLessThanOrEqual(31);
    expect(count(answers, 429)).toBe(40 - created);
  });
});

describe('failed-login throttle in a cluster without Redis (WORKERS=2)', () => {
  let server: ServerProcess;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'switchboard-auth-abuse-'));
    server = await spawnServer({ WORKERS: '2', DATA_DIR: dataDir, LOGIN_IP_BURST: '100000', LOG_LEVEL: 'debug' });
  }, PROCESS_TEST_TIMEOUT_MS);
  afterAll(async () => {
    closeSockets();
    server.kill('SIGTERM');
    await server.exited;
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** The pids of the workers that served the requests to `path` so far, in order. */
  const servedBy = (path: string) =>
    server.logs
      .filter((e) => e.msg === 'incoming request' && (e.req as { url?: string } | undefined)?.url === path)
      .map((e) => e.pid as number);

  it('verifies at most 10 guesses in all: simultaneous guesses on one worker, then on the other', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
    const s = await register(server.url, uniqueName('victim'), PASSWORD);
    const name = s.user.username;
    const wave = (from: number) =>
      Promise.all(
        Array.from({ length: 150 }, (_, i) =>
          login(server.url, name, from + i === RIGHT_AT ? PASSWORD : `wrong-guess-${from + i}`, '127.0.0.2'),
        ),
      );

    const first = await wave(0);
    await eventually(() => servedBy('/api/auth/login').length === 150, 10_000, 'the request lines');
    const firstWorkers = new Set(servedBy('/api/auth/login'));
    expect(firstWorkers.size).toBe(1);

    // Requests go to the worker with the fewest sockets: sockets on the first one send the next
    // requests to the other.
    for (let i = 0; i < 8; i++) {
      const before = servedBy('/api/me').length;
      await http(server.url, 'GET', '/api/me');
      await eventually(() => servedBy('/api/me').length > before, 10_000, 'the probe line');
      if (!firstWorkers.has(servedBy('/api/me')[before]!)) break;
      await connect(server.url, '/chat', s.accessToken);
    }
    const second = await wave(150);
    await eventually(() => servedBy('/api/auth/login').length === 300, 10_000, 'the request lines');
    expect(new Set(servedBy('/api/auth/login')).size).toBe(2);

    const answers = [...first, ...second];
    expect(count(answers, 401)).toBe(10);
    expect(count(answers, 429)).toBe(GUESSES - 10);
    expect(count(second, 429)).toBe(150);
    expect(answers[RIGHT_AT]!.status).toBe(429);
    expectRetryAfter(answers.filter((a) => a.status === 429));
  });
});

describe('per-IP budgets before any account is known', () => {
  let t: TestServer;
  beforeAll(async () => {
    // The documented defaults, which helpers.ts raises for suites that register many accounts.
    t = await startServer({ REGISTER_IP_BURST: 30 });
  });
  afterAll(() => t.close());

  it('allows one IP a burst of 30 logins and refreshes together, then 429; other IPs are not affected', async () => {
    const s = await register(t.url, uniqueName('bystander'), PASSWORD);
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        i % 2 === 0
          ? post(t.url, '/api/auth/refresh', { refreshToken: `bogus-${i}` }, '127.0.0.7')
          : login(t.url, uniqueName('nobody'), `wrong-guess-${i}`, '127.0.0.7'),
      ),
    );
    const passed = count(answers, 401);
    // 30 at once, and 1 more for each second the flood lasts (a few, on a busy machine).
    expect(passed).toBeGreaterThanOrEqual(30);
    expect(passed).toBeLessThanOrEqual(40);
    expect(count(answers, 429)).toBe(100 - passed);
    expectRetryAfter(answers.filter((a) => a.status === 429));

    expect((await login(t.url, s.user.username, PASSWORD, '127.0.0.8')).status).toBe(200);
  });

  it('allows one IP a burst of 30 registration attempts, refused ones included, then 429', async () => {
    const refused = await Promise.all(
      Array.from({ length: 5 }, () => post(t.url, '/api/auth/register', { username: 'x', password: PASSWORD }, '127.0.0.9')),
    );
    expect(refused.map((a) => a.status)).toEqual([400, 400, 400, 400, 400]);
    const answers = await Promise.all(
      Array.from({ length: 40 }, () => post(t.url, '/api/auth/register', { username: uniqueName('burst'), password: PASSWORD }, '127.0.0.9')),
    );
    const created = count(answers, 201);
    // 25 left of the burst, and 1 more if a minute turns during the test.
    expect(created).toBeGreaterThanOrEqual(25);
    expect(created).toBeLessThanOrEqual(26);
    expect(count(answers, 429)).toBe(40 - created);
    expectRetryAfter(answers.filter((a) => a.status === 429));

    const elsewhere = await post<Session>(t.url, '/api/auth/register', { username: uniqueName('other'), password: PASSWORD }, '127.0.0.10');
    expect(elsewhere.status).toBe(201);
  });
});

describe('what "per IP" counts by', () => {
  it('is the address for IPv4, also IPv4-mapped, and the /64 network for IPv6', () => {
    expect(ipKey('::ffff:127.0.0.2')).toBe('127.0.0.2');
    expect(ipKey('203.0.113.9')).toBe('203.0.113.9');
    expect(ipKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(ipKey('2001:0db8:0001:0002:ffff:1:2:3')).toBe('2001:db8:1:2::/64');
    expect(ipKey('2001:db8:1:3::1')).not.toBe(ipKey('2001:db8:1:2::1'));
  });
});

describe('the password-hash queue', () => {
  let t: TestServer;
  beforeAll(async () => {
    // One hash at a time, four waiting, at a cost that keeps each one busy for a while (64 MiB);
    // the per-IP login budget out of the way.
    t = await startServer({ SCRYPT_COST: 65_536, PASSWORD_HASH_CONCURRENCY: 1, PASSWORD_HASH_QUEUE: 4, LOGIN_IP_BURST: 100_000 });
  });
  afterAll(() => t.close());

  it('turns a flood away with 503 and Retry-After beyond its bound, while a login from another IP gets through', async () => {
    const s = await register(t.url, uniqueName('regular'), PASSWORD);
    const flood = Array.from({ length: 30 }, (_, i) => login(t.url, uniqueName('nobody'), `wrong-guess-${i}`, '127.0.0.11'));
    // Once the first flood request is refused, the queue is full of the flood: the regular user's
    // login still takes a place in it.
    const firstRefusal = Promise.race(flood.map((p) => p.then((a) => (a.status === 503 ? a : new Promise<never>(() => undefined)))));
    await Promise.race([firstRefusal, Promise.all(flood)]);
    const regular = await login(t.url, s.user.username, PASSWORD, '127.0.0.12');
    expect(regular.status).toBe(200);

    const answers = await Promise.all(flood);
    const busy = answers.filter((a) => a.status === 503);
    expect(busy.length).toBeGreaterThan(0);
    expect(count(answers, 401) + busy.length).toBe(30);
    for (const a of busy) {
      expect((a.body as ErrorBody).error.code).toBe('UNAVAILABLE');
      expect(a.retryAfter).toBeGreaterThan(0);
    }
  });

  it('gives back the failure point of a login whose password was never checked', async () => {
    const s = await register(t.url, uniqueName('patient'), PASSWORD);
    const name = s.user.username;
    // 30 at once from one IP: many are turned away by the queue, and those must not count as failures.
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => login(t.url, name, `wrong-guess-${i}`, '127.0.0.13')));
    const failed = count(answers, 401);
    expect(failed).toBeLessThanOrEqual(10);
    expect(count(answers, 503)).toBeGreaterThan(0);
    expect(failed + count(answers, 503) + count(answers, 429)).toBe(30);
    for (let i = failed; i < 10; i++) expect((await login(t.url, name, `wrong-later-${i}`, '127.0.0.13')).status).toBe(401);
    expect((await login(t.url, name, PASSWORD, '127.0.0.13')).status).toBe(429);
  });
});

describe('password policy', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer();
  });
  afterAll(() => t.close());

  it.each([['password123'], ['Sunshine2024!'], ['QWERTYUIOP'], ['iloveyou!!'], ['Football 1']])(
    'refuses the common password %j with 400 INVALID_ARGUMENT',
    async (password) => {
      const res = await post(t.url, '/api/auth/register', { username: uniqueName('common'), password });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_ARGUMENT');
      expect(res.body.error.message).toMatch(/^password: is too common/);
    },
  );

  it('refuses a password that contains the username, in any case', async () => {
    const username = uniqueName('Zed');
    for (const password of [username, `My-${username.toUpperCase()}-pw`]) {
      const res = await post(t.url, '/api/auth/register', { username, password });
      expect(res.status).toBe(400);
      expect(res.body.error).toEqual({ code: 'INVALID_ARGUMENT', message: 'password: contains the username' });
    }
  });

  it('accepts an uncommon password, and a common word inside a longer passphrase', async () => {
    for (const password of ['tangerine-harbor-7', 'my dragon sleeps under the stairs']) {
      const res = await post<Session>(t.url, '/api/auth/register', { username: uniqueName('fine'), password });
      expect(res.status).toBe(201);
    }
  });
});
