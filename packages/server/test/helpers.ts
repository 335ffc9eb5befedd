/**
 * Test factories: a real Switchboard server on port 0 with its own DATA_DIR (and, for
 * PostgreSQL, its own database), real socket.io-client sockets, and small request helpers.
 * Everything cleans up after itself.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import type { Result, Session } from '@switchboard/protocol';
import { createServer, type ServerOptions, type SwitchboardServer } from '../src/server.js';

export type DialectName = 'sqlite' | 'postgres';
export const dialects: DialectName[] = ['sqlite', 'postgres'];

/** The machine's PostgreSQL; each test server gets a database of its own inside it. */
const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A new, empty database in the machine's PostgreSQL, and how to drop it. */
export async function createPgDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `sb_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface TestServer {
  server: SwitchboardServer;
  url: string;
  dataDir: string;
  databaseUrl: string | undefined;
  /** Stops the server, keeping its data (for restart tests). */
  stop(): Promise<void>;
  /** Starts a new server on the same data; the old one must be stopped. */
  restart(overrides?: ServerOptions): Promise<TestServer>;
  /** Stops the server and deletes its data. */
  close(): Promise<void>;
}

export async function startServer(
  options: ServerOptions & { dialect?: DialectName; dataDir?: string; databaseUrl?: string; dropDatabase?: () => Promise<void> } = {},
): Promise<TestServer> {
  const { dialect = 'sqlite', dataDir: givenDir, databaseUrl: givenUrl, dropDatabase: givenDrop, ...overrides } = options;
  const dataDir = givenDir ?? mkdtempSync(join(tmpdir(), 'switchboard-test-'));
  let databaseUrl = givenUrl;
  let drop = givenDrop;
  if (dialect === 'postgres' && !databaseUrl) {
    const created = await createPgDatabase();
    databaseUrl = created.url;
    drop = created.drop;
  }
  const server = await createServer({
    PORT: 0,
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: (process.env.TEST_LOG_LEVEL as 'silent' | undefined) ?? 'silent',
    SCRYPT_COST: 1024,
    // Suites register dozens of accounts from 127.0.0.1; auth-abuse.test.ts tests the real budget.
    REGISTER_IP_BURST: 10_000,
    ...overrides,
  });
  const url = await server.listen();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await server.close();
  };
  return {
    server,
    url,
    dataDir,
    databaseUrl,
    stop,
    restart: (more = {}) =>
      startServer({ ...overrides, ...more, dialect, dataDir, databaseUrl, dropDatabase: drop }),
    close: async () => {
      await stop();
      await drop?.();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let userCounter = 0;

/** A fresh, unique username for this test process. */
export function uniqueName(prefix = 'user'): string {
  return `${prefix}${process.pid.toString(36)}${(userCounter++).toString(36)}${randomBytes(2).toString('hex')}`;
}

export async function http<T = unknown>(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; body: T; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url + path, {
    method,
    headers,
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

export async function register(url: string, username = uniqueName(), password = 'correct horse battery'): Promise<Session> {
  const res = await http<Session>(url, 'POST', '/api/auth/register', { username, password });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

const sockets = new Set<Socket>();

/** Connects a real socket.io-client socket to a namespace and waits for the connection. */
export async function connect(
  url: string,
  namespace: '/chat' | '/notifications' | '/monitor' | '/game' | '/',
  token: string,
  options: { transports?: ('websocket' | 'polling')[]; reconnection?: boolean } = {},
): Promise<Socket> {
  const socket = io(url + namespace, {
    auth: { token },
    transports: options.transports ?? ['websocket'],
    reconnection: options.reconnection ?? false,
    forceNew: true,
  });
  sockets.add(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}

/** A socket that is expected to fail its handshake: resolves to the `connect_error` message. */
export async function connectError(url: string, namespace: string, auth: Record<string, unknown>): Promise<string> {
  const socket = io(url + namespace, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
  sockets.add(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected, but a connect_error was expected')));
    socket.once('connect_error', (err) => resolve(err.message));
  });
}

/** Sends a request event and resolves to its acknowledgement. */
export function request<T extends object = Record<string, unknown>>(
  socket: Socket,
  event: string,
  payload?: unknown,
  timeoutMs = 5000,
): Promise<Result<T> & Record<string, unknown>> {
  return socket.timeout(timeoutMs).emitWithAck(event, payload) as Promise<Result<T> & Record<string, unknown>>;
}

/** Like `request`, but throws unless the answer is ok. */
export async function ok<T extends object = Record<string, unknown>>(socket: Socket, event: string, payload?: unknown): Promise<T> {
  const res = await request<T>(socket, event, payload);
  if (!res.ok) throw new Error(`${event} failed: ${JSON.stringify(res.error)}`);
  return res as unknown as T;
}

/** Resolves with the next `event` on `socket` (optionally the next one matching `filter`). */
export function next<T = unknown>(socket: Socket, event: string, filter: (payload: T) => boolean = () => true, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener);
      reject(new Error(`timed out waiting for "${event}"`));
    }, timeoutMs);
    const listener = (payload: T) => {
      if (!filter(payload)) return;
      clearTimeout(timer);
      socket.off(event, listener);
      resolve(payload);
    };
    socket.on(event, listener);
  });
}

/** Collects every `event` on `socket` into an array, from now on. */
export function collect<T = unknown>(socket: Socket, event: string): T[] {
  const items: T[] = [];
  socket.on(event, (payload: T) => items.push(payload));
  return items;
}

/** Polls `condition` until it holds (or fails after `timeoutMs`). */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Disconnects every socket the helpers opened. */
export function closeSockets(): void {
  for (const socket of sockets) socket.disconnect();
  sockets.clear();
}

/** A registered user with a `/chat` socket that is subscribed to its rooms (its first answer proves it). */
export interface ChatUser {
  session: Session;
  id: string;
  socket: Socket;
}

/** Registers a user (unless `session` is given) and connects it to `/chat`. */
export async function chatUser(url: string, session?: Session): Promise<ChatUser> {
  const s = session ?? (await register(url));
  const socket = await connect(url, '/chat', s.accessToken);
  await ok(socket, 'room:list', {});
  return { session: s, id: s.user.id, socket };
}
