/** Liveness and readiness (PROTOCOL §1): `/readyz` is 200 only while accepting and the stores answer. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { jsonSchema } from './openapi.js';

const status = (value: string, description: string) => ({ description, ...jsonSchema(z.object({ status: z.literal(value) }), 'output') });

export function healthRoutes(app: FastifyInstance, ready: () => Promise<boolean>): void {
  app.get(
    '/healthz',
    { schema: { tags: ['health'], summary: 'Liveness', response: { 200: status('ok', 'The process runs') } } },
    async () => ({ status: 'ok' }),
  );
  const readiness = {
    tags: ['health'],
    summary: 'Readiness',
    description: 'Accepting connections and the stores answer; 503 while starting, draining or when a store is down.',
    response: { 200: status('ready', 'Ready'), 503: status('unavailable', 'Not ready') },
  };
  app.get('/readyz', { schema: readiness }, async (_req, reply) => {
    const ok = await ready().catch(() => false);
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable' });
  });
}
