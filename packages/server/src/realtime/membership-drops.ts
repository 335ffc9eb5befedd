/**
 * Carries the membership cache's drops (scale/membership-cache.ts) to the other processes of a
 * deployment as a server-side event of the Socket.IO adapter: over Redis in multi-node mode,
 * through the primary in cluster mode. A single process has nobody to tell.
 */
import type { MembershipCache } from '../scale/membership-cache.js';
import type { IoServer } from './types.js';

export function shareMembershipDrops(io: IoServer, cache: MembershipCache<unknown>): void {
  io.on('membership:ended', (roomId, userId) => cache.drop(roomId, userId));
  cache.share({ publish: (roomId, userId) => io.serverSideEmit('membership:ended', roomId, userId) });
}
