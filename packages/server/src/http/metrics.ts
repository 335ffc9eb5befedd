/**
 * `GET /metrics` (PROTOCOL §7): Prometheus text. With METRICS_TOKEN set, only a request bearing
 * `Authorization: Bearer <METRICS_TOKEN>` is answered (else 401 UNAUTHENTICATED); the comparison
 * takes the same time whatever the token's content.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { unauthenticated } from '../domain/errors.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

export function metricsRoutes(app: FastifyInstance, options: { token?: string | undefined; scrape: () => Promise<string> }): void {
  const expected = options.token === undefined ? undefined : digest(options.token);
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['monitoring'],
        summary: 'Prometheus metrics',
        description: 'Prometheus text format; needs `Authorization: Bearer <METRICS_TOKEN>` when METRICS_TOKEN is set. In cluster mode, every worker of the host.',
      },
    },
    async (req, reply) => {
      if (expected) {
        const header = req.headers.authorization ?? '';
        const given = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
        if (!timingSafeEqual(digest(given), expected)) throw unauthenticated('a valid metrics token is required');
      }
      const text = await options.scrape();
      return reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8').header('cache-control', 'no-store').send(text);
    },
  );
}
