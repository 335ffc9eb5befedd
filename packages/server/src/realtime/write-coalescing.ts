/**
 * One write to the operating system for everything engine.io hands a WebSocket at once.
 *
 * engine.io keeps a connection's packets in its write buffer while the previous write is in
 * progress and then gives them to the WebSocket transport together, which writes each frame on its
 * own: under load (a group commit announcing many messages to a room's sockets, a burst of acks)
 * that is one system call per frame per connection, and socket writes are the largest share of a
 * busy node's CPU. Corking the TCP socket for the length of that hand-over turns the frames into
 * one `writev`; nothing waits for it, since the uncork follows in the same synchronous call.
 *
 * engine.io announces the hand-over (`flush`, then `drain`, both emitted synchronously around
 * `transport.send`), but neither it nor `ws` exposes the TCP socket: `ws` keeps it as `_socket`,
 * as engine.io itself reaches `ws`'s `_sender` to write pre-encoded frames. A transport without it
 * (polling, a future `ws`) is simply written as before.
 *
 * `/ws` writes its frames itself (gateway.ts): there a connection's TCP socket is corked at its
 * first write of a synchronous run and uncorked once that run is over (`process.nextTick`), so a
 * group commit's messages reach each subscriber in one write.
 */
import type { Socket as NetSocket } from 'node:net';
import type { AnySocket, IoServer } from './types.js';

type EngineSocket = AnySocket['conn'];

/** The TCP socket under a connection's WebSocket transport, if that is its transport. */
function tcpSocketOf(conn: EngineSocket): NetSocket | undefined {
  const transport = conn.transport as { name?: string; socket?: object };
  return transport.name === 'websocket' && transport.socket ? tcpSocketOfWs(transport.socket) : undefined;
}

export function coalesceWebSocketWrites(io: IoServer): void {
  let corked: NetSocket | undefined;
  const uncork = () => {
    corked?.uncork();
    corked = undefined;
  };
  io.engine.on('flush', (conn: EngineSocket, buffer: readonly unknown[]) => {
    // A hand-over that threw before its `drain` must not leave its socket corked.
    uncork();
    if (buffer.length < 2) return;
    corked = tcpSocketOf(conn);
    corked?.cork();
  });
  io.engine.on('drain', uncork);
}

/** Sockets corked until the current synchronous run (and its microtasks) ends. */
const corkedThisTick = new Set<NetSocket>();

function uncorkAll(): void {
  for (const socket of corkedThisTick) socket.uncork();
  corkedThisTick.clear();
}

/** Holds `socket`'s writes until the current synchronous run is over, then writes them at once. */
export function corkForThisTick(socket: NetSocket): void {
  if (corkedThisTick.has(socket)) return;
  if (corkedThisTick.size === 0) process.nextTick(uncorkAll);
  corkedThisTick.add(socket);
  socket.cork();
}

/** The TCP socket under a `ws` WebSocket (`ws` keeps it as `_socket`, see above). */
export function tcpSocketOfWs(ws: object): NetSocket | undefined {
  return (ws as { _socket?: NetSocket })._socket;
}
