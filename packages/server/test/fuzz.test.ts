/**
 * Fuzzing every request event of `/chat` and `/notifications` (the list comes from the protocol's
 * `RequestSchemas`) with random and malformed payloads: wrong types, huge strings, deep nesting,
 * arrays, null, numbers, missing and extra fields, unknown events, requests without an ack.
 * Every request with an ack must get exactly one well-formed answer (and never INTERNAL, which
 * would mean a crash path), failures without an ack must come back as well-formed `error` events,
 * the server must keep serving normal requests, and its heap must stay bounded.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import type { Socket } from 'socket.io-client';
import { isErrorCode, RequestSchemas, type Message, type Namespace, type Notification, type Room, type Session } from '@switchboard/protocol';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSockets, connect, eventually, ok, register, startServer, uniqueName, type TestServer } from './helpers.js';

/** A real `gc()`: exposed on demand, so heap measurements do not depend on how vitest started the process. */
function findGc(): (() => void) | undefined {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}
const gc = findGc();
/** Heap growth allowed across the whole fuzz run: tight with a real gc, generous without one. */
const HEAP_GROWTH_MAX = gc ? 64 * 1024 * 1024 : 256 * 1024 * 1024;

function heapUsed(): number {
  gc?.();
  return process.memoryUsage().heapUsed;
}

/** The top-level field names of a request schema, to aim payloads at them. */
function fieldsOf(schema: z.ZodType): string[] {
  const inner = schema instanceof z.ZodOptional ? (schema.unwrap() as z.ZodType) : schema;
  return inner instanceof z.ZodObject ? Object.keys(inner.shape) : [];
}

/** Event names the client library itself refuses to emit. */
const CLIENT_RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

interface FuzzRequest {
  event: string;
  args: unknown[];
  withAck: boolean;
}

/** Ids of real things on the server, so that part of the traffic gets past validation into the services. */
interface Known {
  users: string[];
  rooms: string[];
  messages: string[];
  notifications: string[];
}

type Payload = Record<string, unknown>;
/** One well-formed payload generator per request event: the protocol's table decides which must exist. */
type Templates = { [N in Namespace]: { [E in keyof (typeof RequestSchemas)[N]]: fc.Arbitrary<Payload> } };

