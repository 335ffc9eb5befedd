/**
 * engine.io hands a connection's buffered packets to its WebSocket together; with coalescing they
 * reach the operating system as one write instead of one per frame. Counted on the server's TCP
 * socket (its stream's `_write`/`_writev`, what each call to the kernel goes through), against the
 * same Socket.IO server without it, so the test fails if the cork is not applied.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo, Socket as NetSocket } from 'node:net';
import { Server, type Socket as ServerSocket } from 'socket.io';
import { io as connectClient, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { coalesceWebSocketWrites } from '../src/realtime/write-coalescing.js';
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

  const tcp = (serverSocket.conn.transport as unknown as { socket: { _socket: NetSocket } }).socket._socket;
  const stream = tcp as unknown as { _write: (...args: unknown[]) => unknown; _writev: (...args: unknown[]) => unknown };
  let writes = 0;
  for (const method of ['_write', '_writev'] as const) {
    const original = stream[method].bind(tcp);
    stream[method] = (...args: unknown[]) => {
      writes++;
      return original(...args);
    };
  }
  for (let n = 0; n < BURST; n++) serverSocket.emit('n', n);
  await all;
  return { writes, received };
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
