/**
 * The per-connection send budget on the plain transports (PROTOCOL §2, §8): a `/ws` client and an
 * SSE reader that stop reading while their room is flooded are closed, the server's memory stays
 * bounded, and a `/ws` client that reads gets every message, in order.
 *
 * The server runs as its own process so its resident memory can be read from /proc.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as tcpConnect, type Socket as TcpSocket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message, Room } from '@switchboard/protocol';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chatUser, closeSockets, eventually, ok, register } from './helpers.js';
import { connectWs } from './plain-clients.js';
import { killServers, PROCESS_TEST_TIMEOUT_MS, spawnServer, type ServerProcess } from './processes.js';

const MiB = 1024 * 1024;
/** How much the server's memory may grow while clients misbehave: generous, far below unbounded. */
const RSS_GROWTH_BOUND = 150 * MiB;
const TEXT = 'x'.repeat(4000);

let server: ServerProcess;
let dataDir: string;

function rss(): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'));
  if (!match) throw new Error('no VmRSS');
  return Number(match[1]) * 1024;
}

const closures = (transport: string) =>
  server.logs.filter((e) => e.msg === 'connection closed: its client is not reading' && e.transport === transport);

/** An SSE request over a bare TCP socket, so the test can stop reading it at the TCP level. */
function rawSse(path: string, token: string): Promise<TcpSocket> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: hostname, port: Number(port) }, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${token}\r\nAccept: text/event-stream\r\n\r\n`);
      socket.once('data', () => resolve(socket));
    });
    socket.once('error', reject);
  });
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'switchboard-gateway-backpressure-'));
  server = await spawnServer({ DATA_DIR: dataDir, RATE_LIMITS: 'off' });
}, PROCESS_TEST_TIMEOUT_MS);

afterAll(() => {
  closeSockets();
  killServers();
  rmSync(dataDir, { recursive: true, force: true });
});

it('closes a /ws client and an SSE reader that stop reading; memory stays bounded and a reading client gets everything', async () => {
  const owner = await chatUser(server.url);
  const [slow, fast, sender] = await Promise.all([register(server.url), register(server.url), register(server.url)]);
  const room = (await ok<{ room: Room }>(owner.socket, 'room:create', { name: 'flood', kind: 'private', memberIds: [slow.user.id, fast.user.id, sender.user.id] })).room;

  const reading = await connectWs(server.url, fast.accessToken);
  await reading.request('subscribe', { roomId: room.id });
  const stalled = await connectWs(server.url, slow.accessToken);
  await stalled.request('subscribe', { roomId: room.id });
  const stalledSse = await rawSse(`/api/events?rooms=${room.id}`, slow.accessToken);
  const sseClosed = new Promise<void>((resolve) => stalledSse.once('close', () => resolve()));
  const publisher = await connectWs(server.url, sender.accessToken);

  stalled.ws.pause();
  stalledSse.pause();
  const start = rss();
  let peak = start;
  let sent = 0;
  // Batches of pipelined publishes until the server has closed both readers (the kernel's buffers
  // fill first; how much they hold varies).
  while (closures('ws').length === 0 || closures('sse').length === 0) {
    if (sent > 20_000) throw new Error('not closed');
    const batch = Array.from({ length: 100 }, () => publisher.request('publish', { roomId: room.id, clientMsgId: `f${sent++}`, text: TEXT }, 30_000));
    for (const reply of await Promise.all(batch)) expect(reply.ok).toBe(true);
    peak = Math.max(peak, rss());
  }
  expect(peak - start).toBeLessThan(RSS_GROWTH_BOUND);
  expect(['stalled', 'overflow']).toContain(closures('ws')[0]?.reason);
  expect(closures('sse')[0]?.reason).toBe('overflow');

  stalled.ws.resume();
  stalledSse.resume();
  expect((await stalled.closed).code).toBe(1006);
  await sseClosed;
  expect(stalled.messages(room.id).length).toBeLessThan(sent);

  await eventually(() => reading.messages(room.id).length === sent, 30_000, 'every message on the reading client');
  expect(reading.messages(room.id).map((m: Message) => m.seq)).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
  for (const client of [reading, publisher]) client.ws.terminate();
}, PROCESS_TEST_TIMEOUT_MS);
