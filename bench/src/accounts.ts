/**
 * Bench accounts. Registering thousands of users at the server's default scrypt cost would take
 * longer than the measurements, and would leave the measured process carrying their garbage; so
 * one throwaway server registers them at the lowest cost into a template DATA_DIR, and every
 * measured server starts on a fresh copy of it with the default configuration. Their access
 * tokens stay valid across those copies: the signing key is kept in DATA_DIR.
 */
import type { ChatClientToServer, ChatServerToClient, Session } from '@switchboard/protocol';
import { io, type Socket } from 'socket.io-client';
import { removeDir, startSwitchboard, tempDir, type SwitchboardEnv } from './procs.js';

export interface Accounts {
  /** A server DATA_DIR holding the accounts; copy it, do not run a server on it. */
  dataDir: string;
  /** The owner of the bench room (not one of the clients). */
  owner: string;
  /** One access token per bench client. */
  tokens: string[];
  /** The clients' user ids, in the order of `tokens`. */
  userIds: string[];
}

async function register(url: string, username: string): Promise<Session> {
  const res = await fetch(`${url}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'bench-password' }),
  });
  if (res.status !== 201) throw new Error(`register ${username}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as Session;
}

/**
 * Registers `count` client accounts plus the room owner, `concurrency` requests at a time; `env`
 * puts them elsewhere than the DATA_DIR's SQLite (the multi-node scenario: a PostgreSQL database).
 */
export async function createAccounts(
  count: number,
  concurrency: number,
  log: (line: string) => void,
  env: Omit<SwitchboardEnv, 'DATA_DIR' | 'SCRYPT_COST'> = {},
): Promise<Accounts> {
  const dataDir = tempDir('switchboard-bench-accounts-');
  // The tokens are used for the whole run, which may outlast the default 15 minutes.
  const server = await startSwitchboard(
    { ...env, DATA_DIR: dataDir, SCRYPT_COST: '1024', ACCESS_TOKEN_TTL: String(6 * 3600) },
    'switchboard:accounts',
  );
  try {
    const owner = (await register(server.url, 'bench_owner')).accessToken;
    const tokens = new Array<string>(count);
    const userIds = new Array<string>(count);
    let next = 0;
    let done = 0;
    const registrar = async () => {
      while (next < count) {
        const index = next++;
        const session = await register(server.url, `bench_${String(index).padStart(5, '0')}`);
        tokens[index] = session.accessToken;
        userIds[index] = session.user.id;
        if (++done % 1000 === 0) log(`registered ${done}/${count}`);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, registrar));
    return { dataDir, owner, tokens, userIds };
  } catch (err) {
    removeDir(dataDir);
    throw err;
  } finally {
    await server.stop();
  }
}

/**
 * Creates public rooms as `token`'s user on a running Switchboard server, each with its
 * `memberIds` (and the creator) as members; returns their ids in order. The requests share one
 * socket, `concurrency` of them in flight at once, so a thousand rooms take seconds, not minutes.
 */
export async function createRooms(
  url: string,
  token: string,
  rooms: Array<{ name: string; memberIds?: string[] }>,
  concurrency = 1,
): Promise<string[]> {
  const socket: Socket<ChatServerToClient, ChatClientToServer> = io(`${url}/chat`, {
    auth: { token },
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
  });
  try {
    const ids = new Array<string>(rooms.length);
    let next = 0;
    const creator = async () => {
      while (next < rooms.length) {
        const index = next++;
        const room = rooms[index];
        if (!room) continue;
        const answer = await socket.timeout(30_000).emitWithAck('room:create', { ...room, kind: 'public' });
        if (!answer.ok) throw new Error(`room:create failed: ${answer.error.code} ${answer.error.message}`);
        ids[index] = answer.room.id;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, creator));
    return ids;
  } finally {
    socket.close();
  }
}

/** Creates one public room as `token`'s user on a running Switchboard server; returns its id. */
export async function createRoom(url: string, token: string, name: string): Promise<string> {
  const [id] = await createRooms(url, token, [{ name }]);
  if (id === undefined) throw new Error('room:create answered no room');
  return id;
}
