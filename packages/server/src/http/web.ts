/**
 * Serves the web app (packages/web, built into `WEB_DIR`): hashed bundles under `/assets/` are
 * cached for a year as immutable, `index.html` is revalidated on every load (so a new release is
 * picked up at once), and every other GET outside the API (`/rooms/…`) answers with the app,
 * whose router takes it from there. Without a build the server still runs and `/` says how to
 * build the app.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** packages/web/dist, from this file in packages/server/src/http or packages/server/dist/http. */
export const defaultWebDir = (): string => fileURLToPath(new URL('../../../web/dist', import.meta.url));

/**
 * Paths that belong to the server, never to the app: unknown ones there answer the protocol's JSON
 * 404, so that an API client or a scraper with a wrong path gets an error it can read rather than
 * a page with status 200. Everything under `/api…` and `/metrics…` counts (`/api`, `/apix`,
 * `/metrics/foo`, `/metricsx`): the app has no page there.
 */
const SERVER_PATHS = /^\/(?:api|metrics|healthz|readyz)|^\/(?:socket\.io|collab|ws)(?:\/|$)/;

/**
 * A path no page of the app has: undecodable, or, once decoded, holding `.`/`..` segments,
 * backslashes or NUL (traversal attempts, encoded so as to slip past a plain check). They get a
 * 404 rather than the app, so that probing for files never looks like it found one.
 */
function suspicious(path: string): boolean {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return true;
  }
  return decoded.includes('\\') || decoded.includes('\0') || decoded.split('/').some((segment) => segment === '.' || segment === '..');
}

const YEAR_SECONDS = 365 * 24 * 60 * 60;
/** Pages, not API: kept out of the OpenAPI document. */
const HIDDEN = { hide: true };

const NOT_BUILT = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Switchboard</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; padding: 0 1rem; line-height: 1.5">
<h1>Switchboard is running</h1>
<p>The web app has not been built yet. Run <code>npm run build</code> in the repository, then reload this page.</p>
<p>The API (<code>/api</code>) and Socket.IO (<code>/socket.io/</code>) are available.</p>
</body>
</html>
`;

export async function webRoutes(app: FastifyInstance, dir: string): Promise<void> {
  const webDir = resolve(dir);
  if (!existsSync(join(webDir, 'index.html'))) {
    app.log.warn({ webDir }, 'web app not built: run `npm run build` to serve it');
    app.get('/', { schema: HIDDEN }, (_req, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(NOT_BUILT));
    return;
  }

  const assets = join(webDir, 'assets');
  await app.register(fastifyStatic, {
    root: assets,
    prefix: '/assets/',
    index: false,
    dotfiles: 'ignore',
    cacheControl: false,
    // Content-hashed names: a changed file gets a new name, so caches may keep these forever.
    // Everything else (index.html, favicon.svg) keeps its name and is revalidated on each use.
    setHeaders: (reply, path) =>
      reply.header('cache-control', path.startsWith(assets + sep) ? `public, max-age=${YEAR_SECONDS}, immutable` : 'no-cache'),
  });

  // Files at the top of the build other than index.html (favicon.svg, …) are served as they are.
  const topFiles = new Set(
    readdirSync(webDir, { withFileTypes: true })
      .filter((entry) => entry.isFile() && !entry.name.startsWith('.') && entry.name !== 'index.html')
      .map((entry) => entry.name),
  );

  app.get('/*', { schema: HIDDEN }, (req, reply) => {
    const path = req.url.split('?')[0] ?? '/';
    if (SERVER_PATHS.test(path) || path.startsWith('/assets/') || suspicious(path)) return reply.callNotFound();
    const name = path.slice(1);
    const file = topFiles.has(name) ? name : 'index.html';
    return reply.sendFile(file, webDir);
  });
}
