/**
 * The Games page end to end: the web app built with Vite, served by a real Switchboard server (short
 * countdowns and pauses between rounds, so a game takes seconds), in Chromium with three users. Ada
 * opens Games from the sidebar and creates a private duel, whose code Bea types on hers; Cid, who
 * queued for a quick match in the lobby meanwhile and cancelled, watches it from the live games list. All three boards render the server's ticks (the tick in the board's
 * text advances); Ada steers with an arrow key and Bea with the Turn left button, and the spectator's
 * board, drawn from the server's ticks alone, shows both turns; the spectator has no controls, a
 * Watching badge, and the players see one spectator. The game ends with the same result on the three
 * screens, the players see their rating changes, and back in the lobby the game is in Ada's recent
 * games and both players on the duel leaderboard (the quad one is empty). Screenshots: docs/screenshots/game.png and
 * games-lobby.png under `npm run screenshots`.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boardSays, duelBoard } from './game-board.js';
import { screenshot } from './screenshots.js';
import type { TestServer } from '../../server/test/helpers.js';
import { START_TIMEOUT_MS, startWebApp, type SignedIn, type WebApp } from './web-app.js';

const WAIT = 20_000;

let app: WebApp;
let server: TestServer;

beforeAll(async () => {
  app = await startWebApp({ server: { GAME_COUNTDOWN_S: 2.5, GAME_ROUND_PAUSE_S: 0.5 }, waitMs: WAIT });
  server = app.server;
}, START_TIMEOUT_MS);

afterAll(() => app?.close());

const signIn = (username: string): Promise<SignedIn> => app.signUp(username);

const textOf = async (page: Page) => (await duelBoard(page).getAttribute('aria-label')) ?? '';
const tickIn = (text: string) => Number(/tick (\d+)/.exec(text)?.[1] ?? NaN);

describe('games page', () => {
  it('plays a private duel between two browsers while a third watches it from the live games', async () => {
    const ada = await signIn('ada');
    const bea = await signIn('bea');
    const cid = await signIn('cid');

    // Cid waits in the lobby, so that he watches soon after the game starts: a duel whose cycles
    // ride straight on is over in two or three rounds.
    await cid.page.getByRole('navigation').getByRole('link', { name: 'Games' }).click();
    await cid.page.getByRole('heading', { name: 'Live games' }).waitFor();

    // ---- meanwhile he queues for a quick match, alone, and cancels
    const quick = cid.page.getByRole('region', { name: 'Quick match' });
    await quick.getByRole('button', { name: 'Duel (2 players)' }).click();
    await quick.getByRole('status').filter({ hasText: /Looking for a duel opponent/ }).waitFor();
    await quick.getByRole('button', { name: 'Cancel' }).click();
    await quick.getByRole('button', { name: 'Duel (2 players)' }).waitFor();

    // ---- Ada creates a private duel from the Games page
    await ada.page.getByRole('navigation').getByRole('link', { name: 'Games' }).click();
    await ada.page.getByRole('heading', { name: 'Games', level: 1 }).waitFor();
    expect(new URL(ada.page.url()).pathname).toBe('/games');
    const create = ada.page.getByRole('form', { name: 'Create a private game' });
    await expect(create.getByLabel('Mode').inputValue()).resolves.toBe('duel');
    await expect(create.getByLabel('Bots').inputValue()).resolves.toBe('0');
    await create.getByRole('button', { name: 'Create game' }).click();
    const code = (await ada.page.getByLabel('Game code').textContent()) ?? '';
    expect(code).toMatch(/^[A-HJ-NP-Z2-9]{6}$/);
    await boardSays(ada.page, /Round 1, waiting for players/, WAIT);

    // ---- Bea joins it by its code, straight from the address /games
    await bea.page.goto(`${server.url}/games`);
    const join = bea.page.getByRole('form', { name: 'Join a game by code' });
    await join.getByLabel('Game code').fill(code.toLowerCase());
    await join.getByRole('button', { name: 'Join' }).click();
    await boardSays(bea.page, /bea \(pink, you\)/, WAIT);
    await boardSays(ada.page, /ada \(cyan, you\).*bea \(pink\)/, WAIT);

    // ---- Cid watches it from the live games list (fetched again every few seconds)
    await cid.page.getByRole('table', { name: 'Live games' }).getByRole('button', { name: 'Watch ada vs bea' }).click();
    await cid.page.getByText('Watching', { exact: true }).waitFor();
    await duelBoard(cid.page).waitFor();
    expect(await cid.page.getByRole('button', { name: /Turn (left|right)/ }).count()).toBe(0);
    expect(await cid.page.getByRole('group', { name: 'Steering' }).count()).toBe(0);
    await cid.page.getByRole('button', { name: 'Stop watching' }).waitFor();
    expect(await textOf(cid.page)).not.toContain('you');

    // ---- every board renders the ticks
    for (const { page } of [ada, bea, cid]) {
      const before = tickIn(await textOf(page));
      expect(before).toBeGreaterThanOrEqual(0);
      const after = tickIn(await boardSays(page, new RegExp(`tick (?!${before}\\.)\\d+\\.`), WAIT));
      expect(after).toBeGreaterThan(before);
    }

    // ---- the players steer: Ada with a key, Bea with a button. Cycles spawn heading left or
    // right and ride straight on by themselves, so heading up or down can only be a turn applied
    // by the server, and the spectator's board knows only the server's ticks.
    await boardSays(ada.page, /, running, /, WAIT);
    await duelBoard(ada.page).focus();
    await ada.page.keyboard.press('ArrowUp');
    await bea.page.getByRole('button', { name: 'Turn left' }).click();
    await boardSays(cid.page, /ada \(cyan\): \d+ points?, (riding|out), heading up\./, WAIT);
    await boardSays(cid.page, /bea \(pink\): \d+ points?, (riding|out), heading (up|down)\./, WAIT);
    await boardSays(ada.page, /ada \(cyan, you\): \d+ points?, (riding|out), heading up\./, WAIT);

    // ---- the players see their spectator
    await ada.page.getByText('1 spectator', { exact: true }).waitFor();
    await bea.page.getByText('1 spectator', { exact: true }).waitFor();

    // ---- the same end on the three screens; the players see their new ratings
    const results: string[] = [];
    for (const { page } of [ada, bea, cid]) {
      const heading = page.getByRole('region', { name: /wins$|^Draw$/ }).getByRole('heading', { level: 2 });
      await heading.waitFor({ timeout: 60_000 });
      results.push((await heading.textContent()) ?? '');
      await boardSays(page, /, over, /, WAIT);
    }
    expect(results[0]).toMatch(/^(ada wins|bea wins|Draw)$/);
    expect(new Set(results).size).toBe(1);
    for (const { page } of [ada, bea]) {
      const changes = page.getByRole('list', { name: 'Rating changes' }).getByRole('listitem');
      await expect(changes.count()).resolves.toBe(2);
      expect(await changes.first().textContent()).toMatch(/^(ada|bea): 1200 → \d+ \([+-]?\d+\)$/);
    }
    // The last round's trails stay on the board beside the result.
    await screenshot(bea.page, 'game');

    // ---- back in the lobby: the game in Ada's recent games, both players on the leaderboard
    await ada.page.getByRole('button', { name: 'Back to games' }).click();
    const recent = ada.page.getByRole('list', { name: 'Your recent games' }).getByRole('listitem');
    await recent.filter({ hasText: 'Duel: ada vs bea' }).waitFor();
    const leaderboard = ada.page.getByRole('table', { name: 'Duel leaderboard' });
    await leaderboard.getByRole('rowheader', { name: '@ada' }).waitFor();
    await leaderboard.getByRole('rowheader', { name: '@bea' }).waitFor();
    await screenshot(ada.page, 'games-lobby');
    await ada.page.getByRole('group', { name: 'Mode' }).getByRole('button', { name: 'Quad' }).click();
    await ada.page.getByText('No rated quad games yet.').waitFor();
    await cid.page.getByRole('button', { name: 'Back to games' }).click();
    await cid.page.getByRole('heading', { name: 'Live games' }).waitFor();

    for (const { errors } of [ada, bea, cid]) expect(errors).toEqual([]);
  }, 180_000);
});
