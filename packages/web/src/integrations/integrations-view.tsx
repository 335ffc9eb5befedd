/**
 * The Integrations page (`/integrations`, admins only): bots — list, create (the token is shown
 * once, right after creation: only its hash is stored), revoke — and a room's webhooks — list with
 * where their deliveries stand (last seq delivered, messages waiting, the latest attempt and its
 * error), each one's recent delivery attempts (webhook-deliveries.tsx), add (the signing secret is
 * shown once), remove. Deliveries are fetched again every few seconds.
 */
import type { BotInfo, Room, SwitchboardClient, WebhookInfo } from '@switchboard/client';
import { Limits } from '@switchboard/protocol';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { describeError } from '../errors.js';
import { DataTable, type Column } from '../ui/data-table.js';
import { formatAgo, formatFull } from '../ui/format.js';
import { DeliveryList, DeliveryState } from './webhook-deliveries.js';
import '../admin/admin.css';
import './integrations.css';

/** How often the webhooks' delivery state is fetched again while the page is open, ms. */
const REFRESH_MS = 3000;

/** A credential shown once: the token of a new bot, the secret of a new webhook. */
function ShownOnce({ label, note, value, onDone }: { label: string; note: string; value: string; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="shown-once" role="status">
      <p>
        <strong>{label}</strong> — shown this once: copy it now. {note}
      </p>
      <code className="mono secret" data-testid="shown-once">
        {value}
      </code>
      <div className="shown-once-actions">
        <button
          type="button"
          className="button small"
          onClick={() => {
            void navigator.clipboard?.writeText(value).then(() => setCopied(true), () => undefined);
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
        <button type="button" className="button small" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}

function Bots({ client }: { client: SwitchboardClient }) {
  const [bots, setBots] = useState<BotInfo[] | undefined>();
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [created, setCreated] = useState<{ username: string; token: string } | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      setBots(await client.integrations.listBots());
    } catch (err) {
      setError(describeError(err));
    }
  }, [client]);
  useEffect(() => {
    void load();
  }, [load]);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const { bot, token } = await client.integrations.createBot({ username: username.trim(), ...(displayName.trim() ? { displayName: displayName.trim() } : {}) });
      setCreated({ username: bot.username, token });
      setUsername('');
      setDisplayName('');
      await load();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (bot: BotInfo) => {
    if (!window.confirm(`Revoke @${bot.bot.username}? Its token stops working at once.`)) return;
    setError(undefined);
    try {
      await client.integrations.deleteBot(bot.bot.id);
      await load();
    } catch (err) {
      setError(describeError(err));
    }
  };

  const botColumns: Column<BotInfo>[] = [
    { header: 'Bot', rowHeader: true, cell: (b) => `@${b.bot.username}` },
    { header: 'Display name', cell: (b) => b.bot.displayName },
    { header: 'Created', cell: (b) => formatAgo(b.createdAt), title: (b) => formatFull(b.createdAt) },
    {
      header: 'Actions',
      hideHeader: true,
      className: 'num',
      cell: (b) => (
        <button type="button" className="button small danger" aria-label={`Revoke @${b.bot.username}`} onClick={() => void revoke(b)}>
          Revoke
        </button>
      ),
    },
  ];

  return (
    <section className="admin-card" aria-labelledby="bots-heading">
      <h2 id="bots-heading">Bots</h2>
      <p className="hint">
        A bot publishes with <code className="mono">POST /api/rooms/:roomId/messages</code> and connects to <code className="mono">/ws</code> or Socket.IO with its
        token. Invite it to the rooms it may use.
      </p>
      {created && <ShownOnce label={`Token of @${created.username}`} note="Switchboard stores only its hash." value={created.token} onDone={() => setCreated(undefined)} />}
      <form className="inline-form" onSubmit={(e) => void create(e)} aria-label="Create a bot">
        <label className="field">
          <span>Username</span>
          <input name="bot-username" required maxLength={Limits.usernameMax} value={username} onChange={(e) => setUsername(e.target.value)} placeholder="deploy-bot" />
        </label>
        <label className="field">
          <span>
            Display name <span className="optional">(optional)</span>
          </span>
          <input name="bot-display-name" maxLength={Limits.displayNameMax} value={displayName} onChange={(e) => setDisplayName(e.target.value)} placeholder="Deploy bot" />
        </label>
        <button type="submit" className="button primary" disabled={busy || username.trim() === ''}>
          Create bot
        </button>
      </form>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <DataTable label="Bots" columns={botColumns} rows={bots} rowKey={(b) => b.bot.id} empty="No bots yet." />
    </section>
  );
}

