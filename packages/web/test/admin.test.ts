/**
 * The admin view end to end: the web app built with Vite, served by a real Switchboard server, in
 * Chromium. The admin (the first account) opens Monitoring and watches the figures move while a
 * bot — an SDK client of a second user — connects, chats and makes a bad request; picks a history
 * range; creates, switches off and deletes an alert rule (a bad one first, refused with the server's
 * words); and sees the view in dark mode and at phone width. The bot, signed in to the browser,
 * finds no way in. `/monitor` is open only while the view is shown, and the charts need nothing the
 * Content-Security-Policy blocks. Screenshot: docs/screenshots/admin.png
 * under `npm run screenshots`.
 */
import type { Page } from 'playwright-core';
import { createClient, type SwitchboardClient } from '@switchboard/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot } from './screenshots.js';
import { eventually, register, type TestServer } from '../../server/test/helpers.js';
import { PASSWORD, START_TIMEOUT_MS, startWebApp, type SignedIn, type WebApp } from './web-app.js';

const WAIT = 15_000;

let app: WebApp;
let server: TestServer;
let bot: SwitchboardClient | undefined;

beforeAll(async () => {
  app = await startWebApp({ waitMs: WAIT });
  server = app.server;
}, START_TIMEOUT_MS);

afterAll(async () => {
  bot?.close();
  await app?.close();
});

/** A signed-in page, with its uncaught errors and anything the Content-Security-Policy blocked collected. */
const signIn = (username: string): Promise<SignedIn> => app.signIn(username);

/** The number a figure's tile shows ("1,204", "3.5/s" → 1204, 3.5). */
async function figure(page: Page, metric: string): Promise<number> {
  const text = (await page.getByTestId(`stat-${metric}`).locator('dd').textContent()) ?? '';
  return Number.parseFloat(text.replace(/,/g, ''));
}

const monitorSockets = () => server.server.realtime.io.of('/monitor').sockets.size;

