/**
 * The server side of the collab memory probe (bench/src/collab-memory-probe.ts): runs Switchboard
 * (its sources, in this process) or the bench's Hocuspocus peer, and answers the probe over IPC
 * with memory figures taken after forced collections. Run with `--expose-gc`.
 *
 * A figure is `process.memoryUsage()` plus the resident bytes of the process's mappings by kind
 * (`brk`: the main malloc arena, where native allocations of the main thread go; `anon`: the V8
 * heap pages and other arenas), so native memory shows apart from the JavaScript heap.
 */
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';

export type HostRequest = { type: 'sample' } | { type: 'snapshot'; path: string };
export type HostMessage = { type: 'ready' } | { type: 'sample'; sample: MemorySample } | { type: 'snapshot' };

export interface MemorySample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  arrayBuffers: number;
  brk: number;
  anon: number;
}

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const send = (message: HostMessage) => process.send?.(message);

/** Several full collections, with a turn of the event loop between them for finalizers. */
async function collect(collector: () => void): Promise<void> {
  for (let i = 0; i < 6; i++) {
    collector();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function residentByMapping(): { brk: number; anon: number } {
  let brk = 0;
  let anon = 0;
  let kind: 'brk' | 'anon' | 'other' = 'other';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      const name = (header[1] ?? '').trim();
      kind = name === '[heap]' ? 'brk' : name === '' ? 'anon' : 'other';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && kind === 'brk') brk += Number(rss[1]) * 1024;
    if (rss && kind === 'anon') anon += Number(rss[1]) * 1024;
  }
  return { brk, anon };
}

process.on('message', (request: HostRequest) => {
  void collect(gc).then(() => {
    if (request.type === 'snapshot') {
      v8.writeHeapSnapshot(request.path);
      return send({ type: 'snapshot' });
    }
    const { rss, heapUsed, heapTotal, arrayBuffers } = process.memoryUsage();
    send({ type: 'sample', sample: { rss, heapUsed, heapTotal, arrayBuffers, ...residentByMapping() } });
  });
});

if (process.argv[2] === 'switchboard') {
  const { createServer } = await import('../../packages/server/src/server.js');
  const server = await createServer({
    PORT: Number(process.env.PORT),
    HOST: '127.0.0.1',
    DATA_DIR: process.env.DATA_DIR,
    LOG_LEVEL: 'error',
    RATE_LIMITS: 'off',
    SCRYPT_COST: 1024,
  });
  await server.listen();
} else {
  await import('./hocuspocus-server.js');
  // It listens once its extensions are set up; the probe polls its port anyway.
}
send({ type: 'ready' });
