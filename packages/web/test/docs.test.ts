/**
 * A room's documents end to end: the web app built with Vite, served by a real Switchboard server,
 * in Chromium. Alice creates a document beside the room's chat; Bob, in another browser, sees it
 * appear and opens it; both type at once and each sees the other's text and cursor, and "2 people
 * editing". Alice saves a version, they edit on, she restores it, and both see the restored text.
 * Screenshot: docs/screenshots/docs.png under `npm run screenshots`.
 */
import { rmSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createClient, type SwitchboardClient } from '@switchboard/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWebApp } from './build-app.js';
import { screenshot } from './screenshots.js';
import { eventually, register, startServer, type TestServer } from '../../server/test/helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const WAIT = 15_000;
const PASSWORD = 'correct horse battery';

let webDir: string;
let server: TestServer;
let browser: Browser;
const contexts: BrowserContext[] = [];
const clients: SwitchboardClient[] = [];

beforeAll(async () => {
  webDir = await buildWebApp();
  server = await startServer({ WEB_DIR: webDir });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await server?.close();
  rmSync(webDir, { recursive: true, force: true });
});

/** A signed-in page in the given room, with uncaught errors and Content-Security-Policy refusals collected. */
async function signIn(username: string, roomId: string): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (message) => {
    if (/content security policy|refused to/i.test(message.text())) errors.push(`console: ${message.text()}`);
  });
  await page.goto(`${server.url}/rooms/${roomId}`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('navigation').waitFor();
  return { page, errors };
}

/** The editor's text, without the others' cursors drawn in it. */
const editorText = (page: Page) =>
  page.locator('.doc-codemirror .cm-content').evaluate((content) => {
    const copy = content.cloneNode(true) as HTMLElement;
    copy.querySelectorAll('.cm-ySelectionCaret').forEach((caret) => caret.remove());
    return Array.from(copy.querySelectorAll('.cm-line'), (line) => line.textContent ?? '').join('\n');
  });

describe('documents', () => {
  it('two people edit one document at once, see each other, and both see a restore', async () => {
    const aliceSession = await register(server.url, 'alice', PASSWORD);
    const bobSession = await register(server.url, 'bob', PASSWORD);
    const aliceSdk = createClient({ url: server.url, session: aliceSession, transports: ['websocket'] });
    const bobSdk = createClient({ url: server.url, session: bobSession, transports: ['websocket'] });
    clients.push(aliceSdk, bobSdk);
    await Promise.all([aliceSdk.ready(), bobSdk.ready()]);
    const room = await aliceSdk.chat.createRoom({ name: 'plans', kind: 'public' });
    await bobSdk.chat.joinRoom(room.id);

    const alice = await signIn('alice', room.id);
    const bob = await signIn('bob', room.id);
    for (const { page } of [alice, bob]) await page.getByRole('button', { name: 'Documents' }).click();
    await bob.page.getByText('No documents in this room yet.').waitFor();

    // ---- Alice creates a document; Bob's list gets it from doc:changed, and he opens it
    await alice.page.getByLabel('New document title').fill('Roadmap');
    await alice.page.getByRole('button', { name: 'Create', exact: true }).click();
    await alice.page.locator('.doc-codemirror .cm-content').waitFor();
    await bob.page.getByRole('button', { name: /Roadmap/ }).click();
    await bob.page.locator('.doc-codemirror .cm-content').waitFor();
    for (const { page } of [alice, bob]) await page.getByTestId('doc-editing').filter({ hasText: '2 people editing' }).waitFor();

    // ---- both type at once; each sees the other's text and cursor
    await alice.page.locator('.doc-codemirror .cm-content').click();
    await bob.page.locator('.doc-codemirror .cm-content').click();
    await Promise.all([alice.page.keyboard.type('alice was here. ', { delay: 20 }), bob.page.keyboard.type('bob too. ', { delay: 20 })]);
    for (const { page } of [alice, bob]) {
      await eventually(
        async () => {
          const text = await editorText(page);
          return text.includes('alice was here. ') && text.includes('bob too. ');
        },
        WAIT,
        'both edits in both editors',
      );
    }
    expect(await editorText(alice.page)).toBe(await editorText(bob.page));
    await alice.page.locator('.cm-ySelectionInfo', { hasText: 'bob' }).waitFor({ state: 'attached' });
    await bob.page.locator('.cm-ySelectionInfo', { hasText: 'alice' }).waitFor({ state: 'attached' });
    const saved = await editorText(alice.page);

    // ---- a named version, more edits, then a restore both see
    await alice.page.getByText('Version history').click();
    await alice.page.getByLabel('Version name').fill('First draft');
    await alice.page.getByRole('button', { name: 'Save version' }).click();
    const version = alice.page.locator('.doc-version', { hasText: 'First draft' });
    await version.waitFor();
    await version.getByRole('button', { name: 'View' }).click();
    await expect.poll(() => alice.page.locator('.doc-version-text pre').innerText(), { timeout: WAIT }).toBe(saved);

    await bob.page.locator('.doc-codemirror .cm-content').click();
    await bob.page.keyboard.press('End');
    await bob.page.keyboard.type('an afterthought', { delay: 10 });
    await eventually(async () => (await editorText(alice.page)).includes('an afterthought'), WAIT, 'Bob’s later edit at Alice’s');
    await version.getByRole('button', { name: 'Restore' }).click();
    for (const { page } of [alice, bob]) await eventually(async () => (await editorText(page)) === saved, WAIT, 'the restored text');

    await screenshot(alice.page, 'docs');
    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
  }, 120_000);
});
