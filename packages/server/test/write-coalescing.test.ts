/**
 * engine.io hands a connection's buffered packets to its WebSocket together; with coalescing they
 * reach the operating system as one write instead of one per frame. Counted on the server's TCP
 * socket (its stream's `_write`/`_writev`, what each call to the kernel goes through), against the
 * same Socket.IO server without it, so the test fails if the cork is not applied.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import { connect as connectTcp, createServer as createTcpServer, type AddressInfo, type Socket as NetSocket } from 'node:net';
import { Server, type Socket as ServerSocket } from 'socket.io';
import { io as connectClient, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { coalesceWebSocketWrites, corkForThisTick } from '../src/realtime/write-coalescing.js';
import type { IoServer } from '../src/realtime/types.js';

const BURST = 50;

const opened: { http: HttpServer; io: Server; client: Socket }[] = [];
afterEach(async () => {
  for (const { http, io, client } of opened.splice(0)) {
    client.close();
    await io.close();
    http.close();
  }
});

/** Counts the calls that hand `socket`'s data to the kernel. */
function countWrites(socket: NetSocket): () => number {
  const stream = socket as unknown as { _write: (...args: unknown[]) => unknown; _writev: (...args: unknown[]) => unknown };
  let writes = 0;
  for (const method of ['_write', '_writev'] as const) {
    const original = stream[method].bind(socket);
    stream[method] = (...args: unknown[]) => {
      writes++;
      return original(...args);
    };
  }
  return () => writes;
}

/** Emits a burst of `BURST` events to a fresh client; returns the writes it took and what arrived. */
async function burst(coalesce: boolean): Promise<{ writes: number; received: number[] }> {
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'] });
  if (coalesce) coalesceWebSocketWrites(io as unknown as IoServer);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  const client = connectClient(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false, forceNew: true });
  opened.push({ http, io, client });

  const received: number[] = [];
  const all = new Promise<void>((resolve) =>
    client.on('n', (n: number) => {
      received.push(n);
      if (received.length === BURST) resolve();
    }),
  );
  const serverSocket = await new Promise<ServerSocket>((resolve) => io.on('connection', resolve));
  await new Promise<void>((resolve) => client.on('connect', () => resolve()));

  const writes = countWrites((serverSocket.conn.transport as unknown as { socket: { _socket: NetSocket } }).socket._socket);
  for (let n = 0; n < BURST; n++) serverSocket.emit('n', n);
  await all;
  return { writes: writes(), received };
}

describe('WebSocket write coalescing', () => {
  it('writes a burst to a connection in a couple of system calls, whole and in order', async () => {
    const { writes, received } = await burst(true);
    expect(received).toEqual(Array.from({ length: BURST }, (_, n) => n));
    // The first packet goes out at once; the rest, buffered meanwhile by engine.io, in one write.
    expect(writes).toBeLessThanOrEqual(3);
  });

  it('takes a write per frame without it (the comparison that makes the test above mean something)', async () => {
    const { writes, received } = await burst(false);
    expect(received).toHaveLength(BURST);
    expect(writes).toBeGreaterThanOrEqual(BURST - 1);
  });
});

describe('corkForThisTick (the /ws gateway\'s writes)', () => {
  it('hands everything one synchronous run writes to a socket over in one write, in order, to every socket', async () => {
    const received = new Map<number, Buffer[]>();
    const tcpServer = createTcpServer((peer) => {
      const chunks: Buffer[] = [];
      received.set(received.size, chunks);
      peer.on('data', (chunk: Buffer) => chunks.push(chunk));
    });
    await new Promise<void>((resolve) => tcpServer.listen(0, '127.0.0.1', resolve));
    const { port } = tcpServer.address() as AddressInfo;
    const sockets = await Promise.all(
      [0, 1].map(() => new Promise<NetSocket>((resolve) => { const s = connectTcp(port, '127.0.0.1', () => resolve(s)); })),
    );
    try {
      const counters = sockets.map(countWrites);
      for (let n = 0; n < BURST; n++) {
        for (const socket of sockets) {
          corkForThisTick(socket);
          socket.write(`${n},`);
        }
      }
      const expected = Array.from({ length: BURST }, (_, n) => `${n},`).join('');
      const text = (i: number) => Buffer.concat(received.get(i) ?? []).toString();
      await new Promise<void>((resolve) => {
        const poll = () => (received.size === 2 && text(0) === expected && text(1) === expected ? resolve() : setTimeout(poll, 10));
        poll();
      });
      expect(counters.map((count) => count())).toEqual([1, 1]);
    } finally {
      for (const socket of sockets) socket.destroy();
      tcpServer.close();
    }
  });
});
