/**
 * Test support for the SDK: signed-in clients against a real server from `startServer()`, fast
 * reconnection so cuts heal quickly, and ways to cut connections from the server side.
 */
import type { Message } from '@switchboard/protocol';
import { createClient, type ClientOptions, type SwitchboardClient } from '@switchboard/client';
import { register, type TestServer } from '../../server/test/helpers.js';

const clients = new Set<SwitchboardClient>();

/** Quick reconnection: cuts heal in tens of milliseconds instead of seconds. */
export const fast = {
  transports: ['websocket'],
  reconnectionDelay: 30,
  reconnectionDelayMax: 300,
  requestTimeout: 3000,
} satisfies Partial<ClientOptions>;

/** A new client, closed by `closeClients()`. */
export function client(options: ClientOptions): SwitchboardClient {
  const c = createClient({ ...fast, ...options } as ClientOptions);
  clients.add(c);
  return c;
}

/** Registers a new user and returns their connected, caught-up client. */
export async function signedIn(t: TestServer, options: Partial<ClientOptions> = {}): Promise<SwitchboardClient> {
  const session = await register(t.url);
  const c = client({ url: t.url, session, ...options } as ClientOptions);
  await c.ready();
  return c;
}

export function closeClients(): void {
  for (const c of clients) c.close();
  clients.clear();
}

/** Every `message` the client delivers for `roomId`, from now on. */
export function messagesOf(c: SwitchboardClient, roomId: string): Message[] {
  const out: Message[] = [];
  c.chat.on('message', (m) => {
    if (m.roomId === roomId) out.push(m);
  });
  return out;
}

/** The server-side sockets of a user on a namespace. */
export function serverSockets(t: TestServer, nsp: '/chat' | '/notifications', userId: string) {
  return [...t.server.realtime.io.of(nsp).sockets.values()].filter((s) => s.data.userId === userId);
}

export const seqs = (messages: readonly Message[]) => messages.map((m) => m.seq);
export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