function templates(known: Known): Templates {
  const user = fc.constantFrom(...known.users);
  const room = fc.constantFrom(...known.rooms);
  const message = fc.constantFrom(...known.messages);
  const notification = fc.constantFrom(...known.notifications);
  const text = fc.string({ minLength: 1, maxLength: 50 }).map((s) => `${s}!`);
  const name = fc.stringMatching(/^[A-Za-z0-9 ]{1,40}$/).map((s) => `Fuzz ${s}`);
  const seq = fc.nat({ max: 50 });
  const limit = fc.integer({ min: 1, max: 300 });
  const renew = fc.record({ token: fc.string({ minLength: 1, maxLength: 200 }) });
  return {
    '/chat': {
      'auth:renew': renew,
      'room:create': fc.record(
        { name, kind: fc.constantFrom('public', 'private'), topic: text, memberIds: fc.array(user, { maxLength: 2 }) },
        { requiredKeys: ['name', 'kind'] },
      ),
      'room:list': fc.constant({}),
      'room:browse': fc.record({ query: fc.string({ maxLength: 10 }), limit }, { requiredKeys: [] }),
      'user:search': fc.record({ query: fc.string({ minLength: 1, maxLength: 10 }), limit }, { requiredKeys: ['query'] }),
      'room:join': fc.record({ roomId: room }),
      'room:leave': fc.record({ roomId: room }),
      'room:invite': fc.record({ roomId: room, userId: user }),
      'room:members': fc.record({ roomId: room }),
      'dm:open': fc.record({ userId: user }),
      'room:update': fc.record({ roomId: room, name, topic: text }, { requiredKeys: ['roomId'] }),
      'room:archive': fc.record({ roomId: room, archived: fc.boolean() }),
      'room:remove': fc.record({ roomId: room, userId: user }),
      'room:mute': fc.record({ roomId: room, muted: fc.boolean() }),
      'message:send': fc.record(
        { roomId: room, clientMsgId: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/), text, threadId: message },
        { requiredKeys: ['roomId', 'clientMsgId', 'text'] },
      ),
      'message:edit': fc.record({ messageId: message, text }),
      'message:delete': fc.record({ messageId: message }),
      'message:history': fc.oneof(
        fc.record({ roomId: room, beforeSeq: seq, limit }, { requiredKeys: ['roomId'] }),
        fc.record({ roomId: room, afterSeq: seq, limit }, { requiredKeys: ['roomId'] }),
      ),
      'thread:history': fc.record({ messageId: message, afterSeq: seq, limit }, { requiredKeys: ['messageId'] }),
      'message:react': fc.record({
        messageId: message,
        emoji: fc.oneof(fc.constantFrom('👍', '❤', '👩‍💻', ':tada:', ':+1:'), fc.string({ maxLength: 8 })),
        on: fc.boolean(),
      }),
      // Queries full of FTS syntax and odd Unicode, so the fuzzing reaches the search engines themselves.
      'message:search': fc.record(
        {
          query: fc.oneof(text, fc.stringMatching(/^[ "*^:()\-ANDORTNE\u00e9\u6771\u{1F600}]{1,30}$/u)),
          roomId: room,
          before: message,
          limit,
        },
        { requiredKeys: ['query'] },
      ),
      sync: fc.record({ rooms: fc.dictionary(room, seq, { maxKeys: 3 }), updatedSince: fc.nat() }, { requiredKeys: ['rooms'] }),
      typing: fc.record({ roomId: room, typing: fc.boolean() }),
      read: fc.record({ roomId: room, seq }),
    },
    '/notifications': {
      'auth:renew': renew,
      'notification:list': fc.record({ before: notification, limit, unreadOnly: fc.boolean() }, { requiredKeys: [] }),
      'notification:read': fc.oneof(
        fc.record({ ids: fc.array(notification, { maxLength: 3 }) }),
        fc.record({ all: fc.constant(true) }),
      ),
    },
    '/monitor': {
      'auth:renew': renew,
      'monitor:history': fc.record({
        metric: fc.constantFrom('connections', 'ackP99Ms', 'nodesDown'),
        from: fc.nat(),
        to: fc.nat(),
      }),
      'alert:rules': fc.constant({}),
      'alert:rule:set': fc.record(
        {
          id: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
          metric: fc.constantFrom('connections', 'errorsPerSec', 'nodesDown'),
          op: fc.constantFrom('>', '<'),
          threshold: fc.double({ noNaN: true, noDefaultInfinity: true }),
          forSeconds: fc.nat({ max: 100 }),
          severity: fc.constantFrom('info', 'warning', 'critical'),
          enabled: fc.boolean(),
        },
        { requiredKeys: ['metric', 'op', 'threshold', 'forSeconds', 'severity', 'enabled'] },
      ),
      'alert:rule:delete': fc.record({ id: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/) }),
      'errors:list': fc.record({ limit }, { requiredKeys: [] }),
    },
    '/game': {
      'auth:renew': renew,
      'match:queue': fc.record({ mode: fc.constantFrom('duel', 'quad') }),
      'match:cancel': fc.constant({}),
      'game:create': fc.record({ mode: fc.constantFrom('duel', 'quad'), bots: fc.nat({ max: 3 }) }, { requiredKeys: ['mode'] }),
      'game:join': fc.record({ code: fc.stringMatching(/^[A-Z2-9]{6}$/) }),
      'game:input': fc.record({ gameId: fc.uuid(), seq, turn: fc.constantFrom('left', 'right') }),
      'game:watch': fc.record({ gameId: fc.uuid() }),
      'game:leave': fc.record({ gameId: fc.uuid() }),
      'game:list': fc.constant({}),
      'game:ticks': fc.record({ mode: fc.constantFrom('full', 'compact') }),
    },
  };
}

/** Random requests for one namespace: well-formed ones with a few mutations, and garbage. */
function requests(namespace: Namespace, known: Known): fc.Arbitrary<FuzzRequest> {
  const schemas = RequestSchemas[namespace] as Record<string, z.ZodType>;
  const wellFormed = templates(known)[namespace] as Record<string, fc.Arbitrary<Payload>>;
  const events = Object.keys(schemas);

  const anyId = [...known.users, ...known.rooms, ...known.messages, ...known.notifications];
  const id = fc.oneof(fc.constantFrom(...anyId), fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), fc.string({ maxLength: 70 }));
  // Sizes stay below MAX_PACKET_BYTES: a larger packet closes the connection by design.
  const huge = fc.oneof(
    fc.integer({ min: 5_000, max: 100_000 }).map((n) => 'x'.repeat(n)),
    fc.integer({ min: 1_000, max: 30_000 }).map((n) => '😀'.repeat(n)),
    fc.integer({ min: 1_000, max: 20_000 }).map((n) => Array.from({ length: n }, (_, i) => i)),
  );
  const deep = fc.integer({ min: 10, max: 400 }).map((depth) => {
    let value: unknown = 'leaf';
    for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { a: value } : [value];
    return value;
  });
  const scalar = fc.oneof(
    fc.string(),
    // Any code points, lone surrogates included. (Built from integers: fc's binary string unit
    // keeps a table of every code point alive in this process, which would swamp the heap check.)
    fc.array(fc.integer({ min: 0, max: 0x10ffff }), { maxLength: 20 }).map((points) => String.fromCodePoint(...points)),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom(0, -1, 1, 200, 201, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, -0.5),
  );
  const value = fc.oneof(
    { arbitrary: id, weight: 4 },
    { arbitrary: scalar, weight: 4 },
    { arbitrary: fc.array(id, { maxLength: 8 }), weight: 2 },
    { arbitrary: fc.array(scalar, { maxLength: 8 }), weight: 1 },
    { arbitrary: fc.dictionary(id, fc.integer({ min: -5, max: 1_000_000 }), { maxKeys: 5 }), weight: 1 },
    { arbitrary: fc.anything({ maxDepth: 3 }), weight: 1 },
    { arbitrary: deep, weight: 1 },
    { arbitrary: huge, weight: 1 },
  );
  const extra = fc.dictionary(fc.string({ maxLength: 12 }), fc.anything({ maxDepth: 2 }), { maxKeys: 4 });
  // A mutation drops a field, replaces its value, or adds a field of any name.
  const mutation = fc.tuple(fc.constantFrom('drop', 'replace', 'add'), fc.nat(), fc.string({ maxLength: 12 }), value);
  const payloadFor = (event: string) => {
    const fields = fieldsOf(schemas[event] as z.ZodType);
    const shaped = fc
      .tuple(fc.record(Object.fromEntries(fields.map((f) => [f, value])), { requiredKeys: [] }), extra, fc.boolean())
      .map(([given, more, withExtra]) => (withExtra ? { ...more, ...given } : given));
    const mutated = fc
      .tuple(wellFormed[event] as fc.Arbitrary<Payload>, fc.array(mutation, { maxLength: 2 }))
      .map(([base, mutations]) => {
        const payload: Payload = { ...base };
        for (const [op, index, newKey, newValue] of mutations) {
          const keys = Object.keys(payload);
          const key = keys.length > 0 && op !== 'add' ? (keys[index % keys.length] as string) : newKey;
          if (op === 'drop') delete payload[key];
          else payload[key] = newValue;
        }
        return payload;
      });
    return fc.oneof(
      { arbitrary: mutated, weight: 6 },
      { arbitrary: shaped, weight: 4 },
      { arbitrary: fc.anything({ maxDepth: 3 }), weight: 1 },
      { arbitrary: scalar, weight: 1 },
      { arbitrary: fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 5 }), weight: 1 },
      { arbitrary: deep, weight: 1 },
      { arbitrary: huge, weight: 1 },
    );
  };

  const unknownEvent = fc.oneof(
    fc.string({ minLength: 1, maxLength: 40 }),
    fc.constantFrom('error', '__proto__', 'constructor', 'hasOwnProperty', 'toString', 'message:new', 'notification:new', 'room:create ', 'ROOM:LIST'),
  );
  const requestOf = fc.constantFrom(...events).chain((event) =>
    fc.record({
      event: fc.constant(event),
      // No payload at all, the payload, or the payload followed by stray arguments.
      args: fc.oneof(
        { arbitrary: fc.constant<unknown[]>([]), weight: 1 },
        { arbitrary: payloadFor(event).map((p) => [p]), weight: 8 },
        { arbitrary: fc.tuple(payloadFor(event), scalar).map((a) => [...a]), weight: 1 },
      ),
      withAck: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 }),
    }),
  );
  const stray = fc.record({
    event: unknownEvent.filter((e) => !CLIENT_RESERVED.has(e) && !Object.hasOwn(schemas, e)),
    args: fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 2 }),
    withAck: fc.boolean(),
  });
  return fc.oneof({ arbitrary: requestOf, weight: 9 }, { arbitrary: stray, weight: 1 });
}

