/**
 * A load worker, forked by the orchestrator: it opens real socket.io-client sockets (WebSocket
 * only, one connection each) — or `ws` WebSockets for `/ws` and the bare-WebSocket baseline —
 * optionally joins each to its bench room, and on `start` sends on
 * schedule and records every delivery. Several workers share the load because one Node process
 * cannot parse 100,000 deliveries a second; their clocks agree because send times are
 * CLOCK_MONOTONIC (`process.hrtime`), which is system-wide on Linux.
 */
import { readFileSync } from 'node:fs';
import type { ChatClientToServer, ChatServerToClient } from '@switchboard/protocol';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import type { BaselineClientToServer, BaselineServerToClient } from './baseline-server.js';
import { nowUs } from './clock.js';
import { Histogram } from './histogram.js';
import type { ClientSpec, Command, LoadPlan, LoadWorkerResult, Target, WorkerEvent } from './worker-messages.js';

const CONNECT_TIMEOUT_MS = 30_000;

/**
 * Bytes this process has read through read(2)-like calls (`rchar` in /proc/self/io). During a run
 * the worker reads nothing but its sockets, so the difference is what came over the wire.
 */
function bytesRead(): number {
  const match = /^rchar:\s+(\d+)/m.exec(readFileSync('/proc/self/io', 'utf8'));
  return match ? Number(match[1]) : 0;
}

function send(event: WorkerEvent): void {
  process.send?.(event);
}

/** A delivery as the receiver sees it, whatever the server. */
interface Delivery {
  text: string;
  /** Switchboard's per-room sequence number. */
  seq?: number;
}

/** One connected bench client, hiding the difference between Switchboard's and the baseline's events. */
interface BenchClient {
  readonly spec: ClientSpec;
  /** Joins the client's bench room; resolves with the room's last seq (0 for the baseline). */
  join(): Promise<number>;
  send(roomId: string, clientMsgId: string, text: string, onAck: (ok: boolean) => void): void;
  onDelivery(handler: (delivery: Delivery) => void): void;
  onDrop(handler: () => void): void;
  close(): void;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** Resolves once the socket is connected; closes it and rejects when it cannot connect. */
async function connected(socket: Socket): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (err) => reject(err));
    });
  } catch (err) {
    socket.close();
    throw err;
  }
}

function roomOf(target: Target, spec: ClientSpec): string {
  const roomId = target.roomIds[spec.room ?? 0];
  if (roomId === undefined) throw new Error(`no room ${spec.room ?? 0} among ${target.roomIds.length}`);
  return roomId;
}

function socketOptions(target: Target, token: string | undefined) {
  return {
    transports: ['websocket'],
    // Without forceNew, every io() call to the same URL would share one engine connection.
    forceNew: true,
    // A dropped socket must show up as lost deliveries, not be papered over by a reconnect.
    reconnection: false,
    timeout: CONNECT_TIMEOUT_MS,
    ...(target.kind === 'switchboard' ? { auth: { token } } : {}),
  };
}

async function connectSwitchboard(target: Target, spec: ClientSpec): Promise<BenchClient> {
  const socket: Socket<ChatServerToClient, ChatClientToServer> = io(`${spec.url ?? target.url}/chat`, socketOptions(target, spec.token));
  await connected(socket);
  return {
    spec,
    async join() {
      const answer = await socket.emitWithAck('room:join', { roomId: roomOf(target, spec) });
      if (!answer.ok) throw new Error(`room:join failed: ${answer.error.code} ${answer.error.message}`);
      return answer.room.lastSeq;
    },
    send(roomId, clientMsgId, text, onAck) {
      socket.emit('message:send', { roomId, clientMsgId, text }, (answer) => onAck(answer.ok));
    },
    onDelivery(handler) {
      socket.on('message:new', (message) => handler({ text: message.text, seq: message.seq }));
    },
    onDrop(handler) {
      socket.on('disconnect', handler);
    },
    close: () => socket.close(),
  };
}

async function connectBaseline(target: Target, spec: ClientSpec): Promise<BenchClient> {
  const socket: Socket<BaselineServerToClient, BaselineClientToServer> = io(`${target.url}/chat`, socketOptions(target, undefined));
  await connected(socket);
  return {
    spec,
    async join() {
      await socket.emitWithAck('join', [roomOf(target, spec)]);
      return 0;
    },
    send(roomId, clientMsgId, text, onAck) {
      socket.emit('send', { roomId, clientMsgId, text }, (answer) => onAck(answer.ok));
    },
    onDelivery(handler) {
      socket.on('new', (message) => handler({ text: message.text }));
    },
    onDrop(handler) {
      socket.on('disconnect', handler);
    },
    close: () => socket.close(),
  };
}

