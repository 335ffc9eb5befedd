/**
 * Clients of the transports that are not Socket.IO (PROTOCOL §8), written as a device or a
 * dashboard would: a raw `ws` client of `/ws` that sends JSON frames and keeps every frame it
 * receives, and an SSE reader over `fetch` that parses the stream line by line.
 */
import type { Message } from '@switchboard/protocol';
import WebSocket from 'ws';

export type Frame = Record<string, unknown> & { type: string };

export interface WsClient {
  ws: WebSocket;
  /** Every frame received so far, in order. */
  frames: Frame[];
  /** Sends a frame as JSON (or a string / Buffer as is). */
  send(frame: unknown): void;
  /** Sends a request with a fresh id and resolves with its reply. */
  request(type: string, payload?: Record<string, unknown>, timeoutMs?: number): Promise<Frame>;
  /** The first frame (past or future) matching `match`. */
  waitFor(match: (frame: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  /** `message:new` payloads received so far, for one room. */
  messages(roomId: string): Message[];
  /** Resolves once the connection is closed, with the close code and reason. */
  closed: Promise<{ code: number; reason: string }>;
}

const wsUrl = (url: string) => `${url.replace(/^http/, 'ws')}/ws`;

/** Opens `/ws` without authenticating. */
export async function openWs(url: string, options: { autoPong?: boolean } = {}): Promise<WsClient> {
  const ws = new WebSocket(wsUrl(url), { autoPong: options.autoPong ?? true });
  const frames: Frame[] = [];
  const waiters = new Set<() => void>();
  let nextId = 1;
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      for (const wake of waiters) wake();
    }),
  );
  ws.on('error', () => undefined);
  ws.on('message', (data) => {
    frames.push(JSON.parse(String(data)) as Frame);
    for (const wake of waiters) wake();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });

  const waitFor = (match: (frame: Frame) => boolean, timeoutMs = 5000) =>
    new Promise<Frame>((resolve, reject) => {
      const check = () => {
        const found = frames.find(match);
        if (found) {
          done();
          resolve(found);
        } else if (ws.readyState === WebSocket.CLOSED) {
          done();
          reject(new Error(`connection closed before a matching frame; got ${JSON.stringify(frames.slice(-3))}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(frames.slice(-3))}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  return {
    ws,
    frames,
    closed,
    waitFor,
    send: (frame) => ws.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame)),
    request: (type, payload = {}, timeoutMs) => {
      const id = `r${nextId++}`;
      ws.send(JSON.stringify({ ...payload, type, id }));
      return waitFor((f) => f.type === 'reply' && f.id === id, timeoutMs);
    },
    messages: (roomId) =>
      frames
        .filter((f) => f.type === 'event' && f.event === 'message:new' && (f.data as Message).roomId === roomId)
        .map((f) => f.data as Message),
  };
}

/** Opens `/ws` and authenticates with `token`; resolves once `ready` arrives. */
export async function connectWs(url: string, token: string, options: { autoPong?: boolean } = {}): Promise<WsClient> {
  const client = await openWs(url, options);
  client.send({ type: 'auth', token });
  await client.waitFor((f) => f.type === 'ready');
  return client;
}

export interface SseEvent {
  event: string;
  id: string | undefined;
  data: unknown;
  /** The data as the server wrote it, before parsing. */
  text: string;
}

export interface SseReader {
  status: number;
  /** Every dispatched event so far. */
  events: SseEvent[];
  /** Comment lines received (keep-alives). */
  comments: string[];
  /** The last `id:` seen, as EventSource keeps it for `Last-Event-ID`. */
  lastEventId(): string | undefined;
  waitFor(match: (event: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  /** Aborts the request (a dropped connection). */
  close(): void;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
}

/** Opens `GET /api/events` over fetch and parses the stream as EventSource does. */
export async function openSse(
  url: string,
  options: { token?: string; query?: string; lastEventId?: string; bearer?: boolean } = {},
): Promise<SseReader> {
  const controller = new AbortController();
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (options.token !== undefined && options.bearer !== false) headers.authorization = `Bearer ${options.token}`;
  if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
  const res = await fetch(`${url}/api/events${options.query ?? ''}`, { headers, signal: controller.signal });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const waiters = new Set<() => void>();
  let last: string | undefined;
  let ended = false;
  const wake = () => {
    for (const w of waiters) w();
  };

  const pump = async () => {
    if (!res.body || res.status !== 200) return;
    const decoder = new TextDecoder();
    let buffer = '';
    let block: { event?: string; data: string[]; id?: string } = { data: [] };
    try {
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let newline;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (line === '') {
            if (block.id !== undefined) last = block.id;
            if (block.data.length > 0) {
              const text = block.data.join('\n');
              events.push({ event: block.event ?? 'message', id: block.id ?? last, data: JSON.parse(text), text });
            }
            block = { data: [] };
            wake();
            continue;
          }
          if (line.startsWith(':')) {
            comments.push(line.slice(1));
            wake();
            continue;
          }
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') block.event = value;
          else if (field === 'data') block.data.push(value);
          else if (field === 'id') block.id = value;
        }
      }
    } catch {
      // aborted by the test
    }
    ended = true;
    wake();
  };
  const endedPromise = pump();

  return {
    status: res.status,
    events,
    comments,
    lastEventId: () => last,
    ended: endedPromise,
    close: () => controller.abort(),
    waitFor: (match, timeoutMs = 5000) =>
      new Promise<SseEvent>((resolve, reject) => {
        const check = () => {
          const found = events.find(match);
          if (found) {
            done();
            resolve(found);
          } else if (ended) {
            done();
            reject(new Error('stream ended before a matching event'));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no matching event within ${timeoutMs} ms`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
  };
}
