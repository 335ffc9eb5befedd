/**
 * A Socket.IO client written by hand over the `ws` package: the engine.io v4 / socket.io v5 text
 * protocol ("40/chat,{…}", "42/chat,7[…]"), so tests can send packets no library would build and
 * stop reading at the TCP level (`pauseReading`), as a misbehaving client does.
 */
import WebSocket from 'ws';

export interface RawSocket {
  ws: WebSocket;
  /** Every socket.io packet received so far (engine.io "4" messages, without the "4"). */
  received: string[];
  /** Sends one socket.io packet as is (without the engine.io "4"). */
  sendPacket(packet: string): void;
  /** Emits `args` with a fresh ack id and resolves with the ack's arguments. */
  request(args: unknown[], timeoutMs?: number): Promise<unknown[]>;
  /** Resolves with the first received socket.io packet (past or future) matching `match`. */
  waitFor(match: (packet: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Stops reading the TCP socket: the server's data backs up in the kernel, then in the server. */
  pauseReading(): void;
  resumeReading(): void;
  closed: Promise<void>;
}

/** Opens a WebSocket to `url`'s Socket.IO endpoint and connects to `namespace` with `token`. */
export async function rawConnect(url: string, namespace: string, token: string): Promise<RawSocket> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`);
  const prefix = namespace === '/' ? '' : `${namespace},`;
  const received: string[] = [];
  const waiters = new Set<(packet: string) => void>();
  let nextId = 1;
  let paused = false;

  ws.on('message', (data) => {
    const text = data.toString();
    if (text === '2') {
      if (!paused) ws.send('3');
      return;
    }
    if (!text.startsWith('4')) return;
    const packet = text.slice(1);
    received.push(packet);
    for (const waiter of waiters) waiter(packet);
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));

  const waitFor = (match: (packet: string) => boolean, timeoutMs = 5000) => {
    const found = received.find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error('timed out waiting for a packet'));
      }, timeoutMs);
      const waiter = (packet: string) => {
        if (!match(packet)) return;
        clearTimeout(timer);
        waiters.delete(waiter);
        resolve(packet);
      };
      waiters.add(waiter);
    });
  };

  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  // A server closing a stalled connection may reset it: that shows as `closed`, not as a failure.
  ws.on('error', () => undefined);
  const sendPacket = (packet: string) => ws.send(`4${packet}`);
  sendPacket(`0${prefix}${JSON.stringify({ token })}`);
  const answer = await waitFor((p) => p.startsWith(`0${prefix}`) || p.startsWith(`4${prefix}`));
  if (!answer.startsWith(`0${prefix}`)) throw new Error(`connect refused: ${answer}`);

  return {
    ws,
    received,
    sendPacket,
    request: async (args, timeoutMs) => {
      const id = nextId++;
      sendPacket(`2${prefix}${id}${JSON.stringify(args)}`);
      const ack = await waitFor((p) => p.startsWith(`3${prefix}${id}[`), timeoutMs);
      return JSON.parse(ack.slice(`3${prefix}${id}`.length)) as unknown[];
    },
    waitFor,
    pauseReading: () => {
      paused = true;
      (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    },
    resumeReading: () => {
      paused = false;
      (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    },
    closed,
  };
}
