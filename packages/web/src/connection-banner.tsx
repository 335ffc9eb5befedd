/** The connection banner: "Reconnecting…" while the connection is down, "Back online" when it returns. */
import type { ConnectionState } from '@switchboard/client';

export function ConnectionBanner({ connection, backOnline, pending }: { connection: ConnectionState; backOnline: boolean; pending: number }) {
  let text: string | undefined;
  let kind = 'info';
  if (connection === 'reconnecting') {
    text = pending > 0 ? `Connection lost. Reconnecting… ${pending} message${pending === 1 ? '' : 's'} will be sent when you are back.` : 'Connection lost. Reconnecting…';
    kind = 'warning';
  } else if (connection === 'connected' && backOnline) {
    text = 'Back online.';
    kind = 'success';
  }
  return (
    <div className="banner-slot" role="status" aria-live="polite">
      {text && (
        <div className={`banner ${kind}`} data-testid="connection-banner" data-connection={connection}>
          {kind === 'warning' && <span className="spinner" aria-hidden="true" />}
          {text}
        </div>
      )}
    </div>
  );
}
