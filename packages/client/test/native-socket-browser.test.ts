/**
 * `NativeSocket` in a real browser (Chromium, driven by playwright-core), on the browser's own
 * global `WebSocket`: no WebSocket option given. The SDK is bundled from its sources for a page of
 * the server's origin (as `/ws` holds browsers to the Origin rule).
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as SwitchboardSdk from '@switchboard/client';
import { register, startServer, uniqueName, type TestServer } from '../../server/test/helpers.js';
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

describe('NativeSocket in a browser', () => {
  it('connects with the global WebSocket, receives a room exactly once and publishes', async () => {
    const owner = await signedIn(t);
    const session = await register(t.url);
    const room = await owner.chat.createRoom({ name: uniqueName('native-browser'), kind: 'private', memberIds: [session.user.id] });
    await owner.chat.send(room.id, 'before');
    // The bundle goes in as an inline script, which the server's Content-Security-Policy forbids.
    const page = await browser.newPage({ bypassCSP: true });
    await page.goto(`${t.url}/healthz`);
    await page.addScriptTag({ content: bundle });

    const result = await page.evaluate(
      async ({ session, roomId }) => {
        const { NativeSocket } = (window as unknown as { Switchboard: typeof SwitchboardSdk }).Switchboard;
        const socket = new NativeSocket({ url: location.origin, session });
        const states: string[] = [];
        socket.on('state', (s) => states.push(s));
        const texts: string[] = [];
        const heard = new Promise<void>((resolve) =>
          socket.on('message', (m) => {
            texts.push(`${m.seq} ${m.text}`);
            if (m.text === 'from the browser') resolve();
          }),
        );
        await socket.subscribe(roomId, { afterSeq: 0 });
        const sent = await socket.send(roomId, 'from the browser');
        await heard;
        socket.close();
        return { states, texts, seq: sent.seq, user: socket.user?.id };
      },
      { session, roomId: room.id },
    );
    expect(result.user).toBe(session.user.id);
    expect(result.seq).toBe(2);
    expect(result.texts).toEqual(['1 before', '2 from the browser']);
    expect(result.states).toEqual(['open', 'closing']);
    await page.close();
  });
});
