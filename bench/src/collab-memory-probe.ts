/**
 * Where a collaborative document's memory goes, on Switchboard or on the bench's Hocuspocus peer:
 * opens `--docs` documents with `--clients` editors each (the collab scenario's providers, see
 * collab.ts), writes `--chars` characters into each, and prints the server's memory per document
 * after forced collections (bench/src/collab-memory-host.ts): RSS, V8 heap used, array buffers,
 * and the resident bytes of the main malloc arena (`brk`, native allocations) and of anonymous
 * mappings (`anon`, mostly the V8 heap). Running it with 1 and then 2 clients per document tells
 * the cost of a document from the cost of a connection. `--snapshot PREFIX` also writes heap
 * snapshots before and after, to compare in Chromium's memory tool.
 *
 *   node --conditions=source --import tsx bench/src/collab-memory-probe.ts --target switchboard --docs 200 --clients 1
 *
 * Not part of `npm run bench`: it forces collections, which the bench's RSS figures do not.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { createRooms } from './accounts.js';
import type { HostMessage, HostRequest, MemorySample } from './collab-memory-host.js';
import { freePort, removeDir, sleep, tempDir } from './procs.js';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'switchboard' },
    docs: { type: 'string', default: '200' },
    clients: { type: 'string', default: '1' },
    chars: { type: 'string', default: '2000' },
    /** Distinct Switchboard accounts the editors use, round-robin (the collab scenario: 50). */
    users: { type: 'string', default: '50' },
    snapshot: { type: 'string' },
  },
});
const target = values.target === 'hocuspocus' ? 'hocuspocus' : 'switchboard';
const docs = Number(values.docs);
const clients = Number(values.clients);
const chars = Number(values.chars);
const users = Number(values.users);

interface Editor {
  doc: Y.Doc;
  synced(): boolean;
  destroy(): void;
}

const WebSocketPolyfill = WebSocket as unknown as typeof globalThis.WebSocket;

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The host process, and a way to ask it for a sample or a snapshot (one request at a time). */
function startHost(port: number, dataDir: string): { child: ChildProcess; ready: Promise<void>; ask(request: HostRequest): Promise<HostMessage> } {
  const child = fork(new URL('./collab-memory-host.ts', import.meta.url).pathname, [target], {
    // Hocuspocus runs its published build, as in the bench (procs.ts).
    execArgv: ['--expose-gc', ...(target === 'switchboard' ? ['--conditions=source'] : []), '--import', 'tsx'],
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, HOCUSPOCUS_STORE: 'snapshot', HOCUSPOCUS_DB: join(dataDir, 'hocuspocus.db') },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let answer: ((message: HostMessage) => void) | undefined;
  const ready = new Promise<void>((resolve) => {
    child.on('message', (message: HostMessage) => {
      if (message.type === 'ready') resolve();
      else answer?.(message);
    });
  });
  return {
    child,
    ready,
    ask: (request) =>
      new Promise((resolve) => {
        answer = resolve;
        child.send(request);
      }),
  };
}

async function register(url: string, username: string): Promise<{ accessToken: string; user: { id: string } }> {
  const res = await fetch(`${url}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'bench-password' }),
  });
  if (res.status !== 201) throw new Error(`register ${username}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as { accessToken: string; user: { id: string } };
}

/** Creates the documents; returns their names and how to open one as the `index`-th editor. */
async function prepare(url: string): Promise<{ names: string[]; open: (name: string, index: number) => Editor }> {
  if (target === 'hocuspocus') {
    const open = (name: string): Editor => {
      const doc = new Y.Doc();
      const socket = new HocuspocusProviderWebsocket({ url: url.replace(/^http/, 'ws'), WebSocketPolyfill });
      const provider = new HocuspocusProvider({ websocketProvider: socket, name, document: doc });
      provider.attach();
      return { doc, synced: () => provider.isSynced, destroy: () => (provider.destroy(), socket.destroy(), doc.destroy()) };
    };
    return { names: Array.from({ length: docs }, (_, i) => `doc-${i}`), open };
  }
  const owner = await register(url, 'probe_owner');
  const accounts: Array<{ accessToken: string; user: { id: string } }> = [];
  for (let i = 0; i < users; i++) accounts.push(await register(url, `probe_${i}`));
  const [roomId] = await createRooms(url, owner.accessToken, [{ name: 'probe', memberIds: accounts.map((a) => a.user.id) }]);
  const names: string[] = [];
  for (let i = 0; i < docs; i++) {
    const res = await fetch(`${url}/api/rooms/${roomId}/docs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: `Probe ${i}` }),
    });
    names.push(((await res.json()) as { doc: { id: string } }).doc.id);
  }
  const open = (docId: string, index: number): Editor => {
    const doc = new Y.Doc();
    const provider = new WebsocketProvider(`${url.replace(/^http/, 'ws')}/collab`, docId, doc, {
      WebSocketPolyfill,
      params: { token: accounts[index % users]?.accessToken ?? '' },
      disableBc: true,
    });
    return { doc, synced: () => provider.synced, destroy: () => (provider.destroy(), doc.destroy()) };
  };
  return { names, open };
}

const dataDir = tempDir('collab-memory-');
const port = await freePort();
const host = startHost(port, dataDir);
const url = `http://127.0.0.1:${port}`;
const editors: Editor[] = [];
try {
  await host.ready;
  const { names, open } = await prepare(url);
  await sleep(1000);
  const sample = async () => ((await host.ask({ type: 'sample' })) as { sample: MemorySample }).sample;
  const before = await sample();
  if (values.snapshot) await host.ask({ type: 'snapshot', path: `${values.snapshot}-${target}-before.heapsnapshot` });
  for (let c = 0; c < clients; c++) names.forEach((name, d) => editors.push(open(name, c * docs + d)));
  await until(() => editors.every((e) => e.synced()), 60_000, 'every editor to sync');
  const text = 'm'.repeat(chars);
  for (const editor of editors.slice(0, docs)) editor.doc.getText('content').insert(0, text);
  await until(() => editors.every((e) => e.doc.getText('content').length === chars), 60_000, 'every editor to hold the text');
  await sleep(3000);
  const after = await sample();
  if (values.snapshot) await host.ask({ type: 'snapshot', path: `${values.snapshot}-${target}-after.heapsnapshot` });
  const perDoc = Object.fromEntries(Object.keys(after).map((key) => {
    const k = key as keyof MemorySample;
    return [k, Math.round((after[k] - before[k]) / docs)];
  }));
  console.log(JSON.stringify({ target, docs, clients, chars, bytesPerDoc: perDoc }));
} finally {
  for (const editor of editors) editor.destroy();
  host.child.kill('SIGKILL');
  removeDir(dataDir);
}
