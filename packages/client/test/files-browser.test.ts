/**
 * `client.files` in a real browser (Chromium, driven by playwright-core): there the SDK uploads
 * with XMLHttpRequest, for upload progress. The SDK is bundled from its sources for the page,
 * which is served by a real server so that the upload is same-origin.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as SwitchboardSdk from '@switchboard/client';
import { eventually, register, startServer, uniqueName, type TestServer } from '../../server/test/helpers.js';
import { closeClients, signedIn } from './support.js';

let t: TestServer;
let browser: Browser;
let bundle: string;
beforeAll(async () => {
  t = await startServer();
  const built = await build({
    entryPoints: [fileURLToPath(new URL('../src/index.ts', import.meta.url))],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: 'Switchboard',
    platform: 'browser',
    target: 'es2022',
    conditions: ['source'],
    logLevel: 'silent',
  });
  bundle = built.outputFiles[0]?.text ?? '';
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
});
afterAll(async () => {
  closeClients();
  await browser?.close();
  await t.close();
});

describe('SDK files in a browser', () => {
  it('uploads with XMLHttpRequest, reporting progress in bytes of the file; maps errors; aborts', async () => {
    const owner = await signedIn(t);
    const session = await register(t.url);
    const room = await owner.chat.createRoom({ name: uniqueName('browser'), kind: 'private', memberIds: [session.user.id] });
    // The SDK bundle is injected as an inline script into a page of the server's origin, which the
    // server's Content-Security-Policy forbids (as it should: e2e.test.ts checks the policy).
    const page = await browser.newPage({ bypassCSP: true });
    await page.goto(`${t.url}/healthz`);
    await page.addScriptTag({ content: bundle });

    const size = 4 * 1024 * 1024;
    const result = await page.evaluate(
      async ({ session, roomId, size }) => {
        const { createClient } = (window as unknown as { Switchboard: typeof SwitchboardSdk }).Switchboard;
        const client = createClient({ url: location.origin, session, transports: ['websocket'] });
        const progress: [number, number][] = [];
        const file = await client.files.upload(roomId, new File([new Uint8Array(size)], 'zeros.bin'), {
          onProgress: (loaded, total) => progress.push([loaded, total]),
        });
        const initiator = performance
          .getEntriesByType('resource')
          .filter((e) => e.name.endsWith('/api/files'))
          .map((e) => (e as PerformanceResourceTiming).initiatorType);
        const codeOf = (promise: Promise<unknown>) =>
          promise.then(
            () => 'ok',
            (err: unknown) => (err as { code?: string }).code ?? String(err),
          );
        const unknownRoom = await codeOf(client.files.upload('no-such-room', new Blob(['x'])));
        // Aborted before it starts, and while it is under way (at its first progress event).
        const abortedWith = async (when: 'before' | 'during') => {
          const abort = new AbortController();
          const stop = () => abort.abort(new Error(`stopped ${when}`));
          const upload = client.files.upload(roomId, new Blob([new Uint8Array(size)]), {
            signal: abort.signal,
            onProgress: when === 'during' ? stop : undefined,
          });
          if (when === 'before') stop();
          return upload.then(
            () => 'finished',
            (err: unknown) => (err as Error).message,
          );
        };
        const aborts = [await abortedWith('before'), await abortedWith('during')];
        client.close();
        return { file, progress, initiator, unknownRoom, aborts };
      },
      { session, roomId: room.id, size },
    );
    await page.close();

    expect(result.file).toMatchObject({ roomId: room.id, name: 'zeros.bin', size, mime: 'application/octet-stream' });
    expect(result.initiator).toContain('xmlhttprequest');
    expect(result.progress.at(-1)).toEqual([size, size]);
    for (const [i, [loaded, total]] of result.progress.entries()) {
      expect(total).toBe(size);
      expect(loaded).toBeGreaterThanOrEqual(result.progress[i - 1]?.[0] ?? 0);
    }
    expect(result.unknownRoom).toBe('NOT_FOUND');
    expect(result.aborts).toEqual(['stopped before', 'stopped during']);
    // The server cleaned up after the upload that was cut off.
    await eventually(() => readdirSync(join(t.dataDir, 'files', 'tmp')).length === 0, 5000, 'temporary files to go');
  });
});
