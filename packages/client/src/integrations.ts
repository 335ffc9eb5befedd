/**
 * `client.integrations` (PROTOCOL §8): bots (admins: list, create — the token is in that answer
 * only — and delete, which ends the token at once) and a room's webhooks (members: list with where
 * their deliveries stand and their recent delivery attempts, add — the signing secret is in that
 * answer only — and remove), over HTTP
 * with the client's current access token.
 */
import type { BotCreated, BotCreateInput, BotInfo, WebhookCreated, WebhookDeliveries, WebhookDeliveriesQuery, WebhookDelivery, WebhookInfo } from '@switchboard/protocol';
import { authorizedCall } from './http.js';
import type { TokenSource } from './tokens.js';

export class IntegrationsApi {
  constructor(
    private readonly server: () => string,
    private readonly tokens: TokenSource,
  ) {}

  /** Bots whose token works, newest first (admins). */
  async listBots(): Promise<BotInfo[]> {
    return (await this.request<{ bots: BotInfo[] }>('GET', '/api/bots')).bots;
  }

  /** Creates a bot (admins); keep `token` now: it is never shown again. */
  createBot(input: BotCreateInput): Promise<BotCreated> {
    return this.request('POST', '/api/bots', input);
  }

  /** Deletes a bot (admins): its token is refused at once and its connections close. */
  async deleteBot(botId: string): Promise<void> {
    await this.request<undefined>('DELETE', `/api/bots/${enc(botId)}`);
  }

  /** A room's webhooks, oldest first, with their delivery state (never their secrets). */
  async listWebhooks(roomId: string): Promise<WebhookInfo[]> {
    return (await this.request<{ webhooks: WebhookInfo[] }>('GET', `/api/rooms/${enc(roomId)}/webhooks`)).webhooks;
  }

  /** A webhook's delivery attempts, newest first; `before` (a delivery id) pages to older ones. */
  async listWebhookDeliveries(roomId: string, webhookId: string, page: WebhookDeliveriesQuery = {}): Promise<WebhookDelivery[]> {
    const query = new URLSearchParams();
    if (page.limit !== undefined) query.set('limit', String(page.limit));
    if (page.before !== undefined) query.set('before', page.before);
    const search = query.toString();
    const path = `/api/rooms/${enc(roomId)}/webhooks/${enc(webhookId)}/deliveries${search ? `?${search}` : ''}`;
    return (await this.request<WebhookDeliveries>('GET', path)).deliveries;
  }

  /** Adds a webhook to a room; keep `secret` now (it signs every delivery): it is never shown again. */
  createWebhook(roomId: string, url: string): Promise<WebhookCreated> {
    return this.request('POST', `/api/rooms/${enc(roomId)}/webhooks`, { url });
  }

  async deleteWebhook(webhookId: string): Promise<void> {
    await this.request<undefined>('DELETE', `/api/webhooks/${enc(webhookId)}`);
  }

  private request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return authorizedCall<T>(this.server(), this.tokens, method, path, body);
  }
}

const enc = encodeURIComponent;
