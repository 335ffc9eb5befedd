/**
 * The Games page's queue timer and game invitations, end to end: the web app built with Vite, served
 * by a real Switchboard server, in Chromium with two users. Ada queues for a quick match and sees the
 * time waited advance, every second, beside Cancel; then she creates a private duel and invites Bea,
 * found by name in the people picker. Bea, in her rooms, gets the invitation in her notification
 * bell; Join game opens the Games page and joins the duel by its code, both boards show the game
 * starting, and opening the invitation again, with the game started, shows why it cannot be joined.
 * Bea then turns her cycle with a swipe on the board. Screenshots: docs/screenshots/game-invite.png
 * and game-invitation.png under `npm run screenshots`.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boardSays, duelBoard } from './game-board.js';
import { screenshot } from './screenshots.js';
import { START_TIMEOUT_MS, startWebApp, type SignedIn, type WebApp } from './web-app.js';

const WAIT = 20_000;

let app: WebApp;

beforeAll(async () => {
  // Bots never take the queue's seat while Ada watches the timer.
  app = await startWebApp({ server: { GAME_COUNTDOWN_S: 2.5, GAME_ROUND_PAUSE_S: 0.5, MATCH_BOT_FILL_S: 600 }, waitMs: WAIT });
}, START_TIMEOUT_MS);

afterAll(() => app?.close());

const signIn = (username: string): Promise<SignedIn> => app.signUp(username);

const secondsIn = (label: string | null) => Number(/^Waited (\d+) seconds?$/.exec(label ?? '')?.[1] ?? NaN);

/** Waits until the queue timer says more than `seconds` were waited, and returns how many it says. */
async function waitedMoreThan(page: Page, seconds: number): Promise<number> {
  const handle = await page.waitForFunction((n) => {
    const label = document.querySelector('[role="timer"]')?.getAttribute('aria-label') ?? '';
    const waited = Number(/^Waited (\d+) seconds?$/.exec(label)?.[1] ?? NaN);
    return waited > n ? waited : false;
  }, seconds);
  return (await handle.jsonValue()) as number;
}

describe('games page: queue timer and invitations', () => {
  it('counts the time waited in the queue, and brings an invited player into the game from the bell', async () => {
    const ada = await signIn('ada');
    const bea = await signIn('bea');

    // ---- Ada queues: the time waited shows beside Cancel and advances
    await ada.page.getByRole('navigation').getByRole('link', { name: 'Games' }).click();
    const quick = ada.page.getByRole('region', { name: 'Quick match' });
    await quick.getByRole('button', { name: 'Duel (2 players)' }).click();
    const timer = quick.getByRole('timer');
    const first = secondsIn(await timer.getAttribute('aria-label'));
    expect(first).toBeGreaterThanOrEqual(0);
    expect(await timer.textContent()).toMatch(/^0:\d\d$/);
    const later = await waitedMoreThan(ada.page, first);
    const latest = await waitedMoreThan(ada.page, later);
    expect(latest).toBeGreaterThan(later);
    expect(await timer.textContent()).toMatch(/^0:\d\d$/);
    await quick.getByRole('button', { name: 'Cancel' }).click();
    await quick.getByRole('button', { name: 'Duel (2 players)' }).waitFor();
    expect(await quick.getByRole('timer').count()).toBe(0);

    // ---- Ada creates a private duel and invites Bea, found by name
    const create = ada.page.getByRole('form', { name: 'Create a private game' });
    await create.getByText('Invite people').click();
    await create.getByRole('searchbox', { name: 'Find people' }).fill('bea');
    await create.getByRole('checkbox', { name: /@bea/ }).check();
    await create.getByText('Invite people (1)').waitFor();
    // A bot would take the duel's only free seat: the invitation would have nowhere to go.
    await create.getByLabel('Bots').selectOption('1');
    await create.getByRole('alert').filter({ hasText: 'The bots take every free seat' }).waitFor();
    expect(await create.getByRole('button', { name: 'Create game' }).isDisabled()).toBe(true);
    await create.getByLabel('Bots').selectOption('0');
    expect(await create.getByRole('alert').count()).toBe(0);
    await screenshot(ada.page, 'game-invite');
    await create.getByRole('button', { name: 'Create game' }).click();
    const code = (await ada.page.getByLabel('Game code').textContent()) ?? '';
    expect(code).toMatch(/^[A-HJ-NP-Z2-9]{6}$/);
    await boardSays(ada.page, /waiting for players/, WAIT);

    // ---- Bea, in her rooms, gets the invitation in her bell and joins from it
    await bea.page.getByTestId('notification-count').filter({ hasText: '1' }).waitFor();
    await bea.page.getByTestId('notification-bell').click();
    const panel = bea.page.getByRole('dialog', { name: 'Notifications' });
    await panel.getByText('ada invited you to a duel game').waitFor();
    await panel.getByText(`Join with the code ${code}`).waitFor();
    await screenshot(bea.page, 'game-invitation');
    await panel.getByRole('button', { name: /^Join game: / }).click();
    await bea.page.getByRole('heading', { name: 'Games', level: 1 }).waitFor();
    await boardSays(bea.page, /bea \(pink, you\)/, WAIT);
    // The address is the Games page's again: a reload does not join twice.
    await bea.page.waitForURL((url) => url.pathname === '/games' && url.search === '');

    // ---- the game starts on both screens
    await boardSays(ada.page, /ada \(cyan, you\).*bea \(pink\)/, WAIT);
    for (const { page } of [ada, bea]) await boardSays(page, /, (get ready|running), /, WAIT);
    await bea.page.getByRole('group', { name: 'Steering' }).waitFor();

    // ---- the invitation again, with the game started: the reason it cannot be joined
    await bea.page.getByTestId('notification-bell').click();
    await bea.page.getByRole('dialog', { name: 'Notifications' }).getByRole('button', { name: /^Join game: / }).click();
    await bea.page.getByRole('alert').filter({ hasText: 'That game is full or has started, or you are already in a game.' }).waitFor();
    await boardSays(bea.page, /bea \(pink, you\)/, WAIT);

    // ---- Bea steers with a swipe up the board. Cycles spawn heading left or right and ride
    // straight on, so heading up is the turn the swipe asked for, applied by the server.
    await boardSays(bea.page, /, running, /, WAIT);
    const box = await duelBoard(bea.page).boundingBox();
    if (!box) throw new Error('the board has no box');
    await bea.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await bea.page.mouse.down();
    await bea.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2 - 80, { steps: 4 });
    await bea.page.mouse.up();
    await boardSays(bea.page, /bea \(pink, you\): \d+ points?, (riding|out), heading up\./, WAIT);
    await boardSays(ada.page, /bea \(pink\): \d+ points?, (riding|out), heading up\./, WAIT);

    for (const { errors } of [ada, bea]) expect(errors).toEqual([]);
  }, 120_000);
});
