/**
 * Collaborative documents beside `@hocuspocus/server` v3, on the same load in the same run:
 *
 * - propagation: E editors on one document make R changes a second in all (round-robin); each
 *   change stamps its send time into the document, and every other editor records when it arrives;
 * - load time: a document of N updates opened cold (not in the server's memory), with the server
 *   compacting its log and without;
 * - memory: the server's RSS per document open (one editor each, some text in it) and per document
 *   once everyone left (what a document costs while nobody uses it).
 *
 * Switchboard is spoken to with the stock y-websocket `WebsocketProvider` (`ws` as its WebSocket),
 * Hocuspocus with its own `HocuspocusProvider`. Every editor runs in this process, so send and
 * arrival times come from one clock. Persistence of the Hocuspocus side: bench/src/hocuspocus-server.ts.
 */
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { createRooms, type Accounts } from './accounts.js';
import { nowUs } from './clock.js';
import { Histogram } from './histogram.js';
import { removeDir, sleep, startHocuspocus, tempDir, type ServerProcess } from './procs.js';
import { ratio } from './results.js';
import { withSwitchboard } from './servers.js';

export interface CollabSize {
  /** Editors on the one document of the propagation measurement. */
  editors: number;
  /** Changes per second, all editors together. */
  rate: number;
  seconds: number;
  /** How long after the last change arrivals may still come before they count as lost. */
  drainSeconds: number;
  /** Updates in the document whose load is timed. */
  loadUpdates: number;
  /** Cold loads timed per configuration; the median is reported. */
  loadRounds: number;
  /** Documents open at once in the memory measurement, one editor each. */
  docs: number;
  /** Characters of text each of those documents holds. */
  docChars: number;
  /** Wait before each memory sample, so set-up garbage can be collected. */
  settleSeconds: number;
  /** Switchboard's COLLAB_IDLE_UNLOAD_S in the memory measurement (its default, 30, in the full run). */
  idleUnloadSeconds: number;
}

export interface PropagationResult {
  editors: number;
  changes: number;
  /** Arrivals expected: every change at every other editor. */
  expected: number;
  received: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
}

export interface CollabSide {
  /** How the server stores documents in this run. */
  storage: string;
  propagation: PropagationResult;
  /** Median cold-load time of a document of `loadUpdates` updates, ms. */
  loadMs: { compacted: number; uncompacted: number };
  memory: { docs: number; perOpenDocKb: number; perIdleDocKb: number };
}

export interface CollabResult {
  switchboard: CollabSide;
  hocuspocus: CollabSide;
  /** Switchboard ÷ Hocuspocus. */
  ratios: { p50: number; p99: number; loadCompacted: number; loadUncompacted: number; perOpenDoc: number; perIdleDoc: number };
}

/** One editor: a Yjs document kept in sync with the server by a provider. */
interface Editor {
  doc: Y.Doc;
  synced(): boolean;
  destroy(): void;
}

/** Opens the document named `docName` as the `index`-th editor. */
type Opener = (docName: string, index: number) => Editor;

const WebSocketPolyfill = WebSocket as unknown as typeof globalThis.WebSocket;

function switchboardEditor(url: string, tokens: readonly string[]): Opener {
  return (docId, index) => {
    const doc = new Y.Doc();
    const provider = new WebsocketProvider(`${url.replace(/^http/, 'ws')}/collab`, docId, doc, {
      WebSocketPolyfill,
      params: { token: tokens[index % tokens.length] ?? '' },
      // Editors of one process would otherwise also sync through a BroadcastChannel, past the server.
      disableBc: true,
    });
    return {
      doc,
      synced: () => provider.synced,
      destroy: () => {
        provider.destroy();
        // Also destroys the provider's awareness, whose timer would keep the bench process alive.
        doc.destroy();
      },
    };
  };
}

function hocuspocusEditor(url: string): Opener {
  return (name) => {
    const doc = new Y.Doc();
    // One socket per editor, as on the Switchboard side (the provider takes a polyfill only through its socket).
    const socket = new HocuspocusProviderWebsocket({ url: url.replace(/^http/, 'ws'), WebSocketPolyfill });
    const provider = new HocuspocusProvider({ websocketProvider: socket, name, document: doc });
    provider.attach();
    return {
      doc,
      synced: () => provider.isSynced,
      destroy: () => {
        provider.destroy();
        socket.destroy();
        doc.destroy();
      },
    };
  };
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function openAll(open: Opener, names: readonly string[]): Promise<Editor[]> {
  const editors = names.map((name, i) => open(name, i));
  await until(() => editors.every((e) => e.synced()), 60_000, `${names.length} editors to sync`);
  return editors;
}

async function medianRss(server: ServerProcess, samples: number): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < samples; i++) {
    if (i > 0) await sleep(500);
    values.push(server.sample().rss);
  }
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)] ?? 0;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const toMs = (micros: number) => Number((micros / 1000).toFixed(2));

