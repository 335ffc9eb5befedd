/**
 * Limits of the wire contract. Text lengths count Unicode code points (PROTOCOL §2).
 */
export const Limits = {
  usernameMin: 3,
  usernameMax: 32,
  passwordMin: 8,
  passwordMax: 128,
  displayNameMax: 64,
  roomNameMax: 80,
  roomTopicMax: 250,
  /** Users named in one `room:create`. */
  roomCreateMembersMax: 100,
  messageTextMax: 4000,
  attachmentsPerMessageMax: 10,
  /** Stored file names, after sanitizing (longer ones are shortened, keeping the extension). */
  fileNameMax: 255,
  clientMsgIdMax: 64,
  idMax: 64,
  tokenMax: 4096,
  pageDefault: 50,
  pageMax: 200,
  /**
   * Messages per room in one `sync` answer, and edited or deleted messages (`updated`) per room;
   * page on with `sync` or `message:history`, and `updatedAfter`.
   */
  syncPageMax: 200,
  /**
   * Messages and changes in one `sync` answer, all rooms together: the rooms after the budget is
   * spent answer `hasMore` / `updatedHasMore` and are paged on. Even at the longest texts this keeps
   * an answer within a connection's send budget (MAX_SOCKET_BUFFER_BYTES × 8).
   */
  syncAnswerMax: 500,
  /** Rooms named in one `sync` request. */
  syncRoomsMax: 1000,
  /** Ids in one `notification:read`. */
  notificationReadIdsMax: 500,
  browseQueryMax: 80,
  /** `user:search`: query length after trimming, and its page size (default, and the clamp). */
  userSearchQueryMax: 32,
  userSearchLimitDefault: 20,
  userSearchLimitMax: 50,
  /** Distinct emoji on one message: one more is refused (`CONFLICT`). */
  reactionsPerMessageMax: 20,
  /** A `:shortcode:` reaction, colons included. */
  reactionShortcodeMax: 64,
  /** Seconds after which a `typing: true` without renewal expires. */
  typingExpirySeconds: 6,
} as const;
export type Limits = typeof Limits;

/** Number of Unicode code points in `text` (what every text limit counts). */
export function codePointLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}
