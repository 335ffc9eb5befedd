/**
 * Documents over HTTP (PROTOCOL §5): a room's documents, their metadata and their versions. The
 * content itself is edited live over `/collab/:docId` (realtime/collab.ts).
 */
import {
  DocCreateInput,
  DocParams,
  DocRenameInput,
  DocVersionCreateInput,
  DocVersionParams,
  RoomDocsParams,
  type Doc,
  type DocVersion,
} from '@switchboard/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AuthService, Principal } from '../domain/auth.js';
import type { DocumentService } from '../domain/documents/documents.js';
import type { RateLimiter } from '../scale/rate-limit.js';
import { requireUser } from './auth.js';
import { parse } from './errors.js';
import { docs, jsonSchema } from './openapi.js';

// Answers are never parsed, only sent; `satisfies` keeps them in step with the protocol's types.
const DocDoc = z.object({
  id: z.string(),
  roomId: z.string(),
  title: z.string(),
  createdBy: z.string(),
  createdAt: z.number().int().describe('ms since the epoch'),
  updatedAt: z.number().int().describe('ms since the epoch'),
}) satisfies z.ZodType<Doc>;

const VersionDoc = z.object({
  id: z.string(),
  docId: z.string(),
  name: z.string().nullable().describe('null for an automatic version'),
  createdAt: z.number().int().describe('ms since the epoch'),
  createdBy: z.string().nullable().describe('null for an automatic version'),
}) satisfies z.ZodType<DocVersion>;

const answer = (description: string, schema: z.ZodType) => ({ description, ...jsonSchema(schema, 'output') });
const memberErrors = (more: Record<number, string> = {}) =>
  docs.errors({
    401: 'no valid access token',
    403: 'not a member of the room',
    404: 'unknown room or document',
    429: 'too many requests',
    ...more,
  });

const schemas = {
  create: {
    tags: ['documents'],
    summary: 'Create a document in a room',
    security: docs.bearer,
    params: jsonSchema(RoomDocsParams),
    body: jsonSchema(DocCreateInput),
    response: { 201: answer('Created', z.object({ doc: DocDoc })), ...memberErrors({ 400: 'invalid title' }) },
  },
  list: {
    tags: ['documents'],
    summary: "A room's documents, newest first",
    security: docs.bearer,
    params: jsonSchema(RoomDocsParams),
    response: { 200: answer('The documents not deleted', z.object({ docs: z.array(DocDoc) })), ...memberErrors() },
  },
  get: {
    tags: ['documents'],
    summary: 'One document',
    security: docs.bearer,
    params: jsonSchema(DocParams),
    response: { 200: answer('The document', z.object({ doc: DocDoc })), ...memberErrors() },
  },
  rename: {
    tags: ['documents'],
    summary: 'Rename a document',
    security: docs.bearer,
    params: jsonSchema(DocParams),
    body: jsonSchema(DocRenameInput),
    response: { 200: answer('Renamed', z.object({ doc: DocDoc })), ...memberErrors({ 400: 'invalid title' }) },
  },
  delete: {
    tags: ['documents'],
    summary: 'Delete a document',
    description: 'Open `/collab` connections to it are closed with 4404.',
    security: docs.bearer,
    params: jsonSchema(DocParams),
    response: { 204: docs.noContent('Deleted'), ...memberErrors() },
  },
  versions: {
    tags: ['documents'],
    summary: "A document's versions, newest first",
    security: docs.bearer,
    params: jsonSchema(DocParams),
    response: { 200: answer('The versions', z.object({ versions: z.array(VersionDoc) })), ...memberErrors() },
  },
  createVersion: {
    tags: ['documents'],
    summary: 'Store a named version of the current state',
    security: docs.bearer,
    params: jsonSchema(DocParams),
    body: jsonSchema(z.object({ name: z.string().optional() })),
    response: { 201: answer('Stored', z.object({ version: VersionDoc })), ...memberErrors({ 400: 'invalid name' }) },
  },
  version: {
    tags: ['documents'],
    summary: 'One version and its text',
    security: docs.bearer,
    params: jsonSchema(DocVersionParams),
    response: {
      200: answer('The version and its `content` text', z.object({ version: VersionDoc, text: z.string() })),
      ...memberErrors({ 404: 'unknown room, document or version' }),
    },
  },
  restore: {
    tags: ['documents'],
    summary: 'Restore a version',
    description:
      "The document's `content` becomes the version's text, as a new edit that every open client receives " +
      '(a diff applied to the live document); the history keeps everything.',
    security: docs.bearer,
    params: jsonSchema(DocVersionParams),
    response: {
      200: answer('The version restored', z.object({ version: VersionDoc })),
      ...memberErrors({ 404: 'unknown room, document or version' }),
    },
  },
};

export function documentRoutes(app: FastifyInstance, deps: { auth: AuthService; documents: DocumentService; limiter: RateLimiter }): void {
  const { auth, documents, limiter } = deps;

  /** The caller, after their request took its point of the per-user budget (PROTOCOL §2). */
  const caller = async (req: FastifyRequest): Promise<Principal> => {
    const principal = await requireUser(auth, req);
    await limiter.consume(principal.userId, 'default');
    return principal;
  };

  app.post('/api/rooms/:roomId/docs', { schema: schemas.create }, async (req, reply) => {
    const { userId } = await caller(req);
    const { roomId } = parse(RoomDocsParams, req.params);
    const doc = await documents.create(userId, roomId, parse(DocCreateInput, req.body));
    return reply.status(201).send({ doc });
  });
  app.get('/api/rooms/:roomId/docs', { schema: schemas.list }, async (req) => {
    const { userId } = await caller(req);
    const { roomId } = parse(RoomDocsParams, req.params);
    return { docs: await documents.list(userId, roomId) };
  });
  app.get('/api/docs/:docId', { schema: schemas.get }, async (req) => {
    const { userId } = await caller(req);
    return { doc: await documents.readable(userId, parse(DocParams, req.params).docId) };
  });
  app.patch('/api/docs/:docId', { schema: schemas.rename }, async (req) => {
    const { userId } = await caller(req);
    const { docId } = parse(DocParams, req.params);
    return { doc: await documents.rename(userId, docId, parse(DocRenameInput, req.body).title) };
  });
  app.delete('/api/docs/:docId', { schema: schemas.delete }, async (req, reply) => {
    const { userId } = await caller(req);
    await documents.delete(userId, parse(DocParams, req.params).docId);
    return reply.status(204).send();
  });
  app.get('/api/docs/:docId/versions', { schema: schemas.versions }, async (req) => {
    const { userId } = await caller(req);
    return { versions: await documents.versions(userId, parse(DocParams, req.params).docId) };
  });
  app.post('/api/docs/:docId/versions', { schema: schemas.createVersion }, async (req, reply) => {
    const { userId } = await caller(req);
    const { docId } = parse(DocParams, req.params);
    const version = await documents.createVersion(userId, docId, parse(DocVersionCreateInput, req.body));
    return reply.status(201).send({ version });
  });
  app.get('/api/docs/:docId/versions/:versionId', { schema: schemas.version }, async (req) => {
    const { userId } = await caller(req);
    const { docId, versionId } = parse(DocVersionParams, req.params);
    return documents.version(userId, docId, versionId);
  });
  app.post('/api/docs/:docId/versions/:versionId/restore', { schema: schemas.restore }, async (req) => {
    const { userId } = await caller(req);
    const { docId, versionId } = parse(DocVersionParams, req.params);
    return { version: await documents.restore(userId, docId, versionId) };
  });
}
