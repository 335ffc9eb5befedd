/**
 * What the plain transports write for a feed event, encoded once per event rather than once per
 * connection: every listener of the feed (feed.ts) is handed the same data object, so its JSON is
 * made once and shared by every `/ws` connection and SSE reader, and the `/ws` frame of each event
 * name is made once too — down to the WebSocket frame header, as Socket.IO does for a broadcast
 * (socket.io-adapter's `_encode` builds it with `ws`'s `Sender.frame`). Per connection only the
 * write remains.
 *
 * Objects read back from the database for one connection (a replay) get their own entry, which is
 * dropped with them: the cache is keyed weakly by the data object.
 */
import type { GatewayEventName, GatewayEvents } from '@switchboard/protocol';
import * as wsLibrary from 'ws';

/**
 * `ws`'s frame writer: `Sender.frame` is public API of `ws` (the `Sender` export), which
 * @types/ws leaves out.
 */
const { Sender } = wsLibrary as unknown as {
  Sender: { frame(data: Buffer, options: { readOnly: boolean; mask: boolean; rsv1: boolean; opcode: number; fin: boolean }): Buffer[] };
};

/** A `/ws` text frame shared by every connection. */
export interface SharedFrame {
  /** The whole WebSocket frame, header and payload, unmasked and uncompressed (a server's frame), as the one-buffer list `ws`'s `sendFrame` takes. */
  readonly wire: readonly [Buffer];
  /** The payload alone (a view into `wire`), for a connection that must let `ws` frame it. */
  readonly payload: Buffer;
}

interface Encoded {
  json: string;
  frames?: Partial<Record<GatewayEventName, SharedFrame>>;
}

const encoded = new WeakMap<object, Encoded>();

function entryOf(data: object): Encoded {
  let entry = encoded.get(data);
  if (!entry) {
    entry = { json: JSON.stringify(data) };
    encoded.set(data, entry);
  }
  return entry;
}

/** The JSON of a feed event's data (an SSE `data:` line), made once per data object. */
export function dataJson(data: object): string {
  return entryOf(data).json;
}

/** TEXT frame, FIN set, RSV1 clear (not compressed), unmasked: what a server sends (RFC 6455 §5.2). */
const TEXT_FRAME = { readOnly: false, mask: false, rsv1: false, opcode: 1, fin: true } as const;

/** The `/ws` event frame `{"type":"event","event":…,"data":…}` of a feed event, made once per data object and event. */
export function gatewayEventFrame<E extends GatewayEventName>(event: E, data: GatewayEvents[E]): SharedFrame {
  const entry = entryOf(data);
  const frames = (entry.frames ??= {});
  let frame = frames[event];
  if (!frame) {
    // The same text as JSON.stringify({ type: 'event', event, data }), around the shared JSON.
    const payload = Buffer.from(`{"type":"event","event":${JSON.stringify(event)},"data":${entry.json}}`);
    const whole = Buffer.concat(Sender.frame(payload, TEXT_FRAME));
    frame = { wire: [whole], payload: whole.subarray(whole.length - payload.length) };
    frames[event] = frame;
  }
  return frame;
}
