/**
 * The composer and the message list in Chromium, against a real server serving the built app:
 * choosing an @-mention and typing on at once keeps every character where it was typed (the caret
 * is placed before the next key is handled), and an image whose size the server recorded takes its
 * box before it loads, so the room does not move when it arrives.
 */
import { rmSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page, type Route } from 'playwright-core';
import { createClient, type SwitchboardClient } from '@switchboard/client';
import type { Room } from '@switchboard/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWebApp } from './build-app.js';
import { register, startServer, type TestServer } from '../../server/test/helpers.js';
import { png } from '../../server/test/images.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const WAIT = 15_000;
const PASSWORD = 'correct horse battery';

let webDir: string;
let server: TestServer;
let browser: Browser;
let alice: SwitchboardClient;
let room: Room;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  webDir = await buildWebApp();
  server = await startServer({ WEB_DIR: webDir });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  alice = createClient({ url: server.url, session: await register(server.url, 'alice', PASSWORD), transports: ['websocket'] });
  const bob = createClient({ url: server.url, session: await register(server.url, 'bob', PASSWORD), transports: ['websocket'] });
  await Promise.all([alice.ready(), bob.ready()]);
  room = await alice.chat.createRoom({ name: 'lobby', kind: 'public' });
  await bob.chat.joinRoom(room.id);
  bob.close();
}, 180_000);

afterAll(async () => {
  alice?.close();
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await server?.close();
  if (webDir) rmSync(webDir, { recursive: true, force: true });
});

async function signIn(username: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  await page.goto(`${server.url}/rooms/${room.id}`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('navigation').waitFor();
  return page;
}

const caretOf = (page: Page) => page.getByRole('combobox').evaluate((el) => (el as HTMLTextAreaElement).selectionStart);

describe('composer', () => {
  it('keeps what is typed right after choosing a mention where it was typed, by key and by click', async () => {
    const page = await signIn('bob');
    // Frames come late, as on a busy phone: nothing the composer does between keys may wait for one.
    await page.evaluate(() => {
      window.requestAnimationFrame = (callback) => window.setTimeout(() => callback(performance.now()), 1000);
    });
    const box = page.getByRole('combobox');
    await box.fill('hi  there');
    // The caret in the middle: "hi |  there" → a mention goes between the two spaces' first and second.
    await box.evaluate((el) => (el as HTMLTextAreaElement).setSelectionRange(3, 3));
    await page.keyboard.type('@al');
    await page.getByRole('option', { name: /@alice/ }).waitFor();
    // Tab and the next keys without pause: no key may land before the caret is in place.
    await page.keyboard.press('Tab');
    await page.keyboard.type('xyz');
    expect(await box.inputValue()).toBe('hi @alice xyz there');
    expect(await caretOf(page)).toBe('hi @alice xyz'.length);

    await box.fill('');
    await page.keyboard.type('ask @a');
    await page.getByRole('option', { name: /@alice/ }).click();
    await page.keyboard.type('now');
    expect(await box.inputValue()).toBe('ask @alice now');
    expect(await caretOf(page)).toBe('ask @alice now'.length);
  }, 60_000);
});

describe('images', () => {
  it('reserve their box before they load, so the list does not grow when they arrive', async () => {
    const file = await alice.files.upload(room.id, new Blob([new Uint8Array(png(640, 360))], { type: 'image/png' }));
    expect(file).toMatchObject({ width: 640, height: 360 });
    await alice.chat.send(room.id, 'a wide one', { attachmentIds: [file.id] });

    const page = await signIn('bob');
    // Hold the image's bytes back until its box has been measured.
    const held: Route[] = [];
    let released = false;
    await page.route(/\/api\/files\/[^/?]+\?token=/, (route) => (released ? void route.continue() : void held.push(route)));
    const link = page.locator('.image-attachment');
    await link.waitFor();
    const placeholder = await link.boundingBox();
    // 640×360 in a box of at most 360×300: 360 wide, 202.5 high.
    expect(placeholder?.width).toBeCloseTo(360, 0);
    expect(placeholder?.height).toBeCloseTo(202.5, 0);
    const listHeight = () => page.locator('.message-list-content').evaluate((el) => el.scrollHeight);
    const before = await listHeight();

    await expect.poll(() => held.length, { timeout: WAIT }).toBeGreaterThan(0);
    released = true;
    for (const route of held) await route.continue();
    await expect.poll(() => link.locator('img').evaluate((img) => (img as HTMLImageElement).naturalWidth), { timeout: WAIT }).toBe(640);
    const loaded = await link.boundingBox();
    expect(loaded?.width).toBeCloseTo(360, 0);
    expect(loaded?.height).toBeCloseTo(202.5, 0);
    expect(await listHeight()).toBe(before);
  }, 60_000);
});
