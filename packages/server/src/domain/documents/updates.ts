/**
 * Checks and edits of Yjs data done with Yjs itself: whether bytes a client sent are an update
 * that can be stored, the text of a stored state, and the edit that turns a live document's text
 * into another text.
 */
import { simpleDiffString } from 'lib0/diff';
import { DOC_TEXT_NAME } from '@switchboard/protocol';
import * as Y from 'yjs';

/**
 * What `update` is: `invalid` unless it decodes as a Yjs update and integrates into an empty
 * document without an error; `empty` when it holds no change at all (a sync step 2 of a client
 * that has nothing new); `ok` otherwise. Checked before an update is stored, so a malformed one
 * never reaches the log (where it would break every later load) nor, partly applied, a live
 * document.
 */
export function updateKind(update: Uint8Array): 'invalid' | 'empty' | 'ok' {
  const probe = new Y.Doc({ gc: false });
  try {
    const { structs, ds } = Y.decodeUpdate(update);
    Y.applyUpdate(probe, update);
    return structs.length === 0 && ds.clients.size === 0 ? 'empty' : 'ok';
  } catch {
    return 'invalid';
  } finally {
    probe.destroy();
  }
}

/** Whether `stateVector` decodes as a Yjs state vector. */
export function isValidStateVector(stateVector: Uint8Array): boolean {
  try {
    Y.decodeStateVector(stateVector);
    return true;
  } catch {
    return false;
  }
}

/** The `content` text of a stored state. */
export function textOf(state: Uint8Array): string {
  const doc = new Y.Doc();
  try {
    Y.applyUpdate(doc, state);
    return doc.getText(DOC_TEXT_NAME).toString();
  } finally {
    doc.destroy();
  }
}

/**
 * The update that changes `doc`'s `content` into `target`: one deletion and one insertion where
 * the texts differ, made on a copy so that `doc` itself only changes once the update is stored.
 * Undefined when the texts are equal.
 */
export function editToText(doc: Y.Doc, target: string): Uint8Array | undefined {
  const copy = new Y.Doc();
  try {
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
    const text = copy.getText(DOC_TEXT_NAME);
    const { index, remove, insert } = simpleDiffString(text.toString(), target);
    if (remove === 0 && insert.length === 0) return undefined;
    const before = Y.encodeStateVector(copy);
    copy.transact(() => {
      if (remove > 0) text.delete(index, remove);
      if (insert.length > 0) text.insert(index, insert);
    });
    return Y.encodeStateAsUpdate(copy, before);
  } finally {
    copy.destroy();
  }
}

/** The compacted state of a snapshot and updates: one update, deleted content collected. */
export function compactState(snapshot: Uint8Array | null, updates: readonly Uint8Array[]): Uint8Array {
  const doc = new Y.Doc();
  try {
    doc.transact(() => {
      if (snapshot) Y.applyUpdate(doc, snapshot);
      for (const update of updates) Y.applyUpdate(doc, update);
    });
    return Y.encodeStateAsUpdate(doc);
  } finally {
    doc.destroy();
  }
}
