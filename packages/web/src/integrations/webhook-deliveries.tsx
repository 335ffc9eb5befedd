/**
 * A webhook's delivery attempts on the Integrations page: the state its latest attempt leaves it
 * in, and the list of its recent attempts (the server keeps the newest 100) shown under its row.
 * The list is fetched when opened and again whenever the webhook's latest attempt changes, which
 * the page's periodic refresh of the webhooks reveals.
 */
import type { SwitchboardClient, WebhookDelivery, WebhookDeliveryError, WebhookInfo } from '@switchboard/client';
import { useEffect, useState } from 'react';
import { describeError } from '../errors.js';
import { formatAgo, formatFull } from '../ui/format.js';

/** Retries come seconds apart: attempts are timed to the second. */
const attemptTime = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });

const ERROR_LABELS: Record<WebhookDeliveryError, string> = {
  HTTP_STATUS: 'HTTP error',
  TIMEOUT: 'timeout',
  INTERNAL_ADDRESS: 'internal address refused',
  CONNECTION_FAILED: 'connection failed',
};

/** "204", "HTTP 500", "timeout": what one attempt came to, in a few words. */
function resultLabel(delivery: WebhookDelivery): string {
  if (delivery.status !== null) return delivery.ok ? String(delivery.status) : `HTTP ${delivery.status}`;
  return delivery.errorCode === null ? '–' : ERROR_LABELS[delivery.errorCode];
}

/** Where a webhook's deliveries stand, from its latest attempt: delivered, failing (why), or nothing yet. */
export function DeliveryState({ hook }: { hook: WebhookInfo }) {
  const last = hook.lastDelivery;
  if (last === null) return <span className="hint">no messages yet</span>;
  const when = <span title={formatFull(last.attemptedAt)}>{formatAgo(last.attemptedAt)}</span>;
  if (last.ok) {
    return (
      <span className="delivery-state">
        <span className="delivery ok">delivered</span> {when}
      </span>
    );
  }
  const title = [
    hook.nextAttemptAt === null ? undefined : `Attempt ${hook.attempts + 1} due ${formatFull(hook.nextAttemptAt)}`,
    hook.lastDeliveredAt === null ? 'Nothing delivered yet' : `Last delivered ${formatFull(hook.lastDeliveredAt)}`,
  ]
    .filter((line) => line !== undefined)
    .join('\n');
  return (
    <span className="delivery-state" title={title}>
      <span className="delivery failing">failing</span> <span className="delivery-code">{resultLabel(last)}</span> {when}
    </span>
  );
}

/** The webhook's recent attempts, newest first. */
export function DeliveryList({ client, hook }: { client: SwitchboardClient; hook: WebhookInfo }) {
  const [deliveries, setDeliveries] = useState<WebhookDelivery[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const latest = hook.lastDelivery?.id;

  useEffect(() => {
    let current = true;
    client.integrations.listWebhookDeliveries(hook.roomId, hook.id).then(
      (list) => {
        if (!current) return;
        setDeliveries(list);
        setError(undefined);
      },
      (err: unknown) => {
        if (current) setError(describeError(err));
      },
    );
    return () => {
      current = false;
    };
  }, [client, hook.roomId, hook.id, latest]);

  if (error) {
    return (
      <p className="form-error" role="alert">
        {error}
      </p>
    );
  }
  if (deliveries === undefined) return <p className="hint">Loading…</p>;
  if (deliveries.length === 0) return <p className="hint">No delivery attempts yet.</p>;
  return (
    <table className="data-table delivery-table" aria-label={`Deliveries to ${hook.url}`}>
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col" className="num">Message</th>
          <th scope="col" className="num">Attempt</th>
          <th scope="col">Result</th>
          <th scope="col" className="num">Duration</th>
          <th scope="col">Error</th>
        </tr>
      </thead>
      <tbody>
        {deliveries.map((d) => (
          <tr key={d.id}>
            <td title={formatFull(d.attemptedAt)}>{attemptTime.format(d.attemptedAt)}</td>
            <td className="num">#{d.seq}</td>
            <td className="num">{d.attempt}</td>
            <td>
              <span className={d.ok ? 'delivery ok' : 'delivery failing'}>{resultLabel(d)}</span>
            </td>
            <td className="num">{d.durationMs} ms</td>
            <td className="error-message">{d.errorMessage ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