/** E editors on `docName`, R changes a second in all, each stamped and timed at every other editor. */
async function propagation(open: Opener, docName: string, size: CollabSize): Promise<PropagationResult> {
  const editors = await openAll(open, Array.from({ length: size.editors }, () => docName));
  const histogram = new Histogram();
  let received = 0;
  for (const editor of editors) {
    // One key per editor, overwritten by each change: `[change number, send time in µs]`.
    const stamps = editor.doc.getMap<[number, number]>('stamps');
    stamps.observe((event, transaction) => {
      if (transaction.local) return;
      const at = nowUs();
      for (const key of event.keysChanged) {
        const stamp = stamps.get(key);
        if (!stamp) continue;
        histogram.record(at - stamp[1]);
        received++;
      }
    });
  }
  const changes = Math.round(size.rate * size.seconds);
  const intervalMs = 1000 / size.rate;
  const start = performance.now();
  try {
    for (let k = 0; k < changes; k++) {
      const wait = start + k * intervalMs - performance.now();
      if (wait > 0) await sleep(wait);
      const author = k % editors.length;
      const { doc } = editors[author]!;
      const text = doc.getText('content');
      doc.transact(() => {
        text.insert(Math.floor(Math.random() * (text.length + 1)), 'x');
        doc.getMap('stamps').set(String(author), [k, nowUs()]);
      });
    }
    const expected = changes * (editors.length - 1);
    await until(() => received >= expected, size.drainSeconds * 1000, 'every change at every editor').catch(() => undefined);
    return {
      editors: editors.length,
      changes,
      expected,
      received,
      latencyMs: {
        p50: toMs(histogram.percentile(50)),
        p90: toMs(histogram.percentile(90)),
        p99: toMs(histogram.percentile(99)),
        max: toMs(histogram.max),
      },
    };
  } finally {
    for (const editor of editors) editor.destroy();
  }
}

/**
 * Writes `loadUpdates` updates to `docName` (one change each), waits until the server has them
 * all and has let the document go, then times `loadRounds` cold opens; returns the median, ms.
 */
async function loadTime(open: Opener, docName: string, size: CollabSize, unloadWaitMs: number): Promise<number> {
  const [writer] = await openAll(open, [docName]);
  const text = writer!.doc.getText('content');
  for (let i = 0; i < size.loadUpdates; i++) text.insert(text.length, 'y');
  const [checker] = await openAll(open, [docName]);
  try {
    await until(() => checker!.doc.getText('content').length === size.loadUpdates, 300_000, `${size.loadUpdates} updates to be stored`);
  } finally {
    writer!.destroy();
    checker!.destroy();
  }
  const times: number[] = [];
  for (let round = 0; round < size.loadRounds; round++) {
    await sleep(unloadWaitMs);
    const started = nowUs();
    const editor = open(docName, round);
    try {
      await until(() => editor.synced() && editor.doc.getText('content').length === size.loadUpdates, 60_000, 'the document to load');
      times.push((nowUs() - started) / 1000);
    } finally {
      editor.destroy();
    }
  }
  return Number(median(times).toFixed(1));
}

/** RSS per document while one editor each has `names` open, and once they all left. */
async function memory(server: ServerProcess, open: Opener, names: readonly string[], size: CollabSize): Promise<CollabSide['memory']> {
  await sleep(size.settleSeconds * 1000);
  const before = await medianRss(server, 3);
  const editors = await openAll(open, names);
  const chunk = 'm'.repeat(size.docChars);
  for (const editor of editors) editor.doc.getText('content').insert(0, chunk);
  await sleep(size.settleSeconds * 1000);
  const open_ = await medianRss(server, 5);
  for (const editor of editors) editor.destroy();
  await sleep((size.idleUnloadSeconds + size.settleSeconds) * 1000);
  const idle = await medianRss(server, 5);
  const perDocKb = (rss: number) => Number(((rss - before) / 1024 / names.length).toFixed(2));
  return { docs: names.length, perOpenDocKb: perDocKb(open_), perIdleDocKb: perDocKb(idle) };
}

async function withHocuspocus<T>(store: 'log' | 'snapshot', body: (server: ServerProcess) => Promise<T>): Promise<T> {
  const dir = tempDir('hocuspocus-bench-');
  try {
    const server = await startHocuspocus(store, `${dir}/hocuspocus.db`);
    try {
      return await body(server);
    } finally {
      await server.stop();
    }
  } finally {
    removeDir(dir);
  }
}

/** Creates `count` documents in a fresh room whose members are the bench's first `members` accounts. */
async function createDocs(url: string, accounts: Accounts, members: number, count: number): Promise<string[]> {
  const [roomId] = await createRooms(url, accounts.owner, [{ name: 'collab', memberIds: accounts.userIds.slice(0, members) }]);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${url}/api/rooms/${roomId}/docs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accounts.owner}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: `Bench ${i}` }),
    });
    if (res.status !== 201) throw new Error(`doc create: HTTP ${res.status} ${await res.text()}`);
    ids.push(((await res.json()) as { doc: { id: string } }).doc.id);
  }
  return ids;
}

