/**
 * The admin's Rooms tab end to end: the web app built with Vite, served by a real Switchboard
 * server, in Chromium. A member has a room open; the admin finds it on the Rooms tab (members,
 * last activity), archives it after confirming — the member's open room turns read-only at once —
 * filters the archived rooms, and unarchives it: the member's composer comes back. Someone who is
 * not an admin finds no Rooms tab and no way in by the address. Screenshot:
 * docs/screenshots/admin-rooms.png under `npm run screenshots`.
 */
import type { Room } from '@switchboard/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { screenshot } from './screenshots.js';
import { closeSockets, connect, ok, register, type TestServer } from '../../server/test/helpers.js';
import { START_TIMEOUT_MS, startWebApp, type SignedIn, type WebApp } from './web-app.js';

const PASSWORD = 'violet-tangerine-41';

let app: WebApp;
let server: TestServer;

beforeAll(async () => {
  app = await startWebApp();
  server = app.server;
}, START_TIMEOUT_MS);

afterAll(() => app?.close());
afterEach(closeSockets);

const signIn = (username: string, path = '/'): Promise<SignedIn> => app.signIn(username, { password: PASSWORD, path });

describe('admin rooms tab', () => {
  it('archives a room a member has open, which turns read-only for them at once, and unarchives it', async () => {
    await register(server.url, 'root', PASSWORD);
    const memberSession = await register(server.url, 'maya', PASSWORD);
    const socket = await connect(server.url, '/chat', memberSession.accessToken);
    const rooms: Room[] = [];
    for (const [name, kind] of [
      ['launch', 'public'],
      ['design-review', 'private'],
      ['random', 'public'],
    ] as const) {
      rooms.push((await ok<{ room: Room }>(socket, 'room:create', { name, kind })).room);
    }
    await ok(socket, 'message:send', { roomId: rooms[0]!.id, text: 'Launch on Thursday', clientMsgId: 'launch-1' });

    const member = await signIn('maya', `/rooms/${rooms[0]!.id}`);
    const composer = member.page.getByRole('combobox', { name: 'Message #launch' });
    await composer.waitFor();

    const admin = await signIn('root');
    const { page } = admin;
    await page.getByRole('navigation').getByRole('link', { name: 'Rooms' }).click();
    await page.getByRole('heading', { name: 'Rooms', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/admin/rooms');
    const table = page.getByRole('table', { name: 'Rooms' });
    // Newest activity first: launch has the latest message.
    await table.locator('tr[data-room="launch"]').waitFor();
    expect(await table.locator('tbody tr').first().getAttribute('data-room')).toBe('launch');
    // Private rooms are listed too, and general.
    await table.locator('tr[data-room="design-review"]').waitFor();
    await table.locator('tr[data-room="general"]').waitFor();

    await page.getByLabel('Find rooms').fill('laun');
    await table.locator('tr[data-room="random"]').waitFor({ state: 'detached' });
    const row = table.locator('tr[data-room="launch"]');
    // Members: the one who created it.
    expect(await row.getByRole('cell').nth(1).textContent()).toBe('1');

    // A dismissed confirmation changes nothing; an accepted one archives.
    page.once('dialog', (dialog) => void dialog.dismiss());
    await row.getByRole('button', { name: 'Archive #launch' }).click();
    expect(await row.getByText('Archived', { exact: true }).count()).toBe(0);
    const asked = new Promise<string>((resolve) =>
      page.once('dialog', (dialog) => {
        resolve(dialog.message());
        void dialog.accept();
      }),
    );
    await row.getByRole('button', { name: 'Archive #launch' }).click();
    expect(await asked).toContain('Archive #launch?');
    await row.getByRole('button', { name: 'Unarchive #launch' }).waitFor();
    await row.getByText('Archived', { exact: true }).waitFor();

    // The member's open room turned read-only.
    await member.page.getByTestId('archived-note').waitFor();
    expect(await composer.count()).toBe(0);

    // The archived rooms only, then everything again for the screenshot.
    await page.getByLabel('Find rooms').fill('');
    await page.getByLabel('Show').selectOption('archived');
    await table.locator('tr[data-room="general"]').waitFor({ state: 'detached' });
    expect(await table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-room')))).toEqual(['launch']);
    await page.getByLabel('Show').selectOption('all');
    await table.locator('tr[data-room="general"]').waitFor();
    await screenshot(page, 'admin-rooms');

    // Unarchived: the composer comes back.
    page.once('dialog', (dialog) => void dialog.accept());
    await table.locator('tr[data-room="launch"]').getByRole('button', { name: 'Unarchive #launch' }).click();
    await table.locator('tr[data-room="launch"]').getByRole('button', { name: 'Archive #launch' }).waitFor();
    await composer.waitFor();
    expect(await member.page.getByTestId('archived-note').count()).toBe(0);

    // The member has no Rooms tab, and its address is just the chat.
    expect(await member.page.getByRole('navigation').getByRole('link', { name: 'Rooms' }).count()).toBe(0);
    await member.page.goto(`${server.url}/admin/rooms`);
    await member.page.getByRole('navigation').waitFor();
    expect(await member.page.getByRole('heading', { name: 'Rooms', level: 1 }).count()).toBe(0);

    expect([...admin.errors, ...member.errors]).toEqual([]);
  }, 120_000);
});