/** Counts acknowledgement packets per ack id, below the client library, so a duplicate answer cannot hide. */
function countAcks(socket: Socket, namespace: Namespace): Map<number, number> {
  const counts = new Map<number, number>();
  const ACK = 3; // socket.io-parser PacketType.ACK
  socket.io.on('packet', (packet) => {
    if (packet.type === ACK && packet.nsp === namespace && packet.id !== undefined) {
      counts.set(packet.id, (counts.get(packet.id) ?? 0) + 1);
    }
  });
  return counts;
}

function expectWellFormedAnswer(answer: unknown, event: string): void {
  expect(typeof answer, event).toBe('object');
  const result = answer as { ok?: unknown; error?: { code?: unknown; message?: unknown; retryAfterMs?: unknown } };
  if (result.ok === true) return;
  expect(result.ok, `${event}: ${JSON.stringify(answer)}`).toBe(false);
  expect(isErrorCode(result.error?.code), `${event}: ${JSON.stringify(answer)}`).toBe(true);
  expect(result.error?.code, `${event}: ${JSON.stringify(answer)}`).not.toBe('INTERNAL');
  expect(typeof result.error?.message).toBe('string');
}

describe('fuzzing /chat, /notifications and /monitor', () => {
  let t: TestServer;
  let alice: Session;
  let bob: Session;
  let known: Known;

  beforeAll(async () => {
    t = await startServer({ RATE_LIMITS: 'off' });
    alice = await register(t.url, uniqueName('alice'));
    bob = await register(t.url, uniqueName('bob'));
    const aliceChat = await connect(t.url, '/chat', alice.accessToken);
    const bobChat = await connect(t.url, '/chat', bob.accessToken);
    const create = async (kind: string, memberIds: string[] = []) =>
      (await ok<{ room: Room }>(aliceChat, 'room:create', { name: uniqueName('Fuzz'), kind, memberIds })).room;
    const rooms = [await create('public'), await create('private', [bob.user.id]), (await ok<{ room: Room }>(aliceChat, 'dm:open', { userId: bob.user.id })).room];
    await ok(bobChat, 'room:join', { roomId: rooms[0]?.id });
    const messages: Message[] = [];
    for (const room of rooms) {
      const sent = await ok<{ message: Message }>(bobChat, 'message:send', { roomId: room.id, clientMsgId: uniqueName('c'), text: `hi @${alice.user.username}` });
      messages.push(sent.message);
    }
    await eventually(async () => (await t.server.services.notifications.unreadCount(alice.user.id)) === 3, 5000, 'notifications');
    const inbox = await connect(t.url, '/notifications', alice.accessToken);
    const { notifications } = await ok<{ notifications: Notification[] }>(inbox, 'notification:list', {});
    known = {
      users: [alice.user.id, bob.user.id],
      rooms: rooms.map((r) => r.id),
      messages: messages.map((m) => m.id),
      notifications: notifications.map((n) => n.id),
    };
    closeSockets();
  });
  afterAll(async () => {
    closeSockets();
    await t.close();
  });

  it.each(['/chat', '/notifications', '/monitor', '/game'] as const)('answers everything thrown at %s, exactly once, and keeps serving', async (namespace) => {
    const socket = await connect(t.url, namespace, alice.accessToken);
    const acks = countAcks(socket, namespace);
    const errors: unknown[] = [];
    socket.on('error', (e: unknown) => errors.push(e));
    let asked = 0;

    const baseline = heapUsed();
    await fc.assert(
      fc.asyncProperty(fc.array(requests(namespace, known), { minLength: 10, maxLength: 60, size: 'max' }), async (batch) => {
        const answers = batch.map(({ event, args, withAck }) => {
          if (!withAck) {
            socket.emit(event, ...args);
            return undefined;
          }
          asked++;
          return socket.timeout(10_000).emitWithAck(event, ...args).then((answer: unknown) => [event, answer] as const);
        });
        for (const pending of answers) {
          if (pending === undefined) continue;
          const [event, answer] = await pending;
          expectWellFormedAnswer(answer, event);
        }
        expect(socket.connected).toBe(true);
      }),
      { numRuns: 300 },
    );

    // Exactly one answer per request: as many ack packets as requests, none of them twice.
    await eventually(() => [...acks.values()].reduce((a, b) => a + b, 0) >= asked, 10_000, 'every acknowledgement');
    expect([...acks.values()].reduce((a, b) => a + b, 0)).toBe(asked);
    expect([...acks.values()].every((n) => n === 1)).toBe(true);
    expect(asked).toBeGreaterThan(5000);

    // Failures without an ack came back as `error` events of the contract's shape.
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) {
      expect(e).toEqual({ code: expect.any(String), message: expect.any(String), event: expect.any(String) });
      expect(isErrorCode((e as { code: string }).code)).toBe(true);
      expect((e as { code: string }).code).not.toBe('INTERNAL');
    }

    // Still serving normal requests, on this socket and on a fresh one.
    // Alice, the first account, is the admin: the only one /monitor lets in.
    const fresh = await connect(t.url, namespace, namespace === '/monitor' ? alice.accessToken : bob.accessToken);
    if (namespace === '/monitor') {
      expect(await ok(fresh, 'alert:rules', {})).toMatchObject({ rules: expect.any(Array), active: expect.any(Array) });
      expect(await ok(socket, 'errors:list', { limit: 5 })).toMatchObject({ groups: expect.any(Array) });
    } else if (namespace === '/chat') {
      const room = (await ok<{ room: Room }>(fresh, 'room:create', { name: uniqueName('After'), kind: 'public' })).room;
      const sent = await ok<{ message: Message }>(fresh, 'message:send', { roomId: room.id, clientMsgId: uniqueName('c'), text: 'still here' });
      expect(sent.message.seq).toBe(1);
      expect((await ok<{ rooms: Room[] }>(socket, 'room:list', {})).rooms.length).toBeGreaterThan(0);
    } else if (namespace === '/game') {
      expect(await ok(fresh, 'game:list', {})).toMatchObject({ games: expect.any(Array) });
      expect(await ok(socket, 'match:cancel', {})).toEqual({ ok: true });
    } else {
      expect(await ok(fresh, 'notification:list', {})).toMatchObject({ hasMore: expect.any(Boolean), unread: expect.any(Number) });
      expect(await ok(socket, 'notification:read', { all: true })).toEqual({ ok: true, unread: 0 });
    }

    expect(heapUsed() - baseline).toBeLessThan(HEAP_GROWTH_MAX);
    // 300 rounds of up to 60 requests take 5–15 s alone, and far longer beside other test files on 2 cores.
  }, 120_000);
});
