/**
 * Transport-level abuse: oversized packets, garbage frames and broken handshakes hurt only the
 * connection that sent them; the server keeps serving everyone else.
 */
import { WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeSockets, connect, http, register, request, startServer, type TestServer } from './helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer({ MAX_PACKET_BYTES: 16 * 1024 });
});
afterAll(() => t.close());
afterEach(closeSockets);

/** A raw Engine.IO WebSocket, below socket.io-client, to send what no well-behaved client would. */
function rawSocket(): Promise<WebSocket> {
  const ws = new WebSocket(`${t.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function stillServing(token: string): Promise<void> {
  const probe = await connect(t.url, '/chat', token);
  const res = await request(probe, 'room:list', {});
  expect(res.ok).toBe(true);
  expect((await http(t.url, 'GET', '/healthz')).status).toBe(200);
}

describe('transport abuse', () => {
  it('closes the connection of a packet over MAX_PACKET_BYTES, and only that one', async () => {
    const s = await register(t.url);
    const victim = await connect(t.url, '/chat', s.accessToken);
    const bystander = await connect(t.url, '/chat', s.accessToken);
    const reason = new Promise<string>((resolve) => victim.once('disconnect', (r) => resolve(r)));
    victim.emit('message:send', { roomId: 'x', clientMsgId: 'big', text: 'y'.repeat(64 * 1024) });
    expect(await reason).toBe('transport close');
    expect(bystander.connected).toBe(true);
    await stillServing(s.accessToken);
  });

  it('survives garbage frames, bogus packet types and broken JSON', async () => {
    const s = await register(t.url);
    const frames = [
      'garbage',
      '4',
      '40/chat,{"token":',
      '42/chat,["message:send",',
      '9999',
      '\u0000\u0001\u0002',
      `40/chat,${JSON.stringify({ token: 'x'.repeat(8000) })}`,
      '42["__proto__",{"constructor":{"prototype":{"polluted":true}}}]',
      '43/chat,1[{"ok":true}]',
    ];
    for (const frame of frames) {
      const ws = await rawSocket();
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
      ws.send(frame);
      ws.send(Buffer.from([0xff, 0x00, 0x13]));
      setTimeout(() => ws.terminate(), 200);
      await closed;
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await stillServing(s.accessToken);
  });

  it('answers a polling request with a bad session id without crashing', async () => {
    const res = await fetch(`${t.url}/socket.io/?EIO=4&transport=polling&sid=nope`);
    expect(res.status).toBe(400);
    const s = await register(t.url);
    await stillServing(s.accessToken);
  });
});
