/**
 * The browser tests' set-up: the web app as it ships (built once per run, build-app.ts) served by a
 * real Switchboard server, a headless Debian Chromium, and signed-in pages whose uncaught errors and
 * Content-Security-Policy refusals are collected. `close()` ends everything it started.
 */
import { rmSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page, type ViewportSize } from 'playwright-core';
import { buildWebApp } from './build-app.js';
import { register, startServer, type TestServer } from '../../server/test/helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** What the browser tests sign up with unless they say otherwise. */
export const PASSWORD = 'correct horse battery';

/** For `beforeAll`: building the app, starting a server and a browser on a busy machine. */
export const START_TIMEOUT_MS = 120_000;

export interface SignedIn {
  page: Page;
  /** Uncaught errors of the page, and what the Content-Security-Policy refused. */
  errors: string[];
}

export interface SignInOptions {
  password?: string;
  path?: string;
  viewport?: ViewportSize;
}

export interface WebApp {
  server: TestServer;
  browser: Browser;
  /** A page in a fresh browser context, opened at `path` and signed in (the account must exist). */
  signIn(username: string, options?: SignInOptions): Promise<SignedIn>;
  /** Registers the account over the API, then signs in as above. */
  signUp(username: string, options?: SignInOptions): Promise<SignedIn>;
  close(): Promise<void>;
}

export async function startWebApp(options: { server?: Parameters<typeof startServer>[0]; waitMs?: number } = {}): Promise<WebApp> {
  const webDir = await buildWebApp();
  const server = await startServer({ ...options.server, WEB_DIR: webDir });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const contexts: BrowserContext[] = [];
  async function signIn(username: string, { password = PASSWORD, path = '/', viewport = { width: 1280, height: 800 } }: SignInOptions = {}): Promise<SignedIn> {
      const context = await browser.newContext({ viewport });
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(options.waitMs ?? 15_000);
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (message) => {
        if (/content security policy|refused to/i.test(message.text())) errors.push(`console: ${message.text()}`);
      });
      await page.goto(server.url + path);
      await page.getByLabel('Username').fill(username);
      await page.getByLabel('Password').fill(password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByRole('navigation').waitFor();
      return { page, errors };
  }
  return {
    server,
    browser,
    signIn,
    async signUp(username, options = {}) {
      await register(server.url, username, options.password ?? PASSWORD);
      return signIn(username, options);
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser.close();
      await server.close();
      rmSync(webDir, { recursive: true, force: true });
    },
  };
}
