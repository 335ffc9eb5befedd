/**
 * The sign-up form explains the server's password policy: the web app built with Vite, served by
 * a real Switchboard server, in Chromium. A common password and one containing the username are
 * refused with words a person understands; a good one signs up.
 */
import { rmSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWebApp } from './build-app.js';
import { startServer, type TestServer } from '../../server/test/helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const WAIT = 15_000;

let webDir: string;
let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  webDir = await buildWebApp();
  server = await startServer({ WEB_DIR: webDir });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(webDir, { recursive: true, force: true });
});

async function signUpForm(): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  page.setDefaultTimeout(WAIT);
  await page.goto(server.url);
  await page.getByRole('button', { name: 'Create an account' }).click();
  return page;
}

async function submit(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
}

describe('sign-up password policy in the web app', () => {
  it('says why a password is refused, and signs up with a better one', async () => {
    const page = await signUpForm();
    await page.getByText('not a common password, and not containing your user name').waitFor();

    await submit(page, 'carol', 'Sunshine2024!');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toBe(
      'Please choose another password: it is too common (one of the 10,000 most used, perhaps with digits or symbols added).',
    );

    await submit(page, 'carol', 'my-name-is-Carol');
    await page.getByText('Please choose another password: it contains the username.').waitFor();

    await submit(page, 'carol', 'tangerine-harbor-7');
    // Signed up: every new account is in #general, which opens first.
    await page.getByRole('combobox', { name: 'Message #general' }).waitFor();
    expect(await page.getByRole('alert').count()).toBe(0);
  });
});
