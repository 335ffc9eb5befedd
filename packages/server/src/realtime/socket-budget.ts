/**
 * The send budget (send-budget.ts) bound to Socket.IO's engine.io connections, one per client
 * connection whatever namespaces it carries, on both transports.
 *
 * Unsent bytes are what engine.io queued and has not handed to the transport (its write buffer:
 * for polling everything until the next GET, for WebSocket what waits while the previous frames
 * are still being written) plus, for WebSocket, what `ws` and the TCP socket hold that the kernel
 * has not taken (`bufferedAmount`). Packets are counted once as they are queued, by the length of
 * their already-encoded data, so a broadcast to many sockets costs an addition per socket.
 *
 * Not reading: a WebSocket is paused (`ws` stops reading the TCP socket, so the client's sends
 * back up into its own buffers). A polling client sends its requests by POST, one at a time: its
 * next POST is held, unanswered, until the connection is back under the limit (or closed), which
 * stops its requests without an error it would have to handle. Requests already read when the
 * limit was passed wait in the request pipeline (requests.ts).
 *
 * The event listeners are shared by every connection (they find theirs from `this`, the
 * emitter), so an idle connection costs two small objects and no closures.
 */
import type { Logger } from 'pino';
import { SendBudget, type BudgetedConnection, type SendBudgetOptions } from './send-budget.js';
import type { AnySocket, IoServer } from './types.js';

type EngineSocket = AnySocket['conn'];

/** The part of a `ws` WebSocket used here (engine.io's WebSocket transport keeps it as `socket`). */
interface WsLike {
  readonly bufferedAmount: number;
  pause(): void;
  resume(): void;
  terminate(): void;
}

/** Length of a queued packet's encoded data: strings by UTF-16 length (O(1)), binaries by bytes. */
function sizeOf(data: unknown): number {
  if (typeof data === 'string') return data.length + 1;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength + 1;
  return 1;
}

class EngineConnection implements BudgetedConnection {
  /** Bytes of the packets in engine.io's write buffer. */
  queued = 0;
  readonly budget: SendBudget;
  readonly limitBytes: number;

  constructor(
    readonly conn: EngineSocket,
    /** The session id polling requests carry as `sid` (documented by engine.io, typed private). */
    readonly sid: string,
    private readonly log: Logger,
    options: SendBudgetOptions,
  ) {
    this.budget = new SendBudget(this, options);
    this.limitBytes = options.limitBytes;
  }

  private get webSocket(): WsLike | undefined {
    const transport = this.conn.transport as unknown as { name: string; socket?: WsLike };
    return transport.name === 'websocket' ? transport.socket : undefined;
  }

  unsentBytes(): number {
    return this.queued + (this.webSocket?.bufferedAmount ?? 0);
  }

  // Polling has nothing to pause: its POSTs are held instead (see `enforceSendBudgets`).
  pause(): void {
    this.webSocket?.pause();
  }

  resume(): void {
    this.webSocket?.resume();
  }

  close(reason: 'stalled' | 'overflow', unsentBytes: number): void {
    this.log.warn({ reason, unsentBytes, transport: this.conn.transport.name }, 'connection closed: its client is not reading');
    // A graceful WebSocket close would queue its frame behind the unsent data and keep it all for
    // `ws`'s close timeout; the client is not reading, so drop it now.
    this.webSocket?.terminate();
    this.conn.close(true);
  }
}

/** By engine.io socket and by its current transport. */
const connections = new WeakMap<object, EngineConnection>();

/** The send budget of an engine.io connection (`socket.conn`), once `enforceSendBudgets` is on. */
export function budgetOf(conn: object): SendBudget | undefined {
  return connections.get(conn)?.budget;
}

/**
 * Every packet of every broadcast passes here once per receiving socket, so a connection under the
 * limit costs an addition and a comparison: the full measure (with the WebSocket's own buffer) is
 * taken only once engine.io's queue alone is over the limit, or while the budget is paused. A
 * client that stops reading is found all the same: its transport stays unwritable, so engine.io
 * queues everything after the last write (what that write holds is measured by the transport's
 * drain below).
 */
function packetQueued(this: EngineSocket, packet: { data?: unknown }): void {
  const connection = connections.get(this);
  if (!connection) return;
  connection.queued += sizeOf(packet.data);
  if (connection.queued > connection.limitBytes || connection.budget.paused) connection.budget.check();
}

/** engine.io's "drain": its write buffer was just handed to the transport whole. */
function bufferFlushed(this: EngineSocket): void {
  const connection = connections.get(this);
  if (!connection) return;
  connection.queued = 0;
  if (connection.budget.paused) connection.budget.check();
}

/** The transport's "drain": what it was given is written (WebSocket) or answered (polling). */
function transportDrained(this: object): void {
  connections.get(this)?.budget.check();
}

function upgraded(this: EngineSocket): void {
  const connection = connections.get(this);
  if (!connection) return;
  connections.set(this.transport, connection);
  this.transport.on('drain', transportDrained);
  if (connection.budget.paused) connection.pause();
}

/** Applies PROTOCOL §2's per-connection limit to every connection of `io`. */
export function enforceSendBudgets(io: IoServer, limitBytes: number, log: Logger): void {
  const options: SendBudgetOptions = { limitBytes };
  const bySid = new Map<string, EngineConnection>();
  function closed(this: EngineSocket): void {
    const connection = connections.get(this);
    if (!connection) return;
    bySid.delete(connection.sid);
    connection.budget.dispose();
  }

  io.engine.on('connection', (conn: EngineSocket) => {
    const connection = new EngineConnection(conn, (conn as unknown as { id: string }).id, log, options);
    connections.set(conn, connection);
    connections.set(conn.transport, connection);
    bySid.set(connection.sid, connection);
    conn.on('packetCreate', packetQueued);
    conn.on('drain', bufferFlushed);
    conn.transport.on('drain', transportDrained);
    conn.on('upgrade', upgraded);
    conn.once('close', closed);
  });

  io.engine.use((req: { method?: string; url?: string }, _res: unknown, next: () => void) => {
    if (req.method !== 'POST') return next();
    const sid = new URL(req.url ?? '/', 'http://localhost').searchParams.get('sid');
    const budget = sid === null ? undefined : bySid.get(sid)?.budget;
    if (!budget?.paused) return next();
    void budget.whenReadable().then(next);
  });
}