const summary = (name: string, p: PropagationResult) =>
  `${name}: ${p.received}/${p.expected} arrivals, p50 ${p.latencyMs.p50} ms, p99 ${p.latencyMs.p99} ms`;

export async function runCollab(accounts: Accounts, size: CollabSize, log: (line: string) => void): Promise<CollabResult> {
  const tokens = accounts.tokens.slice(0, size.editors);
  // A closed document leaves Switchboard's memory within COLLAB_IDLE_UNLOAD_S (1 s here) plus a tick,
  // and Hocuspocus's at once; both get the same wait before each cold load.
  const unloadWaitMs = 3000;
  const loadEnv = (compactAfter?: string) => ({ COLLAB_IDLE_UNLOAD_S: '1', ...(compactAfter ? { COLLAB_COMPACT_AFTER: compactAfter } : {}) });

  log('— collaborative documents: Switchboard —');
  const sbPropagation = await withSwitchboard(accounts.dataDir, {}, async (server) => {
    const [docId] = await createDocs(server.url, accounts, size.editors, 1);
    return propagation(switchboardEditor(server.url, tokens), docId!, size);
  });
  log(summary('switchboard propagation', sbPropagation));
  const sbLoad = async (compactAfter?: string) =>
    withSwitchboard(accounts.dataDir, loadEnv(compactAfter), async (server) => {
      const [docId] = await createDocs(server.url, accounts, size.editors, 1);
      return loadTime(switchboardEditor(server.url, tokens), docId!, size, unloadWaitMs);
    });
  const sbCompacted = await sbLoad();
  // Past any log this bench writes: nothing is ever compacted.
  const sbUncompacted = await sbLoad(String(1_000_000_000));
  log(`switchboard load of ${size.loadUpdates} updates: ${sbCompacted} ms compacted, ${sbUncompacted} ms uncompacted`);
  const sbMemory = await withSwitchboard(accounts.dataDir, { COLLAB_IDLE_UNLOAD_S: String(size.idleUnloadSeconds) }, async (server) => {
    const docIds = await createDocs(server.url, accounts, size.editors, size.docs);
    return memory(server, switchboardEditor(server.url, tokens), docIds, size);
  });
  log(`switchboard memory: ${sbMemory.perOpenDocKb} KB per open document, ${sbMemory.perIdleDocKb} KB per idle one`);

  log('— collaborative documents: Hocuspocus —');
  const hpPropagation = await withHocuspocus('log', (server) => propagation(hocuspocusEditor(server.url), 'bench', size));
  log(summary('hocuspocus propagation', hpPropagation));
  const hpCompacted = await withHocuspocus('snapshot', (server) => loadTime(hocuspocusEditor(server.url), 'load', size, unloadWaitMs));
  const hpUncompacted = await withHocuspocus('log', (server) => loadTime(hocuspocusEditor(server.url), 'load', size, unloadWaitMs));
  log(`hocuspocus load of ${size.loadUpdates} updates: ${hpCompacted} ms as a snapshot, ${hpUncompacted} ms as a log`);
  const hpMemory = await withHocuspocus('snapshot', (server) =>
    memory(server, hocuspocusEditor(server.url), Array.from({ length: size.docs }, (_, i) => `doc-${i}`), size),
  );
  log(`hocuspocus memory: ${hpMemory.perOpenDocKb} KB per open document, ${hpMemory.perIdleDocKb} KB per idle one`);

  const switchboard: CollabSide = {
    storage: 'SQLite: every update appended (fsynced, group commit) before it is relayed; compacted every 200 updates',
    propagation: sbPropagation,
    loadMs: { compacted: sbCompacted, uncompacted: sbUncompacted },
    memory: sbMemory,
  };
  const hocuspocus: CollabSide = {
    storage: 'SQLite extension: every update appended (fsynced) after it is relayed (propagation, uncompacted load); whole state stored on its debounce (compacted load, memory)',
    propagation: hpPropagation,
    loadMs: { compacted: hpCompacted, uncompacted: hpUncompacted },
    memory: hpMemory,
  };
  return {
    switchboard,
    hocuspocus,
    ratios: {
      p50: ratio(sbPropagation.latencyMs.p50, hpPropagation.latencyMs.p50),
      p99: ratio(sbPropagation.latencyMs.p99, hpPropagation.latencyMs.p99),
      loadCompacted: ratio(sbCompacted, hpCompacted),
      loadUncompacted: ratio(sbUncompacted, hpUncompacted),
      perOpenDoc: ratio(sbMemory.perOpenDocKb, hpMemory.perOpenDocKb),
      perIdleDoc: ratio(sbMemory.perIdleDocKb, hpMemory.perIdleDocKb),
    },
  };
}