/** A frame of `/ws` or of the bare-WebSocket baseline, as far as the bench reads it. */
interface JsonFrame {
  type: string;
  id?: number;
  ok?: boolean;
  lastSeq?: number;
  event?: string;
  data?: { text: string; seq?: number };
  error?: { code: string; message: string };
}

/**
 * A WebSocket carrying JSON frames, `/ws`-style: requests with numeric ids answered by `reply`
 * frames, and `event` frames. `first` is sent as soon as the connection opens (`/ws`'s auth frame);
 * resolves once `readyType` arrives, or at once without one.
 */
async function jsonSocket(url: string, first: object | undefined, readyType: string | undefined) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const replies = new Map<number, (frame: JsonFrame) => void>();
  const eventHandlers: Array<(frame: JsonFrame) => void> = [];
  let nextId = 1;
  let onReady: (() => void) | undefined;
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as JsonFrame;
    if (frame.type === 'reply' && typeof frame.id === 'number') {
      const answer = replies.get(frame.id);
      replies.delete(frame.id);
      answer?.(frame);
    } else if (frame.type === 'event') {
      for (const handler of eventHandlers) handler(frame);
    } else if (frame.type === readyType) {
      onReady?.();
    }
  });
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('error', reject);
      ws.once('close', (code) => reject(new Error(`closed with ${code} before it was ready`)));
      ws.once('open', () => {
        if (first) ws.send(JSON.stringify(first));
        if (readyType === undefined) resolve();
        else onReady = resolve;
      });
    });
  } catch (err) {
    ws.terminate();
    throw err;
  }
  ws.removeAllListeners('error');
  ws.removeAllListeners('close');
  ws.on('error', () => undefined);
  return {
    ws,
    request(frame: object): Promise<JsonFrame> {
      const id = nextId++;
      return new Promise((resolve) => {
        replies.set(id, resolve);
        ws.send(JSON.stringify({ ...frame, id }));
      });
    },
    onEvent(handler: (frame: JsonFrame) => void) {
      eventHandlers.push(handler);
    },
  };
}

const wsUrl = (url: string) => `${url.replace(/^http/, 'ws')}/ws`;

async function connectGateway(target: Target, spec: ClientSpec): Promise<BenchClient> {
  const base = spec.url ?? target.url;
  const socket = await jsonSocket(wsUrl(base), { type: 'auth', token: spec.token }, 'ready');
  return {
    spec,
    async join() {
      const roomId = roomOf(target, spec);
      // `/ws` subscribes to rooms the user belongs to; joining a public room is a `/chat` request,
      // made once beforehand as an app would, on a connection closed right after.
      const chat: Socket<ChatServerToClient, ChatClientToServer> = io(`${base}/chat`, socketOptions({ ...target, kind: 'switchboard' }, spec.token));
      try {
        await connected(chat);
        const joined = await chat.emitWithAck('room:join', { roomId });
        if (!joined.ok) throw new Error(`room:join failed: ${joined.error.code} ${joined.error.message}`);
      } finally {
        chat.close();
      }
      const reply = await socket.request({ type: 'subscribe', roomId });
      if (!reply.ok) throw new Error(`subscribe failed: ${reply.error?.code} ${reply.error?.message}`);
      return reply.lastSeq ?? 0;
    },
    send(roomId, clientMsgId, text, onAck) {
      void socket.request({ type: 'publish', roomId, clientMsgId, text }).then((reply) => onAck(reply.ok === true));
    },
    onDelivery(handler) {
      socket.onEvent((frame) => {
        if (frame.event === 'message:new' && frame.data) handler({ text: frame.data.text, seq: frame.data.seq });
      });
    },
    onDrop(handler) {
      socket.ws.on('close', handler);
    },
    close: () => socket.ws.close(),
  };
}

