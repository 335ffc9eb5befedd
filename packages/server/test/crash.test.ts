/**
 * A server SIGKILLed in the middle of a burst of sends, then started again on the same data: every
 * message that was acknowledged before the kill is there, with the id and seq of its ack, and each
 * room's seqs are still 1..N without gaps. (Group commit acknowledges a send only after the
 * transaction holding it committed: with SQLite's synchronous=FULL that is after the fsync.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Message, Result } from '@switchboard/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { closeSockets, connect, createPgDatabase, dialects, eventually, ok, register, uniqueName } from './helpers.js';
import { PROCESS_TEST_TIMEOUT_MS, killServers, spawnServer } from './processes.js';

const SENDERS = 6;
const ROOMS = 3;
/** Unanswered sends each sender allows itself. */
const WINDOW = 12;

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  closeSockets();
  killServers();
  for (const cleanup of cleanups) await cleanup();
});

describe.each(dialects)('SIGKILL during a burst on %s', (dialect) => {
  it(
    'loses nothing that was acknowledged',
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-crash-'));
      cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
      const env: Record<string, string> = { DATA_DIR: dataDir, JWT_SECRET: randomBytes(32).toString('hex'), RATE_LIMITS: 'off' };
      if (dialect === 'postgres') {
        const database = await createPgDatabase();
        cleanups.push(database.drop);
        env.DATABASE_URL = database.url;
      }
      const first = await spawnServer(env);
      const sessions = await Promise.all(Array.from({ length: SENDERS }, () => register(first.url)));
      const sockets = await Promise.all(sessions.map((s) => connect(first.url, '/chat', s.accessToken)));
      const roomIds: string[] = [];
      for (let r = 0; r < ROOMS; r++) {
        const { room } = await ok<{ room: { id: string } }>(sockets[0]!, 'room:create', { name: uniqueName('Crash'), kind: 'public' });
        for (const socket of sockets.slice(1)) await ok(socket, 'room:join', { roomId: room.id });
        roomIds.push(room.id);
      }

      // Every sender keeps sending to every room, without waiting for each ack, until the server
      // dies. Each keeps at most WINDOW sends unanswered: the server's answers set the pace, not the
      // sender's speed. (Unpaced, a busy machine let the senders outrun the server, the broadcasts
      // queued ahead of the acks in each socket, and every ack came after the client's timeout.)
      const acked: Message[] = [];
      const refusals: string[] = [];
      let sent = 0;
      let stop = false;
      const pumps = sockets.map(async (socket, s) => {
        const unanswered = new Set<Promise<void>>();
        for (let i = 0; !stop && socket.connected; i++) {
          for (let r = 0; r < ROOMS; r++) {
            const pending: Promise<void> = socket
              .timeout(30_000)
              .emitWithAck('message:send', { roomId: roomIds[r], text: `s${s} #${i}`, clientMsgId: `s${s}-${r}-${i}` })
              .then(
                (ack: Result<{ message: Message }>) => void (ack.ok ? acked.push(ack.message) : refusals.push(ack.error.code)),
                () => undefined, // no answer: the server died first; such a send may or may not be stored
              )
              .finally(() => unanswered.delete(pending));
            unanswered.add(pending);
            sent++;
          }
          while (unanswered.size >= WINDOW && !stop && socket.connected) {
            await Promise.race([...unanswered, new Promise((r) => setTimeout(r, 20))]);
          }
        }
        // socket.io-client fails an unanswered ack when its socket disconnects.
        await Promise.all(unanswered);
      });
      await eventually(() => acked.length >= 300, 60_000, `300 acknowledged sends (${acked.length}; refused: ${[...new Set(refusals)].join(', ')})`);
      first.kill('SIGKILL');
      await first.exited;
      stop = true;
      await Promise.all(pumps);
      const ackedBeforeKill = [...acked];
      expect(sent).toBeGreaterThan(ackedBeforeKill.length);

      const second = await spawnServer(env);
      const reader = await connect(second.url, '/chat', sessions[0]!.accessToken);
      for (const roomId of roomIds) {
        const history: Message[] = [];
        for (let afterSeq = 0; ; ) {
          const page = await ok<{ messages: Message[]; hasMore: boolean }>(reader, 'message:history', { roomId, afterSeq, limit: 200 });
          history.push(...page.messages);
          if (!page.hasMore) break;
          afterSeq = page.messages.at(-1)!.seq;
        }
        expect(history.map((m) => m.seq)).toEqual(history.map((_, i) => i + 1));
        const byId = new Map(history.map((m) => [m.id, m]));
        for (const message of ackedBeforeKill.filter((m) => m.roomId === roomId)) {
          expect(byId.get(message.id)).toMatchObject({ seq: message.seq, clientMsgId: message.clientMsgId, text: message.text });
        }
      }
      second.kill('SIGKILL');
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
