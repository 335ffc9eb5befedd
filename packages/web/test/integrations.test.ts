/**
 * The Integrations page end to end: the web app built with Vite, served by a real Switchboard
 * server, in Chromium. The admin opens Integrations from the sidebar, creates a bot and sees its
 * token once (gone after Done and after a reload); the bot, invited to a room, publishes with
 * `fetch`; the admin adds a webhook to the room (its secret shown once), a message is POSTed to a
 * real receiver, signed with that secret, and the page lists the delivery; the admin opens the
 * webhook's deliveries, sees the receiver fail (HTTP 500) on the next message and the retry that
 * gets it through, attempt by attempt (the SDK pages the same list); the admin revokes the bot
 * and its token stops working. Screenshot: docs/screenshots/integrations.png under
 * `npm run screenshots`.
 */
import { createHmac } from 'node:crypto';
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient, type SwitchboardClient } from '@switchboard/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot } from './screenshots.js';
import { eventually, register, type TestServer } from '../../server/test/helpers.js';
import { PASSWORD, START_TIMEOUT_MS, startWebApp, type SignedIn, type WebApp } from './web-app.js';

const WAIT = 15_000;

let app: WebApp;
let server: TestServer;
let receiver: Server;
let receiverUrl: string;
const received: { headers: IncomingHttpHeaders; body: string }[] = [];
/** While set, the receiver answers 500 and keeps nothing. */
let failing = false;
let admin: SwitchboardClient | undefined;

beforeAll(async () => {
  receiver = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (failing) {
        res.writeHead(500).end();
        return;
      }
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/switchboard`;
  // The receiver runs on this machine: loopback targets are allowed for the test.
  app = await startWebApp({ server: { WEBHOOK_ALLOW_PRIVATE: 'true' }, waitMs: WAIT });
  server = app.server;
}, START_TIMEOUT_MS);

afterAll(async () => {
  admin?.close();
  await app?.close();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

const signIn = (username: string): Promise<SignedIn> => app.signIn(username);

const publish = (token: string, roomId: string, text: string) =>
  fetch(`${server.url}/api/rooms/${roomId}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ text }),
  });