async function connectWsBaseline(target: Target, spec: ClientSpec): Promise<BenchClient> {
  const socket = await jsonSocket(wsUrl(target.url), undefined, undefined);
  return {
    spec,
    async join() {
      await socket.request({ type: 'join', roomId: roomOf(target, spec) });
      return 0;
    },
    send(roomId, clientMsgId, text, onAck) {
      void socket.request({ type: 'send', roomId, clientMsgId, text }).then((reply) => onAck(reply.ok === true));
    },
    onDelivery(handler) {
      socket.onEvent((frame) => {
        if (frame.event === 'new' && frame.data) handler({ text: frame.data.text });
      });
    },
    onDrop(handler) {
      socket.ws.on('close', handler);
    },
    close: () => socket.ws.close(),
  };
}

const connectors: Record<Target['kind'], (target: Target, spec: ClientSpec) => Promise<BenchClient>> = {
  switchboard: connectSwitchboard,
  baseline: connectBaseline,
  gateway: connectGateway,
  'ws-baseline': connectWsBaseline,
};

let clients: BenchClient[] = [];
/** Each client's room seq when it joined; the first message of the run is the one after it. */
let baseSeqs: number[] = [];
let target: Target | undefined;
let connectedCount = 0;

async function connectAll(command: Extract<Command, { type: 'connect' }>): Promise<void> {
  target = command.target;
  const connect = connectors[target.kind];
  const opened: Array<{ client: BenchClient; baseSeq: number } | undefined> = new Array(command.clients.length);
  let failed = 0;
  let firstError: string | null = null;
  let next = 0;
  const progress = setInterval(() => send({ type: 'progress', connected: connectedCount, received: 0 }), 1000);

  // A fixed pool of connectors: at most `concurrency` handshakes in flight at once.
  const connector = async () => {
    while (next < command.clients.length) {
      const index = next++;
      const spec = command.clients[index];
      if (!spec || !target) continue;
      try {
        const client = await withTimeout(connect(target, spec), CONNECT_TIMEOUT_MS, 'connect');
        const baseSeq = command.join ? await withTimeout(client.join(), CONNECT_TIMEOUT_MS, 'join') : 0;
        opened[index] = { client, baseSeq };
        connectedCount++;
      } catch (err) {
        failed++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, command.concurrency) }, connector));
  clearInterval(progress);

  const ok = opened.filter((entry) => entry !== undefined);
  clients = ok.map((entry) => entry.client);
  baseSeqs = ok.map((entry) => entry.baseSeq);
  send({ type: 'connected', connected: clients.length, failed, firstError });
}

