/**
 * In the browser: message text rendered as Markdown — code highlighted, a table, a disabled task
 * list, safe links, raw HTML shown as text and never run — and message search that opens an
 * older message in its room, in context. The server's Content-Security-Policy must block nothing.
 * Writes docs/screenshots/search.png under `npm run screenshots`.
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

beforeAll(async () => {
  webDir = await buildWebApp();
  server = await startServer({ WEB_DIR: webDir, RATE_LIMITS: 'off' });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await server?.close();
  rmSync(webDir, { recursive: true, force: true });
});

/** A signed-in page in the given room; uncaught errors, CSP refusals and opened dialogs are collected. */
async function signIn(username: string, roomId: string): Promise<{ page: Page; errors: string[]; dialogs: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (message) => {
    if (/content security policy|refused to/i.test(message.text())) errors.push(`console: ${message.text()}`);
  });
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(`${server.url}/rooms/${roomId}`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('navigation').waitFor();
  return { page, errors, dialogs };
}

const message = (page: Page, seq: number) => page.locator(`article[data-seq="${seq}"]`);

describe('Markdown and search in the web app', () => {
  it('renders Markdown safely, and a search result opens an older message in context', async () => {
    const session = await register(server.url, 'alice', PASSWORD);
    const sdk = createClient({ url: server.url, session, transports: ['websocket'] });
    clients.push(sdk);
    await sdk.ready();
    const room = await sdk.chat.createRoom({ name: 'releases', kind: 'public', topic: 'Shipping notes' });
    // An old message, hundreds above the latest page the room opens with.
    for (const text of ['Kickoff: the **zebra** migration starts today', 'Plan agreed', 'The zebra rollout plan is in the wiki']) {
      await sdk.chat.send(room.id, text);
    }
    const fillers = Array.from({ length: 240 }, (_, i) => `Status update ${i + 1}: all green`);
    // In batches, so the test does not wait for each one alone; their order does not matter.
    for (let i = 0; i < fillers.length; i += 20) await Promise.all(fillers.slice(i, i + 20).map((text) => sdk.chat.send(room.id, text)));
    const rich = [
      '```ts\nconst answer: number = 42;\nexport function twice(n: number) { return n * 2; }\n```',
      '<script>alert(1)</script> and <img src=x onerror=alert(2)>',
      '| service | status |\n|---|---|\n| api | ~~down~~ up |',
      '- [x] migrate the zebra tables\n- [ ] announce it :tada:',
      'Docs at https://example.com/docs, [bad](javascript:alert(3)) and @alice, see `inline code`',
    ];
    const richSeqs: number[] = [];
    for (const text of rich) richSeqs.push((await sdk.chat.send(room.id, text)).seq);
    const [codeSeq, htmlSeq, tableSeq, tasksSeq, linksSeq] = richSeqs as [number, number, number, number, number];

    const { page, errors, dialogs } = await signIn('alice', room.id);
    await message(page, linksSeq).waitFor();

    // ---- a fenced block with a language is highlighted by highlight.js
    const code = message(page, codeSeq).locator('pre code.hljs');
    await code.waitFor();
    expect(await code.locator('.hljs-keyword').first().textContent()).toBe('const');
    expect(await code.textContent()).toContain('return n * 2;');

    // ---- raw HTML is text: shown as typed, nothing created, nothing run
    expect(await message(page, htmlSeq).locator('.markdown').textContent()).toBe('<script>alert(1)</script> and <img src=x onerror=alert(2)>\n');
    expect(await page.locator('.message-list script, .message-list img[src="x"]').count()).toBe(0);

    // ---- a GFM table with strikethrough, and a task list whose boxes cannot be ticked
    const table = message(page, tableSeq).locator('table');
    expect(await table.locator('th').allTextContents()).toEqual(['service', 'status']);
    expect(await table.locator('td s').textContent()).toBe('down');
    const boxes = message(page, tasksSeq).locator('input[type="checkbox"]');
    expect(await boxes.count()).toBe(2);
    expect(await boxes.evaluateAll((inputs) => inputs.map((i) => [(i as HTMLInputElement).checked, (i as HTMLInputElement).disabled]))).toEqual([
      [true, true],
      [false, true],
    ]);
    expect(await message(page, tasksSeq).textContent()).toContain('🎉');

    // ---- links: bare URLs become links that open safely; javascript: stays text; mentions stand out
    const links = message(page, linksSeq).locator('.markdown a');
    expect(await links.count()).toBe(1);
    expect(await links.first().getAttribute('href')).toBe('https://example.com/docs');
    expect(await links.first().getAttribute('target')).toBe('_blank');
    expect(await links.first().getAttribute('rel')).toBe('noopener noreferrer nofollow');
    expect(await message(page, linksSeq).textContent()).toContain('[bad](javascript:alert(3))');
    expect(await message(page, linksSeq).locator('.mention.mention-me').textContent()).toBe('@alice');
    expect(await message(page, linksSeq).locator('code').textContent()).toBe('inline code');

    // ---- search: results with marked matches; the oldest one opens in its room, in context
    expect(await message(page, 1).count()).toBe(0);
    await page.getByRole('button', { name: 'Search messages' }).click();
    await page.getByRole('searchbox', { name: 'Search messages' }).fill('zebra');
    const results = page.getByRole('list', { name: 'Search results' }).getByRole('button');
    await results.nth(2).waitFor();
    expect(await results.count()).toBe(3);
    expect(await results.first().locator('mark').textContent()).toBe('zebra');
    // The excerpt is text: the Markdown of the oldest result is shown as typed, its match marked.
    expect(await results.nth(2).locator('.search-snippet').textContent()).toBe('Kickoff: the **zebra** migration starts today');
    await screenshot(page, 'search');

    await results.nth(2).click();
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    const oldest = message(page, 1);
    await page.locator('article.highlighted[data-seq="1"]').waitFor();
    expect(await oldest.locator('strong').textContent()).toBe('zebra');
    // In context: its neighbours are loaded around it, and it is scrolled into view.
    await message(page, 2).waitFor();
    const inView = await oldest.evaluate((el) => {
      const box = el.getBoundingClientRect();
      const list = el.closest('.message-list')?.getBoundingClientRect();
      return list !== undefined && box.top >= list.top - 1 && box.bottom <= list.bottom + 1;
    });
    expect(inView).toBe(true);

    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
  }, 180_000);
});
