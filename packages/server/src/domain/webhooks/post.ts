/**
 * Outgoing webhooks as JSON POSTs: alerts (`ALERT_WEBHOOK_URL`, PROTOCOL §7), retried here with
 * backoff when the receiver fails or cannot be reached, and rooms' messages (§8, room-webhooks.ts).
 *
 * Unless WEBHOOK_ALLOW_PRIVATE is on, a webhook never reaches a loopback, private, link-local or
 * otherwise internal address: the check runs in the connection's own DNS lookup, so the address
 * checked is the address connected to (a name that resolves differently the second time cannot
 * slip past it), and redirects are not followed. Written on node:http because `fetch` has no
 * lookup hook without an extra HTTP client library.
 */
import type { LookupAddress, LookupOneOptions } from 'node:dns';
import { lookup as dnsLookup, promises as dnsPromises } from 'node:dns';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP } from 'node:net';
import type { Logger } from 'pino';

export const WebhookDefaults = {
  /** Attempts in all, the first included. */
  attempts: 4,
  /** Delay before the first retry, ms; doubles with each further one. */
  firstRetryMs: 1000,
  /** Each attempt's time limit, ms. */
  timeoutMs: 5000,
} as const;

/** Addresses a webhook may not reach unless WEBHOOK_ALLOW_PRIVATE is on. */
const INTERNAL = (() => {
  const list = new BlockList();
  for (const [net, prefix] of [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    ['224.0.0.0', 3],
  ] as const) {
    list.addSubnet(net, prefix, 'ipv4');
  }
  for (const [net, prefix] of [
    ['::', 127],
    ['64:ff9b::', 96],
    ['fc00::', 7],
    ['fe80::', 10],
    ['ff00::', 8],
  ] as const) {
    list.addSubnet(net, prefix, 'ipv6');
  }
  return list;
})();

export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  // An IPv4-mapped IPv6 address is as internal as the IPv4 address it maps.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped !== undefined) return INTERNAL.check(mapped, 'ipv4');
  return INTERNAL.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A DNS lookup that fails for internal addresses. */
function externalOnlyLookup(hostname: string, options: LookupOneOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const allowed = addresses.filter((a) => !isInternalAddress(a.address));
    if (allowed.length === 0) {
      const refused: NodeJS.ErrnoException = new Error(`${hostname} resolves to an internal address (WEBHOOK_ALLOW_PRIVATE is off)`);
      refused.code = 'EINTERNAL';
      return callback(refused, []);
    }
    if ((options as { all?: boolean }).all) return callback(null, allowed);
    const first = allowed[0] as LookupAddress;
    callback(null, first.address, first.family);
  });
}

export class WebhookSender {
  constructor(
    private readonly url: URL,
    private readonly options: { allowPrivate: boolean; log: Logger; attempts?: number; firstRetryMs?: number },
  ) {}

  /** POSTs `body` as JSON, retrying; resolves whether or not it was delivered (failures are logged). */
  async post(body: object): Promise<boolean> {
    const attempts = this.options.attempts ?? WebhookDefaults.attempts;
    let delay = this.options.firstRetryMs ?? WebhookDefaults.firstRetryMs;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const status = await postOnce(this.url, JSON.stringify(body), {}, this.options.allowPrivate);
        if (status >= 200 && status < 300) return true;
        // A receiver that refuses the request as such (4xx other than 408/429) will refuse it again.
        if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
          this.options.log.warn({ status, url: this.url.origin }, 'alert webhook refused the alert');
          return false;
        }
        this.options.log.warn({ status, attempt, url: this.url.origin }, 'alert webhook failed');
      } catch (err) {
        this.options.log.warn({ err, attempt, url: this.url.origin }, 'alert webhook could not be delivered');
        if ((err as NodeJS.ErrnoException).code === 'EINTERNAL') return false;
      }
      if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, delay));
      delay *= 2;
    }
    return false;
  }

}

/**
 * One POST of `payload` (JSON) to `url`, never to an internal address unless `allowPrivate`;
 * resolves to the answer's status. Redirects are not followed. Fails with code `EINTERNAL` for an
 * internal address, `ETIMEDOUT` for no answer in time, else with the connection's own error.
 */
export function postOnce(url: URL, payload: string, headers: Record<string, string>, allowPrivate: boolean): Promise<number> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!allowPrivate && isIP(host) !== 0 && isInternalAddress(host)) {
    const refused: NodeJS.ErrnoException = new Error(`${host} is an internal address (WEBHOOK_ALLOW_PRIVATE is off)`);
    refused.code = 'EINTERNAL';
    return Promise.reject(refused);
  }
  const options: RequestOptions = {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'user-agent': 'Switchboard-Webhooks' },
    timeout: WebhookDefaults.timeoutMs,
    ...(allowPrivate ? {} : { lookup: externalOnlyLookup as RequestOptions['lookup'] }),
  };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, options, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => {
      const timedOut: NodeJS.ErrnoException = new Error(`no answer within ${WebhookDefaults.timeoutMs} ms`);
      timedOut.code = 'ETIMEDOUT';
      req.destroy(timedOut);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Whether a webhook may target `url`: http(s), and (unless `allowPrivate`) no internal address as resolved now. */
export async function targetAllowed(url: URL, allowPrivate: boolean): Promise<boolean> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (allowPrivate) return true;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) return !isInternalAddress(host);
  try {
    const addresses = await dnsPromises.lookup(host, { all: true });
    return addresses.length > 0 && addresses.every((a) => !isInternalAddress(a.address));
  } catch {
    return false;
  }
}
