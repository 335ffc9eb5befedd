/**
 * End to end: the web app built with Vite, served by a real Switchboard server, driven in
 * Chromium by two people in two browser contexts. They sign up, create, join and invite, chat
 * both ways, see typing, read receipts, mentions in the bell, an image shared inline, hostile
 * text rendered as text, and a server restart mid-conversation that loses and doubles nothing.
 * Screenshots of the main screens go to docs/screenshots/ under `npm run screenshots`. Throughout, and on the API's Swagger
 * UI, the server's Content-Security-Policy must never have to block anything.
 */
import { rmSync } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { Session } from '@switchboard/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWebApp } from './build-app.js';
import { screenshot } from './screenshots.js';
import { eventually, startServer, type TestServer } from '../../server/test/helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** A PNG of `width`×`height` with a colour gradient, made here so the test needs no fixture file. */
function gradientPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bits per channel
  header[9] = 2; // RGB
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = y * (width * 3 + 1) + 1 + x * 3;
      rows[at] = 80 + Math.round((x / width) * 140);
      rows[at + 1] = 70 + Math.round((y / height) * 120);
      rows[at + 2] = 229 - Math.round((x / width) * 90);
    }
  }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

const WAIT = 15_000;

let webDir: string;
let server: TestServer;
let browser: Browser;
const contexts: BrowserContext[] = [];
/** Everything the Content-Security-Policy blocked, in any page of any context: violation events and console reports. */
const policyViolations: string[] = [];

beforeAll(async () => {
  webDir = await buildWebApp();
  // Short-lived access tokens: renewals (and their coordination between tabs) happen during the run.
  server = await startServer({ WEB_DIR: webDir, ACCESS_TOKEN_TTL: 20 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 120_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await server?.close();
  rmSync(webDir, { recursive: true, force: true });
});

interface Person {
  page: Page;
  username: string;
  displayName: string;
  /** Dialogs (alert, confirm, …) the page opened. */
  dialogs: string[];
  /** Uncaught errors in the page. */
  errors: string[];
}

/** A browser context whose pages report every Content-Security-Policy violation into `policyViolations`. */
async function watchedContext(): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  await context.exposeBinding('reportPolicyViolation', (_source, violation: string) => {
    policyViolations.push(violation);
  });
  await context.addInitScript(() => {
    const report = (window as unknown as { reportPolicyViolation: (v: string) => void }).reportPolicyViolation;
    document.addEventListener('securitypolicyviolation', (e) => report(`${e.effectiveDirective} blocked ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`));
  });
  context.on('console', (message) => {
    if (/content security policy|refused to/i.test(message.text())) policyViolations.push(`console: ${message.text()}`);
  });
  return context;
}

async function openApp(): Promise<Omit<Person, 'username' | 'displayName'>> {
  const context = await watchedContext();
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.url);
  return { page, dialogs, errors };
}

