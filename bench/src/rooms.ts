/**
 * Many rooms: R rooms of M members each, every member its own user and socket, and messages at a
 * fixed total rate, each to a random room from a random member of it. Where the fan-out stresses
 * one room's broadcast, this stresses what each message costs on its own (validation, membership,
 * storage, its room's seq) at a modest number of deliveries. Bare Socket.IO gets the same rooms
 * (by name) and the very same schedule.
 */
import { createRooms, type Accounts } from './accounts.js';
import { runLoad, type Load, type LoadResult, type LoadTiming } from './fanout.js';
import { copyDir, removeDir, startSwitchboard } from './procs.js';
import { ratio } from './results.js';
import { summary } from './sweep.js';
import { withBaseline, withSwitchboard } from './servers.js';
import type { ClientSpec } from './worker-messages.js';

/** `room:create` requests in flight at once while the rooms are made. */
export const ROOM_CREATE_CONCURRENCY = 32;

export interface RoomsSize extends LoadTiming {
  rooms: number;
  membersPerRoom: number;
  /** Messages per second, all rooms together. */
  rate: number;
}

export interface RoomsResult {
  rooms: number;
  membersPerRoom: number;
  /** Seconds a throwaway server took to create the rooms and their memberships (`room:create` with `memberIds`). */
  setupSeconds: number;
  baseline: LoadResult;
  switchboard: LoadResult;
  /** Switchboard ÷ baseline. */
  ratios: { deliveriesPerSecond: number; p50: number; p99: number; max: number };
}

/**
 * Creates the rooms once, on a throwaway server over a copy of the accounts' DATA_DIR, and keeps
 * that DATA_DIR as the template every measured server starts from.
 */
async function roomsTemplate(
  accounts: Accounts,
  size: RoomsSize,
  log: (line: string) => void,
): Promise<{ dataDir: string; roomIds: string[]; seconds: number }> {
  const dataDir = copyDir(accounts.dataDir, 'switchboard-bench-rooms-');
  const started = Date.now();
  const server = await startSwitchboard({ DATA_DIR: dataDir }, 'switchboard:rooms');
  try {
    log(`creating ${size.rooms} rooms × ${size.membersPerRoom} members`);
    const rooms = Array.from({ length: size.rooms }, (_, i) => ({
      name: `bench-room-${String(i).padStart(5, '0')}`,
      memberIds: accounts.userIds.slice(i * size.membersPerRoom, (i + 1) * size.membersPerRoom),
    }));
    const roomIds = await createRooms(server.url, accounts.owner, rooms, ROOM_CREATE_CONCURRENCY);
    return { dataDir, roomIds, seconds: Number(((Date.now() - started) / 1000).toFixed(1)) };
  } catch (err) {
    removeDir(dataDir);
    throw err;
  } finally {
    await server.stop();
  }
}

export async function runRooms(accounts: Accounts, size: RoomsSize, log: (line: string) => void): Promise<RoomsResult> {
  const clientCount = size.rooms * size.membersPerRoom;
  if (accounts.tokens.length < clientCount) throw new Error(`${clientCount} accounts needed, ${accounts.tokens.length} registered`);
  const template = await roomsTemplate(accounts, size, log);
  try {
    log(`rooms created in ${template.seconds} s`);
    const messages = size.rate * size.seconds;
    const roomOf = Array.from({ length: messages }, () => Math.floor(Math.random() * size.rooms));
    // Client i is member i % M of room ⌊i / M⌋; each message comes from a random member of its room.
    const senderOf = roomOf.map((room) => room * size.membersPerRoom + Math.floor(Math.random() * size.membersPerRoom));
    const clients = (tokens: readonly string[]): ClientSpec[] =>
      Array.from({ length: clientCount }, (_, i) => ({
        ...(tokens.length > 0 ? { token: tokens[i] } : {}),
        sender: i,
        room: Math.floor(i / size.membersPerRoom),
      }));
    const load = (roomIds: string[], tokens: readonly string[]): Load => ({
      ...size,
      roomIds,
      clients: clients(tokens),
      senderOf,
      roomOf,
      connectConcurrency: 50,
    });

    log(`— many rooms: ${size.rooms} × ${size.membersPerRoom}, ${size.rate} msg/s —`);
    const baselineRooms = template.roomIds.map((_, i) => `bench-room-${i}`);
    const baseline = await withBaseline((server) => runLoad(server, 'baseline', load(baselineRooms, []), log));
    log(summary('baseline', baseline));
    const switchboard = await withSwitchboard(template.dataDir, {}, (server) =>
      runLoad(server, 'switchboard', load(template.roomIds, accounts.tokens), log),
    );
    log(summary('switchboard', switchboard));
    return {
      rooms: size.rooms,
      membersPerRoom: size.membersPerRoom,
      setupSeconds: template.seconds,
      baseline,
      switchboard,
      ratios: {
        deliveriesPerSecond: ratio(switchboard.deliveriesPerSecond, baseline.deliveriesPerSecond),
        p50: ratio(switchboard.latencyMs.p50, baseline.latencyMs.p50),
        p99: ratio(switchboard.latencyMs.p99, baseline.latencyMs.p99),
        max: ratio(switchboard.latencyMs.max, baseline.latencyMs.max),
      },
    };
  } finally {
    removeDir(template.dataDir);
  }
}
