import { runLoad } from './fanout.js';
import { installCleanup, killAll } from './procs.js';
import { withBaseline } from './servers.js';
installCleanup();
const t0 = Date.now();
const log = (l: string) => console.error(`[${((Date.now() - t0) / 1000).toFixed(1)}] ${l}`);
const rooms = Number(process.argv[2]), rate = Number(process.argv[3]);
const roomOf = Array.from({ length: rate * 5 }, () => Math.floor(Math.random() * rooms));
const senderOf = roomOf.map((r) => r * 5 + Math.floor(Math.random() * 5));
const r = await withBaseline((server) => runLoad(server, 'baseline', {
  roomIds: Array.from({ length: rooms }, (_, i) => `r${i}`),
  clients: Array.from({ length: rooms * 5 }, (_, i) => ({ sender: i, room: Math.floor(i / 5) })),
  rate, seconds: 5, workers: 2, drainSeconds: 10, textLength: 120, senderOf, roomOf, connectConcurrency: 50,
}, log));
console.log(JSON.stringify({ lat: r.latencyMs, dps: r.deliveriesPerSecond, server: r.server, gen: r.loadGenerator }));
killAll();
