/**
 * A TCP proxy between Switchboard nodes and PostgreSQL that counts what each message costs the
 * database: round trips (frontend `Sync` and `Query` messages, each answered by one
 * `ReadyForQuery`) and transactions (backend `ReadyForQuery` with status `I`: one ends every
 * implicit or explicit transaction, apart from the one after authentication). PostgreSQL's own
 * counters cannot say this: pg_stat_statements needs shared_preload_libraries and a restart, and
 * pg_stat_database is flushed by an idle backend up to 10 s late (PGSTAT_IDLE_INTERVAL), so a
 * before/after reading would mix the joins before the load with the messages. Hand-written, since
 * it needs only the protocol's framing (a type byte and an int32 length, PostgreSQL docs §55.2
 * "Message Flow" and §55.7 "Message Formats"), far less than any wire-protocol library would bring.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

const SYNC = 'S'.charCodeAt(0);
const QUERY = 'Q'.charCodeAt(0);
const READY_FOR_QUERY = 'Z'.charCodeAt(0);
const IDLE = 'I'.charCodeAt(0);

/**
 * Calls `onMessage(type, firstBodyByte)` for each message of one direction of a connection.
 * `untypedFirst`: the frontend's first message (StartupMessage) has no type byte.
 */
function framer(untypedFirst: boolean, onMessage: (type: number, firstByte: number | undefined) => void) {
  let untyped = untypedFirst;
  let head = Buffer.alloc(0);
  let skip = 0;
  let current = -1;
  return (chunk: Buffer) => {
    let at = 0;
    while (at < chunk.length) {
      if (skip > 0) {
        if (current >= 0) {
          onMessage(current, chunk[at]);
          current = -1;
        }
        const n = Math.min(skip, chunk.length - at);
        skip -= n;
        at += n;
        continue;
      }
      const need = untyped ? 4 : 5;
      const take = Math.min(need - head.length, chunk.length - at);
      head = Buffer.concat([head, chunk.subarray(at, at + take)]);
      at += take;
      if (head.length < need) break;
      if (untyped) {
        untyped = false;
        skip = head.readInt32BE(0) - 4;
      } else {
        const type = head[0] ?? 0;
        skip = head.readInt32BE(1) - 4;
        if (skip > 0) current = type;
        else onMessage(type, undefined);
      }
      head = Buffer.alloc(0);
    }
  };
}

export class PgWireCounter {
  roundTrips = 0;
  transactions = 0;
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    /** The database URL to give the servers: the target's, through the proxy, without TLS (it must read the wire). */
    readonly url: string,
  ) {}

  /** Listens on 127.0.0.1 for connections to `target` (a postgres:// URL). */
  static async start(target: string): Promise<PgWireCounter> {
    const upstream = new URL(target);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (!address || typeof address !== 'object') throw new Error('the PostgreSQL counter has no port');
    const url = new URL(target);
    url.hostname = '127.0.0.1';
    url.port = String(address.port);
    url.searchParams.set('sslmode', 'disable');
    const counter = new PgWireCounter(server, url.toString());
    server.on('connection', (client) => counter.relay(client, upstream.hostname, Number(upstream.port || 5432)));
    return counter;
  }

  private relay(client: Socket, host: string, port: number): void {
    const server = connect(port, host);
    this.sockets.add(client).add(server);
    // The first ReadyForQuery of a connection follows authentication, not a transaction.
    let authenticated = false;
    const fromClient = framer(true, (type) => {
      if (type === SYNC || type === QUERY) this.roundTrips++;
    });
    const fromServer = framer(false, (type, status) => {
      if (type !== READY_FOR_QUERY) return;
      if (!authenticated) authenticated = true;
      else if (status === IDLE) this.transactions++;
    });
    client.on('data', (chunk: Buffer) => {
      fromClient(chunk);
      if (!server.write(chunk)) client.pause();
    });
    server.on('drain', () => client.resume());
    server.on('data', (chunk: Buffer) => {
      fromServer(chunk);
      if (!client.write(chunk)) server.pause();
    });
    client.on('drain', () => server.resume());
    const end = () => {
      client.destroy();
      server.destroy();
      this.sockets.delete(client);
      this.sockets.delete(server);
    };
    for (const socket of [client, server]) {
      socket.on('error', end);
      socket.on('close', end);
    }
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
