/**
 * Message search (PROTOCOL §4.3 `message:search`): full-text over the rooms the caller belongs
 * to, or one of them, newest first, each hit with a snippet whose matches are marked `«…»`.
 * Membership is part of the query itself, so a room left a moment ago is not searched.
 */
import { SearchLimits, type MessageSearchInput, type SearchResult } from '@switchboard/protocol';
import type { z } from 'zod';
import { toMessage } from './messages.js';
import type { RoomService } from './rooms.js';
import type { SearchRepository } from '../store/search.js';

type SearchInput = z.output<typeof MessageSearchInput>;

export class SearchService {
  constructor(
    private readonly search: SearchRepository,
    private readonly rooms: RoomService,
  ) {}

  /** A page of matches; `hasMore` when older ones exist (ask again with `before` = the last result's id). */
  async messages(userId: string, input: SearchInput): Promise<{ results: SearchResult[]; hasMore: boolean }> {
    // Naming a room one cannot read is an error (as in `message:history`), not an empty answer.
    if (input.roomId !== undefined) await this.rooms.requireMember(userId, input.roomId);
    const limit = input.limit ?? SearchLimits.pageDefault;
    const hits = await this.search.search({ userId, text: input.query, roomId: input.roomId, before: input.before, limit });
    return {
      results: hits.slice(0, limit).map((hit) => ({ message: toMessage(hit), snippet: hit.snippet })),
      hasMore: hits.length > limit,
    };
  }
}
