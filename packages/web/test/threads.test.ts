/**
 * Threads and reactions end to end: the web app built with Vite, served by a real Switchboard
 * server, in Chromium, with two people in two browser contexts. Bob answers Alice's message in a
 * thread; Alice sees "1 reply" appear live, opens the thread and reads it. She reacts from the
 * picker; Bob sees the reaction live with who chose it and adds his own. Then Bob is cut off while
 * Alice replies and reacts again, and his screen catches up when he is back.
 * Screenshot: docs/screenshots/threads.png under `npm run screenshots`.
 */
import { rmSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createClient, type SwitchboardClient } from '@switchboard/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWebApp } from './build-app.js';
import { screenshot } from './screenshots.js';
import { register, startServer, type TestServer } from '../../server/test/helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const WAIT = 15_000;
const PASSWORD = 'correct horse battery';

let webDir: string;
let server: TestServer;
let browser: Browser;
const contexts: BrowserContext[] = [];
const clients: SwitchboardClient[] = [];
/** Users whose `/chat` handshakes the server refuses for now: a way to keep a browser away for a while. */
const blocked = new Set<string>();

beforeAll(async () => {
  webDir = await buildWebApp();
  server = await startServer({ WEB_DIR: webDir });
  server.server.realtime.io.of('/chat').use((socket, next) => {
    next(blocked.has(socket.data.userId) ? new Error('UNAVAILABLE') : undefined);
  });
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

/** The room's message (not a thread panel's copy) with this text. */
const inRoom = (page: Page, text: string) => page.getByRole('log', { name: /^Messages in / }).locator('article[data-seq]', { hasText: text });
const thread = (page: Page) => page.getByRole('complementary').filter({ has: page.getByRole('heading', { name: /^Thread/ }) });

describe('threads and reactions', () => {
  it('a thread reply and reactions reach the other browser live, and after a reconnect', async () => {
    const aliceSession = await register(server.url, 'alice', PASSWORD);
    const bobSession = await register(server.url, 'bob', PASSWORD);
    const aliceSdk = createClient({ url: server.url, session: aliceSession, transports: ['websocket'] });
    const bobSdk = createClient({ url: server.url, session: bobSession, transports: ['websocket'] });
    clients.push(aliceSdk, bobSdk);
    await Promise.all([aliceSdk.ready(), bobSdk.ready()]);
    const room = await aliceSdk.chat.createRoom({ name: 'launch', kind: 'public', topic: 'Shipping the new onboarding' });
    await bobSdk.chat.joinRoom(room.id);
    const question = 'Shall we ship the new onboarding on Friday?';
    await aliceSdk.chat.send(room.id, 'Morning! The release notes are drafted.');
    const asked = await aliceSdk.chat.send(room.id, question);
    const notes = await bobSdk.chat.send(room.id, 'I will post the screenshots after lunch.');

    const alice = await signIn('alice', room.id);
    const bob = await signIn('bob', room.id);

    // ---- Bob answers in a thread; Alice's copy of the question shows "1 reply" live
    const bobsQuestion = inRoom(bob.page, question);
    await bobsQuestion.hover();
    await bobsQuestion.getByRole('button', { name: 'Reply in thread' }).click();
    await thread(bob.page).getByText(question).waitFor();
    await bob.page.getByRole('textbox', { name: 'Reply in thread' }).fill('Friday works: QA signed off yesterday.');
    await bob.page.getByRole('textbox', { name: 'Reply in thread' }).press('Enter');
    await thread(bob.page).locator('article[data-seq]', { hasText: 'Friday works' }).waitFor();
    // A reply lives in its thread, not in the room's list.
    expect(await inRoom(bob.page, 'Friday works').count()).toBe(0);

    const summary = inRoom(alice.page, question).getByRole('button', { name: /^1 reply/ });
    await summary.waitFor();
    await summary.click();
    await thread(alice.page).locator('article[data-seq]', { hasText: 'Friday works: QA signed off yesterday.' }).waitFor();

    // ---- Alice reacts from the picker; Bob sees it live, with her name, and adds his
    const alicesQuestion = inRoom(alice.page, question);
    await alicesQuestion.hover();
    await alicesQuestion.getByRole('button', { name: 'Add reaction' }).click();
    await alice.page.getByRole('menuitem', { name: '🎉' }).click();
    const bobsTada = inRoom(bob.page, question).locator('.reaction[data-emoji="🎉"]');
    await bobsTada.waitFor();
    expect(await bobsTada.getAttribute('title')).toBe('alice reacted with :tada:');
    expect(await bobsTada.getAttribute('aria-pressed')).toBe('false');
    await bobsTada.click();
    const alicesTada = inRoom(alice.page, question).locator('.reaction[data-emoji="🎉"]');
    await expect.poll(() => alicesTada.getAttribute('title'), { timeout: WAIT }).toBe('You and bob reacted with :tada:');
    expect(await alicesTada.locator('.reaction-count').innerText()).toBe('2');
    expect(await alicesTada.getAttribute('aria-pressed')).toBe('true');
    // The root in Bob's open thread panel follows too.
    await thread(bob.page).locator('.reaction[data-emoji="🎉"] .reaction-count', { hasText: '2' }).waitFor();

    // ---- Bob is cut off; what happens meanwhile reaches his screen once he is back
    blocked.add(bobSession.user.id);
    for (const s of server.server.realtime.io.of('/chat').sockets.values()) if (s.data.userId === bobSession.user.id) s.disconnect(true);
    await bob.page.getByText(/Reconnecting…/).first().waitFor();
    await aliceSdk.chat.send(room.id, 'Great, I will tell support.', { threadId: asked.id });
    await aliceSdk.chat.react(notes.id, '👍');
    blocked.delete(bobSession.user.id);
    await inRoom(bob.page, question).getByRole('button', { name: /^2 replies/ }).waitFor();
    await thread(bob.page).locator('article[data-seq]', { hasText: 'Great, I will tell support.' }).waitFor();
    const thumbs = inRoom(bob.page, 'screenshots after lunch').locator('.reaction[data-emoji="👍"]');
    await thumbs.waitFor();
    expect(await thumbs.getAttribute('title')).toBe('alice reacted with :thumbsup:');

    await inRoom(alice.page, question).getByRole('button', { name: /^2 replies/ }).waitFor();
    await alice.page.mouse.move(0, 0);
    await screenshot(alice.page, 'threads');
    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
  }, 180_000);
});
