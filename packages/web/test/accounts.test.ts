/**
 * Accounts end to end: the web app built with Vite, served by a real Switchboard server, in
 * Chromium. An admin opens Users, finds a person and deactivates them — the person's own open tab
 * goes to the sign-in screen at once — and resets another's password, shown once. A member makes
 * an invite link in a room; someone new opens it, signs up with it and finds themselves in the
 * room. The account settings change a display name.
 */
import { rmSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildWebApp } from './build-app.js';
import { closeSockets, connect, http, ok, register, startServer, uniqueName, type TestServer } from '../../server/test/helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const WAIT = 15_000;
/** Each test drives two or three browser tabs on a machine that may be busy. */
const TEST_TIMEOUT = 120_000;
const PASSWORD = 'violet-tangerine-41';

let webDir: string;
let server: TestServer;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  webDir = await buildWebApp();
  server = await startServer({ WEB_DIR: webDir });
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
afterEach(closeSockets);

async function newPage(path = '/'): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.url + path);
  return { page, errors };
}

async function signIn(username: string, path = '/'): Promise<{ page: Page; errors: string[] }> {
  const opened = await newPage(path);
  await opened.page.getByLabel('Username').fill(username);
  await opened.page.getByLabel('Password').fill(PASSWORD);
  await opened.page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await opened.page.getByRole('navigation').waitFor();
  return opened;
}

describe('accounts in the web app', () => {
  let adminName: string;
  beforeAll(async () => {
    adminName = uniqueName('boss');
    const admin = await register(server.url, adminName, PASSWORD);
    expect(admin.user.role).toBe('admin');
  });

  it('an admin deactivates a user, who is signed out in their own tab at once', { timeout: TEST_TIMEOUT }, async () => {
    const name = uniqueName('leaver');
    await register(server.url, name, PASSWORD);
    const user = await signIn(name);
    const admin = await signIn(adminName);

    await admin.page.getByRole('link', { name: 'Users' }).click();
    await admin.page.getByRole('heading', { name: 'Users' }).waitFor();
    await admin.page.getByLabel('Find people').fill(name);
    await admin.page.getByRole('button', { name: `Deactivate @${name}` }).click();
    await admin.page.getByRole('button', { name: `Reactivate @${name}` }).waitFor();
    expect(await admin.page.locator(`tr[data-username="${name}"]`).textContent()).toContain('Deactivated');

    // The user's tab, with nothing done in it, is back at the sign-in screen.
    await user.page.getByRole('heading', { name: 'Sign in to your team' }).waitFor();
    await user.page.getByLabel('Username').fill(name);
    await user.page.getByLabel('Password').fill(PASSWORD);
    await user.page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await user.page.getByRole('alert').waitFor();
    expect(user.errors).toEqual([]);
    expect(admin.errors).toEqual([]);
  });

  it('an admin resets a password and sees the temporary one once', { timeout: TEST_TIMEOUT }, async () => {
    const name = uniqueName('forgot');
    await register(server.url, name, PASSWORD);
    const admin = await signIn(adminName, '/admin/users');
    await admin.page.getByLabel('Find people').fill(name);
    await admin.page.locator(`tr[data-username="${name}"]`).getByRole('button', { name: 'Reset password' }).click();
    const temporary = (await admin.page.locator('.temporary-password').textContent()) ?? '';
    expect(temporary.length).toBeGreaterThanOrEqual(12);
    expect((await http(server.url, 'POST', '/api/auth/login', { username: name, password: temporary })).status).toBe(200);
  });

  it('an invite link made in a room signs someone new up straight into it', { timeout: TEST_TIMEOUT }, async () => {
    const memberName = uniqueName('host');
    const member = await register(server.url, memberName, PASSWORD);
    const socket = await connect(server.url, '/chat', member.accessToken);
    const roomName = uniqueName('Party');
    const { room } = await ok<{ room: { id: string } }>(socket, 'room:create', { name: roomName, kind: 'private' });

    const host = await signIn(memberName, `/rooms/${room.id}`);
    await host.page.locator('.room-actions').getByRole('button', { name: 'Invite people' }).click();
    await host.page.getByRole('button', { name: /create an invite link/i }).click();
    const url = await host.page.getByLabel(/invite link/i).inputValue();
    expect(url).toMatch(new RegExp(`^${server.url}/invite/[A-Za-z0-9_-]+$`));

    const guest = await newPage(new URL(url).pathname);
    await guest.page.getByRole('heading', { name: 'Create your account' }).waitFor();
    const guestName = uniqueName('guest');
    await guest.page.getByLabel('Username').fill(guestName);
    await guest.page.getByLabel('Password').fill(PASSWORD);
    await guest.page.getByRole('button', { name: 'Create account' }).click();
    await guest.page.getByRole('navigation').getByText(roomName).waitFor();
    expect(guest.errors).toEqual([]);
  });

  it('the account settings change the display name', { timeout: TEST_TIMEOUT }, async () => {
    const name = uniqueName('renamed');
    await register(server.url, name, PASSWORD);
    const { page, errors } = await signIn(name);
    await page.getByRole('button', { name: 'Account settings' }).click();
    await page.getByLabel('Display name').fill('Margaret Hamilton');
    await page.getByRole('button', { name: 'Save name' }).click();
    await page.getByText('Display name saved.').waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
    await page.locator('.me-name', { hasText: 'Margaret Hamilton' }).waitFor();
    const me = await http<{ user: { displayName: string } }>(server.url, 'POST', '/api/auth/login', { username: name, password: PASSWORD });
    expect(me.body.user.displayName).toBe('Margaret Hamilton');
    expect(errors).toEqual([]);
  });
});