function Webhooks({ client, rooms }: { client: SwitchboardClient; rooms: Room[] }) {
  const [roomId, setRoomId] = useState<string | undefined>(rooms[0]?.id);
  const [hooks, setHooks] = useState<WebhookInfo[] | undefined>();
  const [url, setUrl] = useState('');
  const [created, setCreated] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  /** The webhook whose delivery attempts are open under its row. */
  const [open, setOpen] = useState<string | undefined>();

  useEffect(() => {
    if (roomId === undefined || !rooms.some((r) => r.id === roomId)) setRoomId(rooms[0]?.id);
  }, [rooms, roomId]);

  const load = useCallback(async () => {
    if (roomId === undefined) return;
    try {
      setHooks(await client.integrations.listWebhooks(roomId));
    } catch (err) {
      setError(describeError(err));
    }
  }, [client, roomId]);
  useEffect(() => {
    setHooks(undefined);
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [load]);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    if (roomId === undefined) return;
    setBusy(true);
    setError(undefined);
    try {
      const { secret } = await client.integrations.createWebhook(roomId, url.trim());
      setCreated(secret);
      setUrl('');
      await load();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const remove = async (hook: WebhookInfo) => {
    if (!window.confirm(`Remove the webhook to ${hook.url}?`)) return;
    setError(undefined);
    try {
      await client.integrations.deleteWebhook(hook.id);
      await load();
    } catch (err) {
      setError(describeError(err));
    }
  };

  const hookColumns: Column<WebhookInfo>[] = [
    { header: 'URL', rowHeader: true, className: 'mono webhook-url', cell: (h) => h.url, title: (h) => h.url },
    { header: 'State', cell: (h) => <DeliveryState hook={h} /> },
    { header: 'Delivered up to', className: 'num', cell: (h) => `#${h.deliveredSeq}` },
    { header: 'Waiting', className: 'num', cell: (h) => h.pending },
    { header: 'Last status', className: 'num', cell: (h) => h.lastStatus ?? '–' },
    { header: 'Last error', className: 'error-message', cell: (h) => h.lastError ?? '' },
    {
      header: 'Actions',
      hideHeader: true,
      cell: (h) => (
        <div className="row-actions">
          <button
            type="button"
            className="button small"
            aria-expanded={open === h.id}
            aria-controls={open === h.id ? `deliveries-${h.id}` : undefined}
            aria-label={`Deliveries to ${h.url}`}
            onClick={() => setOpen(open === h.id ? undefined : h.id)}
          >
            Deliveries
          </button>
          <button type="button" className="button small danger" aria-label={`Remove the webhook to ${h.url}`} onClick={() => void remove(h)}>
            Remove
          </button>
        </div>
      ),
    },
  ];

  return (
    <section className="admin-card" aria-labelledby="webhooks-heading">
      <div className="admin-card-header">
        <h2 id="webhooks-heading">Webhooks</h2>
        <label className="room-picker">
          <span>Room</span>
          <select value={roomId ?? ''} onChange={(e) => setRoomId(e.target.value)} disabled={rooms.length === 0}>
            {rooms.map((r) => (
              <option key={r.id} value={r.id}>
                #{r.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      <p className="hint">
        Every new message of the room is POSTed to the URL as JSON, in order, signed in <code className="mono">X-Switchboard-Signature</code> (HMAC-SHA256 with the
        secret), and retried with backoff for 24 hours.
      </p>
      {rooms.length === 0 ? (
        <p className="hint">Join or create a room to add webhooks to it.</p>
      ) : (
        <>
          {created && <ShownOnce label="Signing secret" note="The receiver checks each delivery's signature with it." value={created} onDone={() => setCreated(undefined)} />}
          <form className="inline-form" onSubmit={(e) => void create(e)} aria-label="Add a webhook">
            <label className="field grow">
              <span>URL</span>
              <input name="webhook-url" type="url" required maxLength={2000} value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://example.com/hooks/switchboard" />
            </label>
            <button type="submit" className="button primary" disabled={busy || url.trim() === ''}>
              Add webhook
            </button>
          </form>
          {error && (
            <p className="form-error" role="alert">
              {error}
            </p>
          )}
          <DataTable
            label="Webhooks"
            columns={hookColumns}
            rows={hooks}
            rowKey={(h) => h.id}
            empty="No webhooks in this room."
            detail={(h) => (open === h.id ? { id: `deliveries-${h.id}`, content: <DeliveryList client={client} hook={h} /> } : undefined)}
          />
        </>
      )}
    </section>
  );
}

export function IntegrationsView({ client, rooms }: { client: SwitchboardClient; rooms: Room[] }) {
  return (
    <div className="admin integrations">
      <Bots client={client} />
      <Webhooks client={client} rooms={rooms} />
    </div>
  );
}
