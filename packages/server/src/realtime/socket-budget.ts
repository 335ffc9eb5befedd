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
 */
import type { Logger } from 'pino';
import { SendBudget } from './send-budget.js';
import type { AnySocket, IoServer } from './types.js';

type EngineSocket = AnySocket['conn'];

/** The part of a `ws` WebSocket used here (engine.io's WebSocket transport keeps it as `socket`). */
interface WsLike {
  readonly bufferedAmount: number;
  pause(): void;
  resume(): void;
  terminate(): void;
}

const budgets = new WeakMap<object, SendBudget>();

/** The budget of an engine.io connection (`socket.conn`), once `enforceSendBudgets` is on. */
export function budgetOf(conn: object): SendBudget | undefined {
  return budgets.get(conn);
}

/** Length of a queued packet's encoded data: strings by UTF-16 length (O(1)), binaries by bytes. */
function sizeOf(data: unknown): number {
  if (typeof data === 'string') return data.length + 1;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength + 1;
  return 1;
}

function webSocketOf(conn: EngineSocket): WsLike | undefined {
  const transport = conn.transport as unknown as { name: string; socket?: WsLike };
  return transport.name === 'websocket' ? transport.socket : undefined;
}

/** Applies PROTOCOL §2's per-connection limit to every connection of `io`. */
export function enforceSendBudgets(io: IoServer, limitBytes: number, log: Logger): void {
  const bySid = new Map<string, SendBudget>();

  io.engine.on('connection', (conn: EngineSocket) => {
    /** Bytes of the packets in engine.io's write buffer. */
    let queued = 0;
    const budget = new SendBudget(
      {
        unsentBytes: () => queued + (webSocketOf(conn)?.bufferedAmount ?? 0),
        pause: () => webSocketOf(conn)?.pause(),
        resume: () => webSocketOf(conn)?.resume(),
        close: () => {
          // A graceful WebSocket close would queue its frame behind the unsent data and keep it
          // all for `ws`'s close timeout; the client is not reading, so drop it now.
          webSocketOf(conn)?.terminate();
          conn.close(true);
        },
      },
      {
        limitBytes,
        onClose: (reason, unsentBytes) =>
          log.warn({ reason, unsentBytes, transport: conn.transport.name }, 'connection closed: its client is not reading'),
      },
    );
    // The session id polling requests carry as `sid` (documented by engine.io, typed private).
    const sid = (conn as unknown as { id: string }).id;
    budgets.set(conn, budget);
    bySid.set(sid, budget);

    conn.on('packetCreate', (packet: { data?: unknown }) => {
      queued += sizeOf(packet.data);
      budget.check();
    });
    // engine.io's "drain": the write buffer was just handed to the transport whole.
    conn.on('drain', () => {
      queued = 0;
      budget.check();
    });
    // The transport's "drain": what it was given is written (WebSocket) or answered (polling).
    const transportDrained = () => budget.check();
    conn.transport.on('drain', transportDrained);
    conn.on('upgrade', () => {
      conn.transport.on('drain', transportDrained);
      if (budget.paused) webSocketOf(conn)?.pause();
    });
    conn.once('close', () => {
      bySid.delete(sid);
      budget.dispose();
    });
  });

  io.engine.use((req: { method?: string; url?: string }, _res: unknown, next: () => void) => {
    if (req.method !== 'POST') return next();
    const sid = new URL(req.url ?? '/', 'http://localhost').searchParams.get('sid');
    const budget = sid === null ? undefined : bySid.get(sid);
    if (!budget?.paused) return next();
    void budget.whenReadable().then(next);
  });
}
