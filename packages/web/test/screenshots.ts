/**
 * Screenshots for the docs. Every browser test takes its screenshots (rendering the screen is part of
 * what it checks), but writes them to `docs/screenshots/` only when asked — `npm run screenshots` —
 * so that `npm test` leaves the tracked images alone.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';

const DIR = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url));
const WRITE = process.env.UPDATE_SCREENSHOTS === '1';

/** Takes a screenshot of `page`, written to `docs/screenshots/<name>.png` under `npm run screenshots`. */
export async function screenshot(page: Page, name: string): Promise<Buffer> {
  if (WRITE) mkdirSync(DIR, { recursive: true });
  return page.screenshot(WRITE ? { path: join(DIR, `${name}.png`) } : {});
}
