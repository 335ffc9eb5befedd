/** Liveness and readiness (PROTOCOL §1): `/readyz` is 200 only while accepting and the stores answer. */
import type { FastifyInstance } from 'fastify';

export function healthRoutes(app: FastifyInstance, ready: () => Promise<boolean>): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const ok = await ready().catch(() => false);
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable' });
  });
}