/** Sends this worker's share of the plan on schedule, records deliveries, and reports once everything arrived or the deadline passed. */
function runLoad(plan: LoadPlan): void {
  const roomIds = target?.roomIds ?? [];
  // Both Switchboard transports deliver seqs: their continuity is checked.
  const isSwitchboard = target?.kind === 'switchboard' || target?.kind === 'gateway';
  const cpuAtStart = process.cpuUsage();
  const readAtStart = bytesRead();
  const latency = new Histogram();
  const ackLatency = new Histogram();
  // Each message's place among its room's messages: what a receiver of that room counts it by.
  const perRoom = new Array<number>(roomIds.length).fill(0);
  const placeInRoom = plan.roomOf.map((room) => {
    const place = perRoom[room] ?? 0;
    perRoom[room] = place + 1;
    return place;
  });
  const roomIndex = clients.map((client) => client.spec.room ?? 0);
  const expected = roomIndex.map((room) => perRoom[room] ?? 0);
  // Per receiver: how many times each message of its room arrived.
  const counts = expected.map((n) => new Uint8Array(n));
  const distinct = new Array<number>(clients.length).fill(0);
  const nextSeq = baseSeqs.map((base) => base + 1);
  const gaps = new Array<number>(clients.length).fill(0);
  const outOfOrder = new Array<number>(clients.length).fill(0);
  let deliveries = 0;
  let duplicates = 0;
  let foreign = 0;
  let disconnects = 0;
  let closing = false;
  let sent = 0;
  let acked = 0;
  let ackFailed = 0;
  let maxSendLagUs = 0;
  let firstSendUs: number | null = null;
  let lastDeliveryUs: number | null = null;
  let complete = expected.filter((n) => n === 0).length;

  clients.forEach((client, r) => {
    const seen = counts[r];
    if (!seen) return;
    client.onDrop(() => {
      if (!closing) disconnects++;
    });
    client.onDelivery(({ text, seq }) => {
      const at = nowUs();
      // The text starts with "<sentUs> <k> ", k the message's index in the plan.
      const first = text.indexOf(' ');
      const second = text.indexOf(' ', first + 1);
      const sentUs = Number(text.slice(0, first));
      const key = Number(text.slice(first + 1, second));
      if (first < 0 || second < 0 || !Number.isFinite(sentUs) || !Number.isInteger(key) || plan.roomOf[key] !== roomIndex[r]) {
        foreign++;
        return;
      }
      if (isSwitchboard && seq !== undefined) {
        const expectedSeq = nextSeq[r] ?? 0;
        if (seq === expectedSeq) nextSeq[r] = expectedSeq + 1;
        else if (seq > expectedSeq) {
          gaps[r] = (gaps[r] ?? 0) + 1;
          nextSeq[r] = seq + 1;
        } else outOfOrder[r] = (outOfOrder[r] ?? 0) + 1;
      }
      const place = placeInRoom[key] ?? 0;
      const times = (seen[place] ?? 0) + 1;
      seen[place] = Math.min(255, times);
      if (times > 1) {
        duplicates++;
        return;
      }
      deliveries++;
      lastDeliveryUs = at;
      latency.record(at - sentUs);
      distinct[r] = (distinct[r] ?? 0) + 1;
      if (distinct[r] === expected[r]) complete++;
    });
  });

  // This worker's sends, in plan order: one timer walks them instead of one timer per sender.
  const senderClients = new Map<number, BenchClient>();
  for (const client of clients) if (client.spec.sender !== undefined) senderClients.set(client.spec.sender, client);
  const mine = plan.senderOf.flatMap((sender, k) => {
    const client = senderClients.get(sender);
    return client ? [{ k, client }] : [];
  });
  const filler = 'x'.repeat(plan.textLength);
  let nextSend = 0;
  let timer: NodeJS.Timeout | undefined;
  const sendDue = () => {
    for (let job = mine[nextSend]; job; job = mine[nextSend]) {
      const dueUs = plan.startAtUs + job.k * plan.intervalUs;
      const at = nowUs();
      if (dueUs > at) {
        timer = setTimeout(sendDue, (dueUs - at) / 1000);
        return;
      }
      nextSend++;
      maxSendLagUs = Math.max(maxSendLagUs, at - dueUs);
      firstSendUs ??= at;
      const head = `${at.toFixed(1)} ${job.k} `;
      sent++;
      job.client.send(roomIds[plan.roomOf[job.k] ?? 0] ?? '', `${plan.runId}-${job.k}`, head + filler.slice(head.length), (ok) => {
        if (ok) {
          acked++;
          ackLatency.record(nowUs() - at);
        } else ackFailed++;
      });
    }
  };
  sendDue();

  const progress = setInterval(() => send({ type: 'progress', connected: clients.length, received: deliveries }), 1000);
  const check = setInterval(() => {
    const allSent = sent === mine.length && acked + ackFailed === sent;
    if ((complete === clients.length && allSent) || nowUs() >= plan.deadlineUs) finish();
  }, 100);

  const finish = () => {
    clearInterval(check);
    clearInterval(progress);
    clearTimeout(timer);
    closing = true;
    const cpu = process.cpuUsage(cpuAtStart);
    const bytesReceived = bytesRead() - readAtStart;
    const result: LoadWorkerResult = {
      receivers: clients.length,
      deliveries,
      duplicates,
      lost: expected.reduce((a, b) => a + b, 0) - deliveries,
      foreign,
      latency: latency.toData(),
      sent,
      acked,
      ackFailed,
      ackLatency: ackLatency.toData(),
      maxSendLagUs,
      firstSendUs,
      lastDeliveryUs,
      seq: isSwitchboard
        ? {
            gapFreeReceivers: clients.filter(
              (_, r) => gaps[r] === 0 && outOfOrder[r] === 0 && nextSeq[r] === (baseSeqs[r] ?? 0) + (expected[r] ?? 0) + 1,
            ).length,
            gaps: gaps.reduce((a, b) => a + b, 0),
            outOfOrder: outOfOrder.reduce((a, b) => a + b, 0),
          }
        : null,
      disconnects,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      bytesReceived,
    };
    send({ type: 'result', result });
  };
}

process.on('message', (command: Command) => {
  switch (command.type) {
    case 'connect':
      void connectAll(command);
      break;
    case 'start':
      runLoad(command.plan);
      break;
    case 'close':
      for (const client of clients) client.close();
      clients = [];
      process.send?.({ type: 'closed' } satisfies WorkerEvent, () => process.exit(0));
      break;
  }
});

// The orchestrator went away (finished, crashed or interrupted): nothing left to do here.
process.on('disconnect', () => process.exit(0));