describe('integrations page', () => {
  it('creates a bot whose token is shown once, lists a webhook delivery, and revokes the bot', async () => {
    const session = await register(server.url, 'admin', PASSWORD);
    expect(session.user.role).toBe('admin');
    admin = createClient({ url: server.url, session, transports: ['websocket'] });
    await admin.ready();
    const room = await admin.chat.createRoom({ name: 'deploys', kind: 'public' });

    const { page, errors } = await signIn('admin');
    await page.getByRole('navigation').getByRole('link', { name: 'Integrations' }).click();
    await page.getByRole('heading', { name: 'Integrations', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/integrations');
    await page.getByText('No bots yet.').waitFor();

    // ---- a bot, its token shown once
    const bots = page.getByRole('region', { name: 'Bots' });
    await bots.getByLabel('Username').fill('deploy-bot');
    await bots.getByLabel('Display name').fill('Deploy bot');
    await bots.getByRole('button', { name: 'Create bot' }).click();
    const token = (await bots.getByTestId('shown-once').textContent()) ?? '';
    expect(token).toMatch(/^sbot_/);
    await bots.getByRole('table', { name: 'Bots' }).getByRole('rowheader', { name: '@deploy-bot' }).waitFor();
    await bots.getByRole('button', { name: 'Done' }).click();
    expect(await page.content()).not.toContain(token);

    // ---- the bot, invited to the room, publishes with fetch
    const bot = (await admin.integrations.listBots()).find((b) => b.bot.username === 'deploy-bot');
    expect(bot).toBeDefined();
    await admin.chat.invite(room.id, bot!.bot.id);
    const published = await publish(token, room.id, 'deploy 41 started');
    expect(published.status).toBe(201);

    // ---- a webhook: its secret shown once, a delivery listed
    const hooks = page.getByRole('region', { name: 'Webhooks' });
    await expect(hooks.getByRole('combobox', { name: 'Room' }).inputValue()).resolves.toBe(room.id);
    await hooks.getByLabel('URL').fill(receiverUrl);
    await hooks.getByRole('button', { name: 'Add webhook' }).click();
    const secret = (await hooks.getByTestId('shown-once').textContent()) ?? '';
    expect(secret.length).toBeGreaterThan(20);
    const row = hooks.getByRole('table', { name: 'Webhooks' }).getByRole('row').filter({ hasText: receiverUrl });
    await row.getByText('no messages yet').waitFor();

    expect((await publish(token, room.id, 'deploy 41 finished')).status).toBe(201);
    await eventually(() => received.length === 1, WAIT, 'the delivery');
    const delivery = received[0]!;
    expect(JSON.parse(delivery.body)).toMatchObject({ text: 'deploy 41 finished', seq: 2 });
    expect(delivery.headers['x-switchboard-signature']).toBe(`sha256=${createHmac('sha256', secret).update(delivery.body).digest('hex')}`);
    // The page fetches the delivery state again every few seconds.
    await row.getByText('delivered', { exact: true }).waitFor();
    await row.getByRole('cell', { name: '#2' }).waitFor();
    await row.getByRole('cell', { name: '204' }).waitFor();
    await hooks.getByRole('button', { name: 'Done' }).click();

    // ---- the webhook's deliveries: the one made, then a failing receiver and the retry
    const toggle = row.getByRole('button', { name: `Deliveries to ${receiverUrl}` });
    await toggle.click();
    expect(await toggle.getAttribute('aria-expanded')).toBe('true');
    const attempts = hooks.getByRole('table', { name: `Deliveries to ${receiverUrl}` });
    const attemptRows = attempts.locator('tbody tr');
    await attemptRows.first().waitFor();
    expect(await attemptRows.count()).toBe(1);
    expect(await attemptRows.first().getByRole('cell').allTextContents()).toEqual([expect.any(String), '#2', '1', '204', expect.stringMatching(/^\d+ ms$/), '']);

    failing = true;
    expect((await publish(token, room.id, 'deploy 42 started')).status).toBe(201);
    await row.getByText('failing', { exact: true }).waitFor();
    await row.getByText('HTTP 500').waitFor();
    await attempts.getByRole('cell', { name: 'answered 500' }).first().waitFor();
    failing = false;
    await eventually(() => received.length === 2, 30_000, 'the retried delivery');
    expect(JSON.parse(received[1]!.body)).toMatchObject({ text: 'deploy 42 started', seq: 3 });
    await row.getByText('delivered', { exact: true }).waitFor({ timeout: 30_000 });
    await row.getByRole('cell', { name: '#3' }).waitFor();
    // Newest first: the retry that got through, then the attempts the receiver refused.
    await eventually(async () => (await attemptRows.first().getByRole('cell').nth(3).textContent()) === '204' && (await attemptRows.first().getByRole('cell').nth(1).textContent()) === '#3', WAIT, 'the retry listed');
    const rows = await attemptRows.evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).slice(1, 4).map((td) => td.textContent)));
    const failures = rows.slice(1, -1);
    expect(rows[0]).toEqual(['#3', String(failures.length + 1), '204']);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures).toEqual(failures.map((_, i) => ['#3', String(failures.length - i), 'HTTP 500']));
    expect(rows.at(-1)).toEqual(['#2', '1', '204']);
    // The SDK pages the same list.
    const [listedHook] = await admin.integrations.listWebhooks(room.id);
    const newest = await admin.integrations.listWebhookDeliveries(room.id, listedHook!.id, { limit: 2 });
    expect(newest.map((d) => [d.seq, d.attempt, d.ok])).toEqual([
      [3, failures.length + 1, true],
      [3, failures.length, false],
    ]);
    const older = await admin.integrations.listWebhookDeliveries(room.id, listedHook!.id, { before: newest[1]!.id });
    expect(older.map((d) => d.seq)).toEqual([...failures.slice(1).map(() => 3), 2]);
    await screenshot(page, 'integrations');
    await toggle.click();
    await attempts.waitFor({ state: 'detached' });

    // ---- a reload shows neither credential again
    await page.reload();
    await page.getByRole('heading', { name: 'Integrations', level: 1 }).waitFor();
    await page.getByRole('rowheader', { name: '@deploy-bot' }).waitFor();
    const html = await page.content();
    expect(html).not.toContain(token);
    expect(html).not.toContain(secret);

    // ---- revoked: gone from the list, and the token stops working
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Revoke @deploy-bot' }).click();
    await page.getByText('No bots yet.').waitFor();
    expect((await publish(token, room.id, 'after the revocation')).status).toBe(401);
    expect(errors).toEqual([]);
  }, 120_000);

  it('keeps the page from anyone but an admin', async () => {
    await register(server.url, 'someone', PASSWORD);
    const { page } = await signIn('someone');
    expect(await page.getByRole('navigation').getByRole('link', { name: 'Integrations' }).count()).toBe(0);
    await page.goto(`${server.url}/integrations`);
    await page.getByRole('navigation').waitFor();
    expect(await page.getByRole('heading', { name: 'Integrations', level: 1 }).count()).toBe(0);
  }, 60_000);
});
