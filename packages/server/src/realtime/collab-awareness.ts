/**
 * Who may change which awareness state of a document (PROTOCOL §5, docs/protocol.md §7.2): an
 * awareness client id belongs to the connection that introduced it, and only that connection may
 * update or remove its state; when the connection closes, exactly its states are removed — what
 * the y-websocket server does, made a rule, so one client cannot forge or erase another's cursor.
 *
 * Entries for client ids a connection does not own are dropped silently rather than refused: the
 * stock `WebsocketProvider` sends back every awareness change it hears of, its peers' included
 * (and their removals once it considers them outdated), so refusing them would cut off every
 * unmodified client. y-protocols has no hook to filter an update by client id, so the update is
 * parsed here and the permitted entries encoded again in its own format.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

/** One entry of an awareness update, as sent. */
export interface AwarenessEntry {
  clientId: number;
  clock: number;
  /** The state as JSON text; `"null"` removes it. */
  state: string;
}

/** The entries of an awareness update; throws unless the update is well formed, whole and nothing more. */
export function parseAwarenessUpdate(update: Uint8Array): AwarenessEntry[] {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  const entries: AwarenessEntry[] = [];
  for (let i = 0; i < count; i++) {
    const clientId = decoding.readVarUint(decoder);
    const clock = decoding.readVarUint(decoder);
    const state = decoding.readVarString(decoder);
    JSON.parse(state);
    entries.push({ clientId, clock, state });
  }
  if (decoding.hasContent(decoder)) throw new Error('trailing bytes');
  return entries;
}

/** The awareness update made of `entries` (the format y-protocols' `encodeAwarenessUpdate` writes). */
export function encodeAwarenessEntries(entries: readonly AwarenessEntry[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, entries.length);
  for (const { clientId, clock, state } of entries) {
    encoding.writeVarUint(encoder, clientId);
    encoding.writeVarUint(encoder, clock);
    encoding.writeVarString(encoder, state);
  }
  return encoding.toUint8Array(encoder);
}

/** The awareness client ids of one document on this node, each with the connection that owns it. */
export class AwarenessOwners<Owner> {
  private readonly owners = new Map<number, Owner>();
  private readonly owned = new Map<Owner, Set<number>>();

  /**
   * The entries `owner` may apply: those of ids it owns, and of new ids it introduces with a state
   * (which it owns from now on). An id another connection owns, or whose state is `present` in the
   * document from elsewhere (another node's client), is not taken over; neither is a removal of an
   * id nobody here owns.
   */
  permitted(owner: Owner, entries: readonly AwarenessEntry[], present: (clientId: number) => boolean): AwarenessEntry[] {
    return entries.filter(({ clientId, state }) => {
      const current = this.owners.get(clientId);
      if (current !== undefined) return current === owner;
      if (state === 'null' || present(clientId)) return false;
      this.owners.set(clientId, owner);
      let ids = this.owned.get(owner);
      if (!ids) this.owned.set(owner, (ids = new Set()));
      ids.add(clientId);
      return true;
    });
  }

  /** Forgets `owner` (its connection closed); returns the ids it owned, whose states are to be removed. */
  release(owner: Owner): number[] {
    const ids = [...(this.owned.get(owner) ?? [])];
    this.owned.delete(owner);
    for (const id of ids) this.owners.delete(id);
    return ids;
  }
}