describe('admin view', () => {
  it('shows the admin the cluster moving, history, rules and errors; others see no way in', async () => {
    const adminSession = await register(server.url, 'admin', PASSWORD);
    expect(adminSession.user.role).toBe('admin');
    const admin = await signIn('admin');
    const { page } = admin;
    // Signed in and chatting: nothing asks for /monitor yet.
    expect(monitorSockets()).toBe(0);

    // ---- the admin view, live
    await page.getByRole('navigation').getByRole('link', { name: 'Monitoring' }).click();
    await page.getByRole('heading', { name: 'Monitoring', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/admin');
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    expect(monitorSockets()).toBe(1);
    await eventually(async () => (await page.locator('.chart canvas').count()) >= 8, WAIT, 'the charts');
    await page.getByRole('table').first().getByText('up', { exact: true }).waitFor();

    // ---- a bot connects: the connection count follows
    const before = await figure(page, 'connections');
    const botSession = await register(server.url, 'bot', PASSWORD);
    bot = createClient({ url: server.url, session: botSession, transports: ['websocket'] });
    await bot.ready();
    await eventually(async () => (await figure(page, 'connections')) > before, WAIT, 'the connections figure to rise');

    // ---- the bot chats: messages and deliveries per second rise above zero; it keeps chatting
    // (a busier screenshot) while a bad request of its shows up among the errors, which the view
    // fetches again every few seconds
    const room = await bot.chat.createRoom({ name: 'ops', kind: 'public' });
    const chatter = bot;
    const chatting = setInterval(() => void chatter.chat.send(room.id, 'tick').catch(() => undefined), 150);
    try {
      await eventually(async () => (await figure(page, 'messagesInPerSec')) > 0, WAIT, 'the messages/s figure to move');
      await eventually(async () => (await figure(page, 'deliveriesPerSec')) > 0, WAIT, 'the deliveries/s figure to move');
      await expect(bot.chat.joinRoom('no-such-room')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      const errors = page.getByRole('region', { name: 'Errors', exact: true });
      await errors.getByRole('cell', { name: 'room:join' }).waitFor();
      await errors.getByRole('cell', { name: 'NOT_FOUND' }).first().waitFor();
      await screenshot(page, 'admin');
    } finally {
      clearInterval(chatting);
    }

    // ---- a longer range comes from history, then back to live
    await page.getByRole('button', { name: '1 h' }).click();
    await page.locator('.charts[aria-busy="false"]').waitFor();
    expect(await page.getByRole('button', { name: '1 h' }).getAttribute('aria-pressed')).toBe('true');
    expect(await page.getByText('The history could not be loaded').count()).toBe(0);
    await page.getByRole('button', { name: 'Live 5 min' }).click();
    await page.locator('.charts[aria-busy="false"]').waitFor();

    // ---- alert rules: a bad rule is refused with the server's words; a good one is created, switched off, deleted
    const rules = page.getByRole('region', { name: 'Alert rules', exact: true });
    await rules.getByRole('list').waitFor();
    const ruleCount = await rules.getByRole('listitem').count();
    await rules.getByRole('button', { name: 'New rule' }).click();
    const form = rules.getByRole('form', { name: 'New alert rule' });
    await form.getByLabel('Metric').selectOption('deliveriesPerSec');
    await form.getByLabel('For').fill('0');
    await form.getByRole('button', { name: 'Create rule' }).click();
    const refusal = form.getByRole('alert');
    await refusal.waitFor();
    expect((await refusal.textContent())?.length).toBeGreaterThan(0);
    await form.getByLabel('Threshold').fill('1000000');
    await form.getByRole('button', { name: 'Create rule' }).click();
    await form.waitFor({ state: 'detached' });
    const enabled = rules.getByRole('checkbox', { name: /^Enabled: Deliveries\/s > / });
    await enabled.waitFor();
    expect(await rules.getByRole('listitem').count()).toBe(ruleCount + 1);
    expect(await enabled.isChecked()).toBe(true);
    await enabled.click();
    await eventually(async () => !(await enabled.isChecked()) && (await enabled.isEnabled()), WAIT, 'the rule to be switched off');
    await rules.getByRole('button', { name: /^Delete rule: Deliveries\/s > / }).click();
    await enabled.waitFor({ state: 'detached' });
    expect(await rules.getByRole('listitem').count()).toBe(ruleCount);

    // ---- dark, and phone width: nothing spills sideways
    await page.emulateMedia({ colorScheme: 'dark' });
    await eventually(async () => (await page.locator('.chart canvas').count()) >= 8, WAIT, 'the charts in dark mode');
    await page.setViewportSize({ width: 375, height: 740 });
    await page.getByTestId('stat-connections').waitFor();
    const overflow = await page.evaluate(() => {
      const view = document.querySelector('.admin')!;
      return { page: document.documentElement.scrollWidth, view: view.scrollWidth - view.clientWidth };
    });
    expect(overflow).toEqual({ page: 375, view: 0 });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1280, height: 800 });

    // ---- leaving the view closes /monitor
    await page.goBack();
    await page.getByRole('heading', { name: 'Monitoring', level: 1 }).waitFor({ state: 'detached' });
    await eventually(() => monitorSockets() === 0, WAIT, '/monitor to close');

    // ---- the bot, in a browser: no Monitoring link, and /admin is just the chat (general opens first)
    const other = await signIn('bot');
    await other.page.getByRole('combobox', { name: 'Message #general' }).waitFor();
    expect(await other.page.getByRole('link', { name: 'Monitoring' }).count()).toBe(0);
    await other.page.goto(`${server.url}/admin`);
    await other.page.getByRole('combobox', { name: 'Message #general' }).waitFor();
    expect(new URL(other.page.url()).pathname).not.toBe('/admin');
    expect(await other.page.getByRole('heading', { name: 'Monitoring' }).count()).toBe(0);
    expect(monitorSockets()).toBe(0);

    expect([...admin.errors, ...other.errors]).toEqual([]);
  }, 120_000);
});
