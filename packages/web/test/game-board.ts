/**
 * The Games page's board as the browser tests read it: its accessible text, which says the round,
 * the phase, the tick and each cycle's state.
 */
import type { Locator, Page } from 'playwright-core';

/** The duel board of the games the tests play (the server's default 40 × 30 grid). */
export const duelBoard = (page: Page): Locator => page.getByRole('img', { name: /^Duel, 40 by 30\./ });

/** Waits until the duel board's text on `page` matches `pattern` (checked on every frame), and returns it. */
export async function boardSays(page: Page, pattern: RegExp, timeout: number): Promise<string> {
  await page.waitForFunction(
    ([source, flags]) => {
      const board = Array.from(document.querySelectorAll('canvas[role="img"]')).find((c) => c.getAttribute('aria-label')?.startsWith('Duel'));
      return new RegExp(source as string, flags as string).test(board?.getAttribute('aria-label') ?? '');
    },
    [pattern.source, pattern.flags],
    { timeout, polling: 'raf' },
  );
  return (await duelBoard(page).getAttribute('aria-label')) ?? '';
}
