/**
 * Game ratings and history over HTTP (PROTOCOL §6): the leaderboard of a mode and a user's finished
 * games. Live games are on the `/game` namespace (realtime/game.ts).
 */
import { LeaderboardQuery, UserGamesParams, type GameRecord, type LeaderboardEntry } from '@switchboard/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AuthService } from '../domain/auth.js';
import type { GameRecords } from '../domain/game/records.js';
import type { RateLimiter } from '../scale/rate-limit.js';
import { requireUser } from './auth.js';
import { parse } from './errors.js';
import { docs, jsonSchema } from './openapi.js';

const EntryDoc = z.object({
  userId: z.string(),
  username: z.string(),
  rating: z.number().int(),
  games: z.number().int(),
  wins: z.number().int(),
}) satisfies z.ZodType<LeaderboardEntry>;

const RecordDoc = z.object({
  gameId: z.string(),
  mode: z.enum(['duel', 'quad']),
  finishedAt: z.number().int().describe('ms since the epoch'),
  winnerSeat: z.number().int().nullable().describe('null for a draw'),
  reason: z.enum(['finished', 'forfeit', 'aborted']),
  players: z.array(z.object({ seat: z.number().int(), userId: z.string().nullable(), name: z.string(), bot: z.boolean() })),
}) satisfies z.ZodType<GameRecord>;

const answer = (description: string, schema: z.ZodType) => ({ description, ...jsonSchema(schema, 'output') });

const schemas = {
  leaderboard: {
    tags: ['games'],
    summary: "A mode's best-rated players, best first",
    security: docs.bearer,
    querystring: jsonSchema(LeaderboardQuery),
    response: {
      200: answer('The leaderboard', z.object({ entries: z.array(EntryDoc) })),
      ...docs.errors({ 400: 'unknown mode', 401: 'no valid access token', 429: 'too many requests' }),
    },
  },
  history: {
    tags: ['games'],
    summary: "A user's finished games, newest first",
    security: docs.bearer,
    params: jsonSchema(UserGamesParams),
    response: {
      200: answer('The games', z.object({ games: z.array(RecordDoc) })),
      ...docs.errors({ 400: 'invalid id', 401: 'no valid access token', 429: 'too many requests' }),
    },
  },
};

export function gameRoutes(app: FastifyInstance, deps: { auth: AuthService; records: GameRecords; limiter: RateLimiter }): void {
  const { auth, records, limiter } = deps;

  const caller = async (req: FastifyRequest) => {
    const principal = await requireUser(auth, req);
    await limiter.consume(principal.userId, 'default');
    return principal;
  };

  app.get('/api/leaderboard', { schema: schemas.leaderboard }, async (req) => {
    await caller(req);
    return { entries: await records.leaderboard(parse(LeaderboardQuery, req.query).mode) };
  });
  app.get('/api/users/:id/games', { schema: schemas.history }, async (req) => {
    await caller(req);
    return { games: await records.history(parse(UserGamesParams, req.params).id) };
  });
}
