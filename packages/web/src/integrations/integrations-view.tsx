/**
 * The Integrations page (`/integrations`, admins only): bots — list, create (the token is shown
 * once, right after creation: only its hash is stored), revoke — and a room's webhooks — list with
 * where their deliveries stand (last seq delivered, messages waiting, the latest attempt and its
 * error), each one's recent delivery attempts (webhook-deliveries.tsx), add (the signing secret is
 * shown once), remove. Deliveries are fetched again every few seconds.
 */
import type { BotInfo, Room, SwitchboardClient, WebhookInfo } from '@switchboard/client';
import { Limits } from '@switchboard/protocol';
import { Fragment, useCallback, useEffect, useState, type FormEvent } from 'react';
import { describeError } from '../errors.js';
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
      {bots === undefined ? (
        <p className="hint">Loading…</p>
      ) : bots.length === 0 ? (
        <p className="hint">No bots yet.</p>
      ) : (
        <div className="table-scroll">
          <table className="admin-table" aria-label="Bots">
            <thead>
              <tr>
                <th scope="col">Bot</th>
                <th scope="col">Display name</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {bots.map((b) => (
                <tr key={b.bot.id}>
                  <th scope="row">@{b.bot.username}</th>
                  <td>{b.bot.displayName}</td>
                  <td title={formatFull(b.createdAt)}>{formatAgo(b.createdAt)}</td>
                  <td className="num">
                    <button type="button" className="button small danger" aria-label={`Revoke @${b.bot.username}`} onClick={() => void revoke(b)}>
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
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
          {hooks === undefined ? (
            <p className="hint">Loading…</p>
          ) : hooks.length === 0 ? (
            <p className="hint">No webhooks in this room.</p>
          ) : (
            <div className="table-scroll">
              <table className="admin-table" aria-label="Webhooks">
                <thead>
                  <tr>
                    <th scope="col">URL</th>
                    <th scope="col">State</th>
                    <th scope="col" className="num">Delivered up to</th>
                    <th scope="col" className="num">Waiting</th>
                    <th scope="col" className="num">Last status</th>
                    <th scope="col">Last error</th>
                    <th scope="col">
                      <span className="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {hooks.map((h) => (
                    <Fragment key={h.id}>
                      <tr>
                        <th scope="row" className="mono webhook-url" title={h.url}>
                          {h.url}
                        </th>
                        <td>
                          <DeliveryState hook={h} />
                        </td>
                        <td className="num">#{h.deliveredSeq}</td>
                        <td className="num">{h.pending}</td>
                        <td className="num">{h.lastStatus ?? '–'}</td>
                        <td className="error-message">{h.lastError ?? ''}</td>
                        <td>
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
                        </td>
                      </tr>
                      {open === h.id && (
                        <tr className="deliveries-row" id={`deliveries-${h.id}`}>
                          <td colSpan={7}>
                            <DeliveryList client={client} hook={h} />
                          </td>
                        </tr>
                      )}
                    </Fragment>
                  ))}
                </tbody>
              </table>
            </div>
          )}
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