async function signUp(displayName: string): Promise<Person> {
  const opened = await openApp();
  const { page } = opened;
  // Every run has a server of its own: plain names keep the screenshots readable.
  const username = displayName.toLowerCase();
  await page.getByRole('button', { name: 'Create an account' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Display name').fill(displayName);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  // Every new account is in #general, which opens first.
  await page.getByRole('combobox', { name: 'Message #general' }).waitFor();
  return { ...opened, username, displayName };
}

const composer = (p: Person) => p.page.getByRole('combobox', { name: /^Message / });

async function send(p: Person, text: string): Promise<void> {
  await composer(p).fill(text);
  await composer(p).press('Enter');
}

/** A stored message with exactly this text (pending ones have no data-seq). */
const stored = (page: Page, text: string) => page.locator('article[data-seq]').filter({ has: page.getByText(text, { exact: true }) });

async function openRoom(page: Page, name: string): Promise<void> {
  await page.getByRole('navigation').locator(`a[data-room-name="${name}"]`).click();
  await page.getByRole('combobox', { name: `Message #${name}` }).waitFor();
}

/** The seqs of the messages on screen, in DOM order. */
const seqsOnScreen = (p: Person) =>
  p.page.locator('article[data-seq]').evaluateAll((nodes) => nodes.map((n) => Number(n.getAttribute('data-seq'))));

const shot = (p: Person, name: string) => screenshot(p.page, name);

describe('Switchboard web app', () => {
  it('two people chat through sign-up, rooms, typing, receipts, mentions, files and a server restart', async () => {
    // ---- serving: hashed assets cached forever, the page revalidated, app routes answered with the app
    const served = await fetch(`${server.url}/rooms/anything`);
    expect(served.status).toBe(200);
    expect(served.headers.get('cache-control')).toBe('no-cache');
    const html = await served.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const script = await fetch(`${server.url}${asset}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(script.headers.get('content-encoding')).toBe('gzip');
    expect((await fetch(`${server.url}/api/nothing-here`)).status).toBe(404);
    expect(served.headers.get('content-security-policy')).toMatch(/script-src 'self';/);

    // ---- the API's Swagger UI renders under the same policy
    const docsPage = await (await watchedContext()).newPage();
    docsPage.setDefaultTimeout(WAIT);
    await docsPage.goto(`${server.url}/api/docs`);
    await docsPage.getByRole('heading', { name: /Switchboard HTTP API/ }).waitFor();
    await docsPage.getByText('/api/auth/login', { exact: true }).first().waitFor();

    // ---- sign up, create a public room, join it from the other window
    const signedOut = (await openApp()).page;
    await signedOut.getByRole('heading', { name: 'Sign in to your team' }).waitFor();
    await screenshot(signedOut, 'sign-in');
    const alice = await signUp('Alice');
    // A second tab of Alice's, open all along: both renew tokens from one stored login.
    const aliceTab = await alice.page.context().newPage();
    aliceTab.setDefaultTimeout(WAIT);
    await aliceTab.goto(server.url);
    await aliceTab.getByRole('combobox', { name: 'Message #general' }).waitFor();
    const storedToken = () => aliceTab.evaluate(() => (JSON.parse(localStorage.getItem('switchboard.session') ?? '{}') as { accessToken?: string }).accessToken);
    const firstToken = await storedToken();
    const bob = await signUp('Bob');
    // #general exists already (every account is in it): the two meet in a room of their own.
    const general = 'lobby';
    await alice.page.getByRole('navigation').getByRole('button', { name: 'Create a room' }).click();
    await alice.page.getByLabel('Name').fill(general);
    await alice.page.getByLabel('Topic').fill('Everything, every day');
    await alice.page.getByRole('button', { name: 'Create room' }).click();
    await alice.page.getByRole('combobox', { name: `Message #${general}` }).waitFor();

    await bob.page.getByRole('button', { name: 'Browse rooms' }).first().click();
    await bob.page.getByRole('searchbox', { name: 'Search rooms' }).fill(general);
    await bob.page.getByRole('button', { name: `Join ${general}` }).click();
    await bob.page.getByRole('combobox', { name: `Message #${general}` }).waitFor();

    // ---- chat both ways, with the typing indicator on the way
    await send(alice, 'Hello Bob, welcome aboard!');
    await stored(bob.page, 'Hello Bob, welcome aboard!').waitFor();
    await composer(bob).fill('Thanks');
    await alice.page.getByText('Bob is typing…').waitFor();
    await composer(bob).press('Enter');
    await stored(alice.page, 'Thanks').waitFor();
    await alice.page.getByText('Bob is typing…').waitFor({ state: 'hidden' });

    // ---- read receipt: Bob has read Alice's message
    await alice.page.getByText('Seen by Bob', { exact: true }).waitFor();

    // ---- hostile text is shown as text, never run
    const script1 = '<script>alert(1)</script>';
    const script2 = '<img src=x onerror=alert(2)>';
    await send(bob, script1);
    await send(bob, script2);
    await stored(alice.page, script1).waitFor();
    await stored(alice.page, script2).waitFor();
    expect(await alice.page.locator('img[src="x"]').count()).toBe(0);
    expect(await alice.page.locator('.message-list script').count()).toBe(0);

    // ---- a private room with Bob invited (he is offered because they share a room)
    const secret = 'design-team';
    await alice.page.getByRole('navigation').getByRole('button', { name: 'Create a room' }).click();
    await alice.page.getByText('Private', { exact: true }).click();
    await alice.page.getByLabel('Name').fill(secret);
    await alice.page.getByRole('checkbox', { name: /Bob/ }).check();
    await alice.page.getByRole('button', { name: 'Create room' }).click();
    await alice.page.getByRole('combobox', { name: `Message #${secret}` }).waitFor();
    await bob.page.getByRole('navigation').locator(`a[data-room-name="${secret}"]`).waitFor();
    await send(alice, 'Just the two of us');
    // Alice's other tab learns of the room from its first message; it stays there, so what it
    // reads does not clear the unread counts checked below.
    await openRoom(aliceTab, secret);
    await openRoom(bob.page, secret);
    await stored(bob.page, 'Just the two of us').waitFor();

    // ---- a mention: the bell counts it, the panel lists it, a click opens the message's room
    await openRoom(bob.page, general);
    await send(bob, `@${alice.username} can you review the draft?`);
    await alice.page.getByTestId('notification-count').filter({ hasText: '1' }).waitFor();
    await alice.page.getByRole('navigation').getByText('1 unread').waitFor();
    await alice.page.getByTestId('notification-bell').click();
    const panel = alice.page.getByRole('dialog', { name: 'Notifications' });
    const mention = panel.getByRole('button', { name: /^Bob mentioned you/ });
    await mention.waitFor();
    await shot(alice, 'notifications');
    await mention.click();
    await alice.page.getByRole('combobox', { name: `Message #${general}` }).waitFor();
    await stored(alice.page, `@${alice.username} can you review the draft?`).waitFor();
    await alice.page.getByTestId('notification-count').waitFor({ state: 'hidden' });

    // ---- an image, uploaded by Alice, shown inline to Bob
    await alice.page.locator('input[type="file"]').setInputFiles({ name: 'palette.png', mimeType: 'image/png', buffer: gradientPng(320, 180) });
    await alice.page.getByText('Ready', { exact: true }).waitFor();
    await send(alice, 'The new palette');
    const image = bob.page.locator('article[data-seq] img[alt="palette.png"]');
    await image.waitFor();
    await eventually(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth === 320), WAIT, 'the image to load');
    await shot(bob, 'chat');

    // ---- the server restarts mid-conversation: nothing lost, nothing doubled
    const port = Number(new URL(server.url).port);
    await server.stop();
    await alice.page.getByTestId('connection-banner').filter({ hasText: 'Reconnecting' }).waitFor();
    await bob.page.getByTestId('connection-banner').filter({ hasText: 'Reconnecting' }).waitFor();
    await send(alice, 'Sent while the server was away');
    await alice.page.locator('article[data-state="pending"]').filter({ hasText: 'Sent while the server was away' }).waitFor();
    server = await server.restart({ PORT: port });
    await alice.page.getByTestId('connection-banner').filter({ hasText: 'Back online' }).waitFor();
    await stored(alice.page, 'Sent while the server was away').waitFor();
    await stored(bob.page, 'Sent while the server was away').waitFor();
    await send(bob, 'Back after the restart');
    await stored(alice.page, 'Back after the restart').waitFor();

    const aliceSeqs = await seqsOnScreen(alice);
    const bobSeqs = await seqsOnScreen(bob);
    const expected = Array.from({ length: aliceSeqs.length }, (_, i) => i + 1);
    expect(aliceSeqs).toEqual(expected); // 1..n, in order, none missing, none twice
    expect(bobSeqs).toEqual(expected);
    // Hello, Thanks, two hostile texts, the mention, the image, the offline one, the last one.
    expect(aliceSeqs.length).toBe(8);
    expect(await stored(alice.page, 'Back after the restart').getAttribute('data-seq')).toBe('8');
    expect(await alice.page.locator('article[data-state="pending"], article[data-state="failed"]').count()).toBe(0);

    // ---- a reload stays signed in, on the same room
    await alice.page.reload();
    await alice.page.getByRole('combobox', { name: `Message #${general}` }).waitFor();
    await stored(alice.page, 'Back after the restart').waitFor();

    // ---- a room with a long past: the latest page first, older pages while scrolling up
    const login = await fetch(`${server.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: alice.username, password: 'correct horse battery' }),
    });
    const aliceId = ((await login.json()) as Session).user.id;
    const { rooms, messages } = server.server.services;
    const archive = await rooms.create(aliceId, { name: 'archive', kind: 'public', topic: 'Old news' });
    for (let i = 1; i <= 120; i++) await messages.send(aliceId, { roomId: archive.id, clientMsgId: `seed-${i}`, text: `Archived note ${i}` });
    await bob.page.getByRole('button', { name: 'Browse rooms' }).first().click();
    await bob.page.getByRole('button', { name: 'Join archive' }).click();
    await stored(bob.page, 'Archived note 120').waitFor();
    expect((await seqsOnScreen(bob)).length).toBeLessThan(120);
    const list = bob.page.getByRole('log', { name: 'Messages in #archive' });
    await eventually(
      async () => {
        await list.evaluate((el) => el.scrollTo({ top: 0 }));
        return (await stored(bob.page, 'Archived note 1').count()) === 1;
      },
      WAIT,
      'scrolling back to the first message',
    );
    expect(await seqsOnScreen(bob)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    await bob.page.getByText('This is the very beginning of #archive.', { exact: false }).waitFor();
    await openRoom(bob.page, general);

    // ---- phone width: the sidebar folds away behind a button
    await bob.page.setViewportSize({ width: 360, height: 740 });
    await bob.page.getByRole('navigation').waitFor({ state: 'hidden' });
    await bob.page.getByTestId('connection-banner').waitFor({ state: 'hidden' });
    await shot(bob, 'phone');
    await bob.page.getByRole('button', { name: 'Open the room list' }).click();
    const nav = bob.page.getByRole('navigation');
    await eventually(async () => (await nav.boundingBox())?.x === 0, WAIT, 'the room list to slide in');
    await shot(bob, 'phone-menu');
    await bob.page.getByRole('navigation').locator(`a[data-room-name="${secret}"]`).click();
    await bob.page.getByRole('combobox', { name: `Message #${secret}` }).waitFor();
    await bob.page.getByRole('navigation').waitFor({ state: 'hidden' });

    // ---- sign out: the other tab, still signed in after all the renewals, follows
    expect(await storedToken()).not.toBe(firstToken);
    await send(bob, 'Still there?'); // Bob is in the private room, where Alice's other tab is
    await stored(aliceTab, 'Still there?').waitFor();
    await alice.page.getByRole('button', { name: 'Sign out' }).click();
    await alice.page.getByRole('heading', { name: 'Sign in to your team' }).waitFor();
    await aliceTab.getByText('You signed out in another tab.').waitFor();

    expect(alice.dialogs).toEqual([]);
    expect(bob.dialogs).toEqual([]);
    expect([...alice.errors, ...bob.errors]).toEqual([]);
    expect(policyViolations).toEqual([]);
  }, 120_000);
});

