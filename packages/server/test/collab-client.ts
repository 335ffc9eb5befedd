/**
 * Test factories for collaborative documents: the stock y-websocket `WebsocketProvider` (with
 * `ws` as its WebSocket in Node), raw WebSockets to `/collab` for what a provider never sends,
 * and a room with a document in it. Everything opened here is closed by `closeCollab()`.
 */
import type { Doc, Session } from '@switchboard/protocol';
import * as encoding from 'lib0/encoding';
import type { Socket } from 'socket.io-client';
import { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { closeSockets, connect, eventually, http, ok, register, uniqueName } from './helpers.js';

const providers = new Set<WebsocketProvider>();
const raws = new Set<WebSocket>();

export const collabUrl = (url: string) => `${url.replace(/^http/, 'ws')}/collab`;

/** A stock provider on `docId`, resolved once it synced with the server. */
export async function openProvider(url: string, docId: string, token: string, doc = new Y.Doc()): Promise<WebsocketProvider> {
  const provider = new WebsocketProvider(collabUrl(url), docId, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    params: { token },
    // Providers of one process would otherwise also sync through a BroadcastChannel, past the server.
    disableBc: true,
  });
  providers.add(provider);
  await eventually(() => provider.synced, 10_000, 'the provider to sync');
  return provider;
}

export const textOf = (provider: WebsocketProvider) => provider.doc.getText('content').toString();

/** Waits until every provider shows the same `content`, and returns it. */
export async function converged(list: readonly WebsocketProvider[], timeoutMs = 10_000): Promise<string> {
  await eventually(() => list.every((p) => textOf(p) === textOf(list[0]!)), timeoutMs, 'the documents to converge');
  return textOf(list[0]!);
}

/** The HTTP status the upgrade is refused with, or `101` when it is accepted. */
export function upgradeStatus(url: string, path: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${collabUrl(url)}${path}`);
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.terminate();
    });
    ws.on('error', () => undefined);
  });
}

/** An open raw WebSocket to the document, with every binary message it receives. */
export async function openRaw(url: string, docId: string, token: string): Promise<{ ws: WebSocket; received: Uint8Array[]; closed: Promise<number> }> {
  const ws = new WebSocket(`${collabUrl(url)}/${docId}?token=${encodeURIComponent(token)}`);
  raws.add(ws);
  const received: Uint8Array[] = [];
  ws.on('message', (data: Buffer) => received.push(new Uint8Array(data)));
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, received, closed };
}

/** A registered user with a `/chat` socket. */
export async function member(url: string) {
  const session = await register(url);
  const chat = await connect(url, '/chat', session.accessToken);
  return { session, chat, token: session.accessToken, id: session.user.id };
}

/** A public room created by `owner` (and joined by `others`) with one document in it. */
export async function roomWithDoc(url: string, owner: { session: Session; chat: Socket }, others: readonly { chat: Socket }[] = []) {
  const { room } = await ok<{ room: { id: string } }>(owner.chat, 'room:create', { name: uniqueName('Docs'), kind: 'public' });
  for (const other of others) await ok(other.chat, 'room:join', { roomId: room.id });
  const res = await http<{ doc: Doc }>(url, 'POST', `/api/rooms/${room.id}/docs`, { title: 'Notes' }, owner.session.accessToken);
  if (res.status !== 201) throw new Error(`doc create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { roomId: room.id, doc: res.body.doc };
}

/** Closes every provider, raw WebSocket and socket the helpers opened. */
export function closeCollab(): void {
  for (const provider of providers) provider.destroy();
  providers.clear();
  for (const ws of raws) ws.terminate();
  raws.clear();
  closeSockets();
}

/** A sync update frame (type 0, subtype 2) carrying `update`, as a raw client sends it. */
export function updateFrame(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, 0);
  encoding.writeVarUint(encoder, 2);
  encoding.writeVarUint8Array(encoder, update);
  return encoding.toUint8Array(encoder);
}

/** A valid update that inserts `text` at the start of `content`, from a client of its own. */
export function insertUpdate(text: string): Uint8Array {
  const doc = new Y.Doc();
  doc.getText('content').insert(0, text);
  return Y.encodeStateAsUpdate(doc);
}
