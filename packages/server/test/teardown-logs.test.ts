/**
 * Closing the nodes of a multi-node deployment (PostgreSQL + Redis) in use is quiet: nothing at
 * error level in the server's own log (every node writing into one buffer), and no unhandled
 * rejection, while sockets are still connected when the nodes go.
 */
import type { Message, Room } from '@switchboard/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { chatUser, closeSockets, next, ok } from './helpers.js';
import { startCluster, type TestCluster } from './multinode.js';

const lines: string[] = [];
const logger = createLogger('warn', { write: (line: string) => void lines.push(line) });
let cluster: TestCluster | undefined;

afterAll(async () => {
  closeSockets();
  await cluster?.close();
});

describe('multi-node teardown', () => {
  it('logs nothing at error level and leaves no unhandled rejection when the nodes close', async () => {
    cluster = await startCluster(2, { logger });
    const [n0, n1] = cluster.nodes;
    if (!n0 || !n1) throw new Error('two nodes expected');
    const ada = await chatUser(n0.url);
    const bob = await chatUser(n1.url);
    const { room } = await ok<{ room: Room }>(ada.socket, 'room:create', { name: 'teardown', kind: 'public' });
    await ok(bob.socket, 'room:join', { roomId: room.id });
    const heard = next<Message>(bob.socket, 'message:new');
    await ok(ada.socket, 'message:send', { roomId: room.id, clientMsgId: 'teardown-1', text: 'before the end' });
    expect((await heard).text).toBe('before the end');

    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => void rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      // Sockets still connected: the nodes close under them, one after the other.
      await cluster.close();
      cluster = undefined;
    } finally {
      process.off('unhandledRejection', onRejection);
    }
    const errors = lines.map((line) => JSON.parse(line) as { level: number; msg: string }).filter((l) => l.level >= 50);
    expect(errors).toEqual([]);
    expect(rejections).toEqual([]);
  }, 60_000);
});
