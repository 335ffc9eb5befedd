/**
 * Serving the web app (http/web.ts) from a stand-in build: cache headers (hashed assets
 * immutable, everything else revalidated), the app for every non-API path, 404 for unknown API
 * and asset paths, compression, and a server that still starts, with a hint, when the app was
 * never built.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers.js';

const dirs: string[] = [];
const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function fakeBuild(): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-webdir-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Switchboard</title><script type="module" src="/assets/app-1a2b3c.js"></script>');
  // Large enough to be compressed (the threshold is 1 KiB).
  writeFileSync(join(dir, 'assets', 'app-1a2b3c.js'), `console.log(${JSON.stringify('switchboard '.repeat(400))});`);
  writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(dir, '.env'), 'SECRET=1');
  return dir;
}

async function get(t: TestServer, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(t.url + path, { headers });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

describe('web app serving', () => {
  it('serves the build with the right caching, and the app for every page path', async () => {
    const t = await startServer({ WEB_DIR: fakeBuild() });
    servers.push(t);

    for (const path of ['/', '/rooms/01HXYZ', '/some/deep/link?x=1']) {
      const page = await get(t, path);
      expect(page.status, path).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.headers.get('cache-control')).toBe('no-cache');
      expect(page.body).toContain('/assets/app-1a2b3c.js');
    }

    const asset = await get(t, '/assets/app-1a2b3c.js', { 'accept-encoding': 'gzip' });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-encoding')).toBe('gzip');

    const icon = await get(t, '/favicon.svg');
    expect(icon.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    expect(icon.headers.get('cache-control')).toBe('no-cache');

    // Server paths never turn into the app; a missing bundle is a 404, not a page.
    for (const path of ['/api/nothing', '/api', '/assets/app-000000.js']) {
      const res = await get(t, path);
      expect(res.status, path).toBe(404);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'NOT_FOUND' } });
    }
    expect((await get(t, '/healthz')).status).toBe(200);
    expect((await get(t, '/socket.io/?EIO=4&transport=polling')).body).not.toContain('<title>');
    // Dotfiles in the build are not served (nor turned into the page).
    expect((await get(t, '/.env')).body).not.toContain('SECRET');
  });

  it('answers unknown API and metrics paths with the JSON 404, never the app', async () => {
    const t = await startServer({ WEB_DIR: fakeBuild() });
    servers.push(t);
    const paths = ['/api', '/api/', '/api/nope', '/api/nope/deeper?x=1', '/apix', '/metricsx', '/metrics/foo', '/metrics/', '/ws/x', '/collab'];
    for (const path of paths) {
      for (const method of ['GET', 'HEAD', 'POST']) {
        const res = await fetch(t.url + path, { method });
        const body = await res.text();
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(res.headers.get('content-type'), `${method} ${path}`).toMatch(/^application\/json/);
        if (method !== 'HEAD') expect(JSON.parse(body), `${method} ${path}`).toMatchObject({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
      }
    }
    // The real endpoints are still there, and page paths still get the app.
    expect((await get(t, '/metrics')).body).toContain('# HELP');
    expect((await get(t, '/rooms/api')).body).toContain('/assets/app-1a2b3c.js');
  });

  it('answers /metrics with the JSON 404 when monitoring is off', async () => {
    const t = await startServer({ WEB_DIR: fakeBuild(), MONITORING: 'off' });
    servers.push(t);
    const res = await get(t, '/metrics');
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('still starts without a build, and says how to make one', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'switchboard-webdir-'));
    dirs.push(empty);
    const t = await startServer({ WEB_DIR: empty });
    servers.push(t);
    const page = await get(t, '/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.body).toContain('npm run build');
    expect((await get(t, '/healthz')).status).toBe(200);
    expect((await get(t, '/api/nothing')).status).toBe(404);
  });
});
