/**
 * Room management in the browser: the web app built with Vite, served by a real Switchboard
 * server, in Chromium. A new account lands in #general; the unread count of the rooms not on
 * screen shows in the tab title ("(3) #general · Switchboard") and leaves it when that room is
 * muted; the room's creator renames it and archives it from its settings, and the other member,
 * who has it open, sees it turn read-only at once: the composer gives way to a note, and sending
 * is refused by the server too.
 */
import { rmSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createClient, SwitchboardError, type SwitchboardClient } from '@switchboard/client';
import type { Session } from '@switchboard/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWebApp } from './build-app.js';
import { eventually, http, startServer, type TestServer } from '../../server/test/helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const WAIT = 15_000;
const PASSWORD = 'correct horse battery';

let webDir: string;
let server: TestServer;
let browser: Browser;
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
  await browser?.close();
  await server?.close();
  rmSync(webDir, { recursive: true, force: true });
});

/** Signs up in a fresh browser context; resolves once #general (where every account starts) is open. */
async function signUp(username: string): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.url);
  await page.getByRole('button', { name: 'Create an account' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Display name').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('combobox', { name: 'Message #general' }).waitFor();
  return { page, errors };
}

/** The same account driven by the SDK, as a second device. */
async function sdkOf(username: string): Promise<SwitchboardClient> {
  const login = await http<Session>(server.url, 'POST', '/api/auth/login', { username, password: PASSWORD });
  const client = createClient({ url: server.url, session: login.body, transports: ['websocket'] });
  clients.push(client);
  await client.ready();
  return client;
}

describe('room management in the web app', () => {
  it('counts unread in the tab title, mutes, renames and archives a room that turns read-only at once', async () => {
    const alice = await signUp('alice');
    const bob = await signUp('bob');
    const aliceSdk = await sdkOf('alice');
    const bobSdk = await sdkOf('bob');
    const bobId = bobSdk.user?.id ?? '';

    // Alice's room, with Bob in it, gets three messages while Bob reads #general.
    const room = await aliceSdk.chat.createRoom({ name: 'news', kind: 'private', memberIds: [bobId] });
    for (const text of ['one', 'two', 'three']) await aliceSdk.chat.send(room.id, text);
    await eventually(async () => (await bob.page.title()) === '(3) #general · Switchboard', WAIT, 'the unread count in the title');

    // Muted, the room stops counting; unmuted, it counts again.
    await bob.page.getByRole('navigation').locator('a[data-room-name="news"]').click();
    await bob.page.getByRole('combobox', { name: 'Message #news' }).waitFor();
    await bob.page.getByRole('button', { name: 'Room settings' }).click();
    const bobSettings = bob.page.getByRole('dialog');
    // A member who did not create the room may only mute it.
    expect(await bobSettings.getByRole('button', { name: 'Archive room' }).count()).toBe(0);
    await bobSettings.getByLabel('Mute notifications from this room').check();
    const mutedNow = async () => (await bobSdk.chat.listRooms()).find((r) => r.id === room.id)?.muted === true;
    await eventually(mutedNow, WAIT, 'the mute stored');
    await bobSettings.getByRole('button', { name: 'Close' }).click();
    await bob.page.getByRole('navigation').locator('a[data-room-name="general"]').click();
    await aliceSdk.chat.send(room.id, 'four');
    await eventually(async () => (await bob.page.title()) === '#general · Switchboard', WAIT, 'a muted room left out of the title');

    // Bob reads it again; Alice (its creator) renames and archives it from its settings.
    await bob.page.getByRole('navigation').locator('a[data-room-name="news"]').click();
    const bobComposer = bob.page.getByRole('combobox', { name: 'Message #news' });
    await bobComposer.waitFor();
    await alice.page.getByRole('navigation').locator('a[data-room-name="news"]').click();
    await alice.page.getByRole('button', { name: 'Room settings' }).click();
    const settings = alice.page.getByRole('dialog');
    await settings.getByLabel('Topic').fill('Read me');
    await settings.getByRole('button', { name: 'Save' }).click();
    await bob.page.getByText('Read me', { exact: true }).waitFor();
    await settings.getByRole('button', { name: 'Archive room' }).click();
    await settings.getByRole('button', { name: 'Unarchive room' }).waitFor();

    // Bob, who has the room open, sees it read-only at once.
    await bob.page.getByTestId('archived-note').waitFor();
    expect(await bob.page.getByRole('combobox', { name: 'Message #news' }).count()).toBe(0);
    expect(await bob.page.getByText('Archived', { exact: true }).count()).toBe(1);
    const refused = await aliceSdk.chat.send(room.id, 'five').catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(SwitchboardError);
    expect((refused as SwitchboardError).code).toBe('FORBIDDEN');

    // Unarchived, the composer comes back.
    await settings.getByRole('button', { name: 'Unarchive room' }).click();
    await bobComposer.waitFor();
    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
  });
});
