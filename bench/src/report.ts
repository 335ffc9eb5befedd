/** Renders a bench run as docs/benchmarks.md. */
import type { LoadResult } from './fanout.js';
import { deliveredRatio } from './gateway.js';
import { difference, growth, sizeRatio } from './format.js';
import type { PgCost } from './multinode.js';
import { ROOM_CREATE_CONCURRENCY } from './rooms.js';
import type { BenchResults, Scenario } from './results.js';
import type { SweepPoint } from './sweep.js';

const n = (value: number) => value.toLocaleString('en-US');
/** Milliseconds with the precision that means something at their size. */
const ms = (value: number) =>
  `${value.toLocaleString('en-US', { maximumFractionDigits: value >= 100 ? 0 : value >= 10 ? 1 : 2 })} ms`;

function table(header: string[], rows: Array<Array<string | number>>): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.map((row) => `| ${row.map((cell) => (typeof cell === 'number' ? n(cell) : cell)).join(' | ')} |`),
  ].join('\n');
}

const times = (a: number, b: number) => (b === 0 ? '–' : `${(a / b).toFixed(2)}×`);

type Row = (label: string, pick: (r: LoadResult) => number, unit?: string, ratio?: boolean) => string[];

/** A table row of one metric: the `left` and `right` columns, then the ratio `measured ÷ reference`. */
function comparisonRow(left: LoadResult, right: LoadResult, measured: LoadResult, reference: LoadResult): Row {
  const cell = (r: LoadResult, pick: (r: LoadResult) => number, unit: string) =>
    unit === ' ms' ? ms(pick(r)) : `${n(pick(r))}${unit}`;
  return (label, pick, unit = '', ratio = true) => [
    label,
    cell(left, pick, unit),
    cell(right, pick, unit),
    ratio ? times(pick(measured), pick(reference)) : '',
  ];
}

/** The rows every fan-out comparison starts with: throughput, latency, and what was lost or doubled. */
function deliveryRows(row: Row): string[][] {
  return [
    row('delivered msg/s (deliveries per second)', (r) => r.deliveriesPerSecond),
    row('latency p50', (r) => r.latencyMs.p50, ' ms'),
    row('latency p90', (r) => r.latencyMs.p90, ' ms'),
    row('latency p99', (r) => r.latencyMs.p99, ' ms'),
    row('latency max', (r) => r.latencyMs.max, ' ms'),
    row('send → ack p50', (r) => r.ackMs.p50, ' ms'),
    row('send → ack p99', (r) => r.ackMs.p99, ' ms'),
    row('deliveries received', (r) => r.deliveries, '', false),
    row('lost deliveries', (r) => r.lost, '', false),
    row('duplicated deliveries', (r) => r.duplicates, '', false),
    row('dropped sockets', (r) => r.disconnects, '', false),
  ];
}

function detailRows(row: Row): string[][] {
  return [
    ...deliveryRows(row),
    row('bytes received per delivery', (r) => r.wireBytesPerDelivery),
    row('server RSS, clients connected, before the load', (r) => r.server.rssBeforeMb, ' MB'),
    row('server RSS peak during the load', (r) => r.server.rssPeakMb, ' MB'),
    row('server CPU time during the load', (r) => r.server.cpuSeconds, ' s'),
  ];
}

const seqCheck = (r: LoadResult) =>
  r.seq
    ? `${n(r.seq.gapFreeReceivers)} of ${n(r.clients)} receivers saw every seq of their room exactly once and in order (${r.seq.gaps} gaps, ${r.seq.outOfOrder} out of order)`
    : 'not run';

const generator = (sb: LoadResult, base: LoadResult) =>
  `Load generator: ${sb.loadGenerator.workers} worker processes, CPU time ${sb.loadGenerator.cpuSeconds.join(' + ')} s (Switchboard run) and
${base.loadGenerator.cpuSeconds.join(' + ')} s (baseline run); worst send lateness against the schedule
${ms(sb.loadGenerator.maxSendLagMs)} / ${ms(base.loadGenerator.maxSendLagMs)}.`;

/**
 * Where a server stops keeping up: the highest offered load at which it still delivered at least
 * 97% of what was offered with a p99 under a second. Past it, messages queue and latency is the
 * queue's length, not a property of the server.
 */
function kneeOf(points: SweepPoint[], side: 'switchboard' | 'baseline', clients: number): SweepPoint | undefined {
  const keptUp = points.filter((p) => p[side].deliveriesPerSecond >= 0.97 * p.offered * clients && p[side].p99 < 1000);
  return keptUp.at(-1);
}

function kneeText(points: SweepPoint[], clients: number): string {
  const describe = (side: 'switchboard' | 'baseline', name: string) => {
    const knee = kneeOf(points, side, clients);
    return knee
      ? `${name} keeps up to ${n(knee.offered)} msg/s offered (${n(knee.offered * clients)} deliveries a second)`
      : `${name} keeps up with none of the points`;
  };
  return `**The knee.** ${describe('switchboard', 'Switchboard')}; ${describe('baseline', 'bare Socket.IO')} (kept up: at least
97% of the offered deliveries per second, p99 under 1 s). Every message is a frame for each of ${n(clients)} sockets, and
writing frames to sockets is most of a busy server's work, so the knee is where one Node process on this machine,
sharing its cores with the load generator, runs out of socket writes a second. Bare Socket.IO makes one system
call per frame. Switchboard hands each socket everything that is waiting for it in one write
(packages/server/src/realtime/write-coalescing.ts): group commit announces a batch of messages at once, so
the busier the room, the more frames each write carries and the fewer writes a message costs. What Switchboard
adds per message (validation, membership, storage, seq) is paid once per message, not once per delivery:
group commit stores every send that arrived while the previous commit was in flight in one transaction.
Past a server's knee it queues; its latency then measures the queue, which grows with the length of the run,
and the ratio between the two servers there moves with the run's noise more than with either server.
`;
}

function sweepSection(results: BenchResults): string {
  const sweep = results.sweep;
  if (!sweep) return '';
  const size = results.sizes.sweep;
  const headline = sweep.points.find((p) => p.headline);
  const pointRows = sweep.points.flatMap((p) => {
    const offered = `${n(p.offered)}${p.headline ? ' (headline)' : ''}`;
    const cells = (s: typeof p.switchboard) => [n(s.deliveriesPerSecond), ms(s.p50), ms(s.p99), ms(s.max), n(s.lost), n(s.duplicates)];
    return [
      [offered, 'Switchboard', String(p.rounds.length), ...cells(p.switchboard), `${n(p.switchboard.gapFreeReceivers ?? 0)} of ${n(p.switchboard.clients)}`,
        `${p.ratios.deliveriesPerSecond.toFixed(2)}×`, `${p.ratios.p50.toFixed(2)}×`, `${p.ratios.p99.toFixed(2)}×`],
      ['', 'bare Socket.IO', String(p.rounds.length), ...cells(p.baseline), '–', '', '', ''],
    ];
  });
  const roundRows = sweep.points
    .filter((p) => p.rounds.length > 1)
    .flatMap((p) =>
      p.rounds.map(({ switchboard: sb, baseline: base }, k) => [
        `${n(p.offered)} msg/s, round ${k + 1}`,
        `${n(sb.deliveriesPerSecond)} / ${n(base.deliveriesPerSecond)}`,
        `${ms(sb.latencyMs.p50)} / ${ms(base.latencyMs.p50)}`,
        `${ms(sb.latencyMs.p99)} / ${ms(base.latencyMs.p99)}`,
        times(sb.latencyMs.p99, base.latencyMs.p99),
      ]),
    );
  const first = headline?.rounds[0];
  const detail = first
    ? `### The headline point in detail (round 1 of ${headline.rounds.length})

${table(['metric', 'Switchboard', 'bare Socket.IO', 'Switchboard ÷ baseline'], detailRows(comparisonRow(first.switchboard, first.baseline, first.switchboard, first.baseline)))}

Switchboard's seq check: ${seqCheck(first.switchboard)}.
${generator(first.switchboard, first.baseline)}
`
    : '';
  return `## 1. Latency under load: one room

![p50 and p99 latency against offered load, Switchboard and bare Socket.IO](bench/latency-curve.svg)

${n(size.clients)} clients in one room; ${size.senders} of them send at a fixed rate for ${size.seconds} s, at ${sweep.points.map((p) => `${p.rate}`).join(', ')}
messages a second each: ${sweep.points.map((p) => n(p.offered)).join(', ')} msg/s offered in all. Every message (${size.textLength} characters)
goes to every client, the sender's own sockets included, so each message makes ${n(size.clients)} deliveries. Each sender
stamps its send time into the text and each receiver subtracts it from its own clock on arrival (end-to-end
latency). Deliveries still missing ${size.drainSeconds} s after the last send count as lost. At each point the two servers run
alternately (bare Socket.IO, then Switchboard, then again), each in a fresh process; the headline point
(the issue's shape) is measured ${headline?.rounds.length ?? 0} times each and the table shows the means of the rounds (lost and
doubled: sums; gap-free receivers: the worst round). Past what the machine can deliver, latency is queueing:
it grows with the length of the run, not only with the load.

${table(
  ['offered msg/s', 'server', 'rounds', 'delivered msg/s', 'p50', 'p99', 'max', 'lost', 'doubled', 'gap-free receivers', 'msg/s ÷ baseline', 'p50 ÷ baseline', 'p99 ÷ baseline'],
  pointRows,
)}

${kneeText(sweep.points, size.clients)}
${roundRows.length > 0 ? `
Each round on its own (Switchboard / bare Socket.IO), to show the noise:

${table(['point', 'delivered msg/s', 'p50', 'p99', 'p99 ratio'], roundRows)}
` : ''}
${detail}`;
}

function roomsSection(results: BenchResults): string {
  const r = results.rooms;
  if (!r) return '';
  const size = results.sizes.rooms;
  const { switchboard: sb, baseline: base } = r;
  return `## 2. Many rooms

${n(r.rooms)} rooms of ${r.membersPerRoom} members each, every member a distinct user on its own socket (${n(sb.clients)} sockets).
${n(size.rate)} messages a second for ${size.seconds} s (${n(sb.messages)} messages), each to a random room from a random member of
it, delivered to the room's ${r.membersPerRoom} members: ${n(sb.expectedDeliveries)} deliveries expected. Where the one-room load stresses a
broadcast, this one stresses what every single message costs (validation, membership, storage, its room's
seq). The bare Socket.IO server gets the same rooms and the very same schedule. The rooms and memberships
are made once, before measuring, with \`room:create\` carrying \`memberIds\` (${n(r.rooms)} requests, ${ROOM_CREATE_CONCURRENCY} in flight):
${r.setupSeconds} s including the server's start.

${table(['metric', 'Switchboard', 'bare Socket.IO', 'Switchboard ÷ baseline'], detailRows(comparisonRow(sb, base, sb, base)))}

Switchboard's seq check: ${seqCheck(sb)}.
${generator(sb, base)}
`;
}

function idleSection(results: BenchResults): string {
  const i = results.idle;
  if (!i) return '';
  const size = results.sizes.idle;
  const rows = i.switchboard.rounds.flatMap((sb, k) => {
    const base = i.baseline.rounds[k];
    if (!base) return [];
    const label = i.switchboard.rounds.length > 1 ? `round ${k + 1}: ` : '';
    return [
      [`${label}server RSS before → after`, `${sb.rssBeforeMb} → ${sb.rssAfterMb} MB`, `${base.rssBeforeMb} → ${base.rssAfterMb} MB`, ''],
      [`${label}RSS per idle connection`, growth(sb.perConnectionKb), growth(base.perConnectionKb), sizeRatio(sb.perConnectionKb, base.perConnectionKb)],
    ];
  });
  return `## 3. Idle memory

${n(size.clients)} clients connect (WebSocket, \`/chat\`) and stay idle. Server RSS is sampled before they connect
and after a ${size.settleSeconds} s settle (median of several samples; \`global.gc\` is not exposed in the server process,
so this includes garbage not yet collected). Heap growth comes in steps, so each server is measured in
${size.rounds} fresh process(es), alternating, and the means are compared.

${table(
  ['metric', 'Switchboard', 'bare Socket.IO', 'Switchboard ÷ baseline'],
  [
    ...rows,
    [
      '**mean RSS per idle connection**',
      `**${growth(i.switchboard.perConnectionKb)}**`,
      `**${growth(i.baseline.perConnectionKb)}**`,
      `**${sizeRatio(i.switchboard.perConnectionKb, i.baseline.perConnectionKb, 3)}**`,
    ],
  ],
)}

Each Switchboard client is a distinct user (so the per-user state — presence, its user channel — is counted too).
`;
}

function compressionSection(results: BenchResults): string {
  const c = results.compression;
  if (!c) return '';
  const off = c.variants.find((v) => v.env.WS_COMPRESSION === 'off')?.result;
  const defaultThreshold = c.variants.find((v) => v.env.WS_COMPRESSION === 'on' && !v.env.WS_COMPRESSION_THRESHOLD)?.result;
  const size = results.sizes.compression;
  const findings: string[] = [];
  if (off && defaultThreshold) {
    const perConnectionKb = ((defaultThreshold.server.rssBeforeMb - off.server.rssBeforeMb) * 1024) / size.clients;
    // Below a few KiB the difference is the noise of two processes' heaps, not zlib state.
    const held = difference(perConnectionKb, 2);
    findings.push(
      perConnectionKb >= 2
        ? `With compression on, the server holds ${held} per connection before any ` +
            'message is sent (RSS with the clients connected, on minus off): zlib state for each socket.'
        : perConnectionKb <= -2
          ? `With compression on, the server held ${held} per connection before any message was sent (RSS with ` +
            'the clients connected, on minus off): no zlib state shows, and the gap is the noise between two processes\' heaps.'
          : 'With the clients connected and before any message is sent, the server holds no measurably more memory ' +
            'with compression on than off (RSS, on minus off, within the noise between processes).',
    );
    if (off.wireBytesPerDelivery < 1024 && defaultThreshold.wireBytesPerDelivery < 0.8 * off.wireBytesPerDelivery) {
      findings.push(
        `A delivery of this bench takes about ${off.wireBytesPerDelivery} B uncompressed, below the default ` +
          `\`WS_COMPRESSION_THRESHOLD\` of 1024 B, yet with the default threshold it arrives in ` +
          `${defaultThreshold.wireBytesPerDelivery} B: the threshold is not applied and every message is deflated ` +
          '(ws honours its threshold only when `server_no_context_takeover` is negotiated, and engine.io passes ' +
          'no per-message `compress` flag).',
      );
    }
  }
  const everyMessage = c.variants.find((v) => v.env.WS_COMPRESSION_THRESHOLD === '0')?.result;
  if (off && everyMessage && everyMessage.deliveriesPerSecond < 0.5 * off.deliveriesPerSecond) {
    findings.push(
      'Deflating every message caps fan-out far below the uncompressed rate: permessage-deflate compresses ' +
        'per connection, so one broadcast costs one deflate per receiving socket. Keep `WS_COMPRESSION` off for ' +
        'chat-sized messages, or keep the threshold above them so only large payloads are compressed.',
    );
  }
  return `## 4. WebSocket compression (permessage-deflate)

The one-room fan-out at the headline rate, shortened to ${size.seconds} s (${n(size.clients)} clients, ${size.senders} senders × ${size.rate} msg/s),
against Switchboard with \`WS_COMPRESSION\` off and on (Node's socket.io-client offers the extension by default).
Bytes per delivery are what the clients read from their sockets, divided by the deliveries.

${table(
  [
    'WS_COMPRESSION',
    'delivered msg/s',
    'p50',
    'p99',
    'lost',
    'bytes per delivery',
    'server CPU time',
    'server RSS, clients connected',
    'server peak RSS',
    'msg/s vs off',
    'p99 vs off',
  ],
  c.variants.map(({ label, result: r }) => [
    label,
    n(r.deliveriesPerSecond),
    ms(r.latencyMs.p50),
    ms(r.latencyMs.p99),
    n(r.lost),
    n(r.wireBytesPerDelivery),
    `${r.server.cpuSeconds} s`,
    `${r.server.rssBeforeMb} MB`,
    `${r.server.rssPeakMb} MB`,
    off ? times(r.deliveriesPerSecond, off.deliveriesPerSecond) : '',
    off ? times(r.latencyMs.p99, off.latencyMs.p99) : '',
  ]),
)}
${findings.map((f) => `\n${f}\n`).join('')}`;
}

const pgLine = (cost: PgCost) =>
  `${cost.perMessage.transactions} transactions and ${cost.perMessage.roundTrips} round trips per message`;

function multinodeSection(results: BenchResults): string {
  const mn = results.multinode;
  if (!mn) return '';
  const { single, multi } = mn;
  const size = results.sizes.multinode;
  const row = comparisonRow(single, multi, multi, single);
  const seqLine = (r: LoadResult) =>
    r.seq ? `${n(r.seq.gapFreeReceivers)} of ${n(r.clients)} (${r.seq.gaps} gaps, ${r.seq.outOfOrder} out of order)` : 'not run';
  return `## 5. Multi-node (${mn.nodes} nodes on Redis + PostgreSQL)

The fan-out load again, smaller: ${n(size.clients)} clients in one room, ${size.senders} of them sending ${size.rate} messages a
second each for ${size.seconds} s (${n(multi.messages)} messages, ${n(multi.expectedDeliveries)} deliveries expected). First against **one
node** on PostgreSQL (no Redis), then against **${mn.nodes} nodes** sharing one PostgreSQL database and one Redis
(\`DATABASE_URL\` + \`REDIS_URL\`, the Redis streams adapter): every sender on the first node, the receivers spread
over all ${mn.nodes}, so about ${Math.round((100 * (mn.nodes - 1)) / mn.nodes)} % of the deliveries cross from one node to another. Each run starts
on a fresh copy of a database holding the bench accounts, with its own Redis key prefix. Server memory and CPU
time of the ${mn.nodes} nodes are summed. The nodes reach PostgreSQL through a counting proxy in the bench
(\`bench/src/pg-wire.ts\`, one more loopback hop for both runs alike) that reads the wire protocol's framing:
round trips are the \`Sync\` and \`Query\` messages the servers send, transactions the \`ReadyForQuery\` answers
that end one (status idle), both counted from the first send to the last delivery.

${table(
  ['metric', 'one node', `${mn.nodes} nodes`, `${mn.nodes} nodes ÷ one node`],
  [
    ...deliveryRows(row),
    row('server RSS peak during the load (all nodes)', (r) => r.server.rssPeakMb, ' MB'),
    row('server CPU time during the load (all nodes)', (r) => r.server.cpuSeconds, ' s'),
  ],
)}

Receivers that saw every seq exactly once and in order: ${seqLine(single)} on one node, ${seqLine(multi)} on ${mn.nodes} nodes.

What PostgreSQL does per message sent: **${pgLine(mn.postgres.single)}** on one node, **${pgLine(mn.postgres.multi)}**
on ${mn.nodes} nodes.

${table(
  ['PostgreSQL during the load', 'one node', `${mn.nodes} nodes`],
  [
    ['messages sent', n(mn.postgres.single.messages), n(mn.postgres.multi.messages)],
    ['transactions', n(mn.postgres.single.transactions), n(mn.postgres.multi.transactions)],
    ['round trips', n(mn.postgres.single.roundTrips), n(mn.postgres.multi.roundTrips)],
    ['transactions per message', String(mn.postgres.single.perMessage.transactions), String(mn.postgres.multi.perMessage.transactions)],
    ['round trips per message', String(mn.postgres.single.perMessage.roundTrips), String(mn.postgres.multi.perMessage.roundTrips)],
  ],
)}
`;
}

function monitoringSection(results: BenchResults): string {
  const mon = results.monitoring;
  if (!mon) return '';
  const size = results.sizes.monitoring;
  const { ratios } = mon;
  return `## 6. Monitoring overhead

The one-room fan-out (${n(size.clients)} clients, ${size.senders} senders × ${size.rate} msg/s for ${size.seconds} s) against Switchboard
with \`MONITORING=off\` (no metrics at all) and with monitoring on while it is watched: an admin socket on
\`/monitor\` receives the snapshot every second and \`/metrics\` is scraped every second. Off and on alternate,
${size.rounds} time(s) each, every round on a fresh server.

${table(
  ['round', 'MONITORING', 'delivered msg/s', 'p50', 'p99', 'server CPU time', 'snapshots / scrapes seen'],
  mon.rounds.map((r, i) => [
    String(Math.floor(i / 2) + 1),
    r.monitoring,
    n(r.result.deliveriesPerSecond),
    ms(r.result.latencyMs.p50),
    ms(r.result.latencyMs.p99),
    `${r.result.server.cpuSeconds} s`,
    r.monitoring === 'on' ? `${r.snapshots} / ${r.scrapes}` : '–',
  ]),
)}

On ÷ off (means over the rounds): delivered msg/s **${ratios.deliveriesPerSecond}×**, p50 ${ratios.p50}×, p99 **${ratios.p99}×**,
server CPU time ${ratios.cpuSeconds}×. With monitoring off, p99 moved by ${mon.p99NoiseOff}× between rounds with nothing changed.
`;
}

function gameSection(results: BenchResults): string {
  const game = results.game;
  if (!game) return '';
  const size = results.sizes.game;
  const { switchboard: sb, colyseus: cy } = game;
  const row = (label: string, a: string | number, b: string | number) => [label, a, b];
  // Switchboard's times are a histogram bucket's bound ("≤" it), or over the largest one (null).
  const tick = (times: { overMs?: number }, value: number | null, what: string) => {
    if (value === null) return `> ${ms(times.overMs ?? 0)} (${what})`;
    return `${times.overMs === undefined ? '' : '≤ '}${ms(value)} (${what})`;
  };
  return `## 9. Game: Light Cycles on Switchboard and on Colyseus

${n(size.games)} concurrent quad games on one process at 20 Hz, each with one connected client that rides seat 0 without
steering (three bots ride the other seats) and starts a new game when one ends; measured for ${size.seconds} s after ${size.warmupSeconds} s
of warm-up. Colyseus (\`@colyseus/core\` + \`@colyseus/ws-transport\`) runs Switchboard's own simulation and bots, one room
per game, its state a \`@colyseus/schema\` class updated every tick and patched at 20 Hz (\`bench/src/colyseus-game-server.ts\`);
its clients use \`colyseus.js\`. Switchboard's clients ask for compact ticks (\`game:ticks { mode: "compact" }\`,
docs/protocol.md §6): nothing for a tick in which the cycles only ride on, a change for a turn or a crash, a keyframe once a
second; the SDK's \`GameTickDecoder\` turns them back into every full tick. Bytes are counted on the wire by a TCP proxy that
${size.sampled} of the clients connect through.

Server tick time is the time to step one game one tick on both sides: its bots, its simulation and the state it will send
(Switchboard: the tick and its compact form built; Colyseus: the schema updated), not the sending. Switchboard steps every game
in one pass, in slices of at most 4 ms with I/O between them, and times each game inside the pass (a histogram bucket bound
from \`/metrics\`); Colyseus steps each room on its own interval and times each room. The pass row is Switchboard's whole pass
over every game, its slices added up (sending included). An update is late when it came over two periods later than the ticks
it brought were due after the one before (a compact tick brings every tick since the last one a client foresaw). A client's
skipped ticks are tick numbers it never learned: for Colyseus these include ticks merged into one patch.

${table(
  ['', 'Switchboard', 'Colyseus'],
  [
    row('server tick time p50', tick(sb.tickMs, sb.tickMs.p50, 'game'), tick(cy.tickMs, cy.tickMs.p50, 'room')),
    row('server tick time p99', tick(sb.tickMs, sb.tickMs.p99, 'game'), tick(cy.tickMs, cy.tickMs.p99, 'room')),
    row('pass over every game p99', sb.passMs ? tick(sb.passMs, sb.passMs.p99, 'pass') : '–', '–'),
    row('ticks late or skipped (server)', sb.serverLateTicks, cy.serverLateTicks),
    row('ticks learned per second (all clients)', sb.clients.updatesPerSecond, cy.clients.updatesPerSecond),
    row('messages received per second (all clients)', sb.clients.messagesPerSecond, cy.clients.messagesPerSecond),
    row('updates over 100 ms late at clients', sb.clients.lateUpdates, cy.clients.lateUpdates),
    row('ticks skipped at clients', sb.clients.skippedTicks, cy.clients.skippedTicks),
    row('update lateness p99', ms(sb.clients.gapP99Ms), ms(cy.clients.gapP99Ms)),
    row('bytes per client per second', sb.bytesPerClientPerSecond, cy.bytesPerClientPerSecond),
    row('server CPU', `${sb.server.cpuPercent} % (${sb.server.cpuSeconds} s)`, `${cy.server.cpuPercent} % (${cy.server.cpuSeconds} s)`),
  ],
)}
`;
}

function gatewaySection(results: BenchResults): string {
  const gw = results.gateway;
  if (!gw) return '';
  const size = results.sizes.gateway;
  const runs = [gw.gateway, gw.chat, gw.bareWs];
  const row = (label: string, pick: (r: LoadResult) => string) => [label, ...runs.map(pick)];
  return `## 7. Plain WebSocket (\`/ws\`) fan-out

The one-room fan-out (${n(size.clients)} clients, ${size.senders} senders × ${size.rate} msg/s for ${size.seconds} s, below the sweep's knee) through
three paths, each on a fresh server in the same run: Switchboard's plain-WebSocket gateway **\`/ws\`** (\`ws\` clients:
auth frame, \`subscribe\`, \`publish\` requests, \`message:new\` events), Switchboard's Socket.IO **\`/chat\`** (the
fan-out of section 1), and a **bare \`ws\` relay** (\`bench/src/ws-baseline-server.ts\`: join and broadcast, no auth,
no storage) with the same JSON framing.

${table(
  ['metric', '/ws', '/chat', 'bare ws'],
  [
    row('delivered (received ÷ expected)', (r) => `${(deliveredRatio(r) * 100).toFixed(2)} %`),
    row('delivered msg/s', (r) => n(r.deliveriesPerSecond)),
    row('latency p50', (r) => ms(r.latencyMs.p50)),
    row('latency p99', (r) => ms(r.latencyMs.p99)),
    row('send → ack p50', (r) => ms(r.ackMs.p50)),
    row('lost deliveries', (r) => n(r.lost)),
    row('duplicated deliveries', (r) => n(r.duplicates)),
    row('receivers with every seq once, in order', (r) => (r.seq ? `${n(r.seq.gapFreeReceivers)} of ${n(r.clients)}` : '–')),
    row('server CPU time during the load', (r) => `${r.server.cpuSeconds} s`),
  ],
)}

\`/ws\` ÷ \`/chat\`: delivered ${gw.vsChat.delivered}×, p50 **${gw.vsChat.p50}×**, p99 **${gw.vsChat.p99}×**, server CPU time ${gw.vsChat.cpuSeconds}×.
\`/ws\` ÷ bare \`ws\`: delivered ${gw.vsBareWs.delivered}×, p50 **${gw.vsBareWs.p50}×**, p99 **${gw.vsBareWs.p99}×**, server CPU time ${gw.vsBareWs.cpuSeconds}×.
`;
}

function collabSection(results: BenchResults): string {
  const collab = results.collab;
  if (!collab) return '';
  const size = results.sizes.collab;
  const { switchboard: sb, hocuspocus: hp, ratios } = collab;
  const arrivals = (side: typeof sb) => `${n(side.propagation.received)} of ${n(side.propagation.expected)}`;
  return `## 8. Collaborative documents, beside Hocuspocus

${size.editors} editors on one document make ${size.rate} changes a second in all for ${size.seconds} s; each change is timed
from the editor's local edit to its arrival at every other editor. A document of ${n(size.loadUpdates)} updates is opened
cold (not in the server's memory), ${size.loadRounds} times, median shown. Memory: ${n(size.docs)} documents open with one editor
each (${n(size.docChars)} characters of text), then after everyone left and the unload delay passed. Switchboard is
spoken to with the stock y-websocket provider, \`@hocuspocus/server\` v3 with \`@hocuspocus/provider\`, each on a fresh process.

${table(
  ['', 'Switchboard', 'Hocuspocus', 'Switchboard ÷ Hocuspocus'],
  [
    ['changes arrived', arrivals(sb), arrivals(hp), '–'],
    ['propagation p50', ms(sb.propagation.latencyMs.p50), ms(hp.propagation.latencyMs.p50), `${ratios.p50}×`],
    ['propagation p99', ms(sb.propagation.latencyMs.p99), ms(hp.propagation.latencyMs.p99), `**${ratios.p99}×**`],
    ['propagation max', ms(sb.propagation.latencyMs.max), ms(hp.propagation.latencyMs.max), times(sb.propagation.latencyMs.max, hp.propagation.latencyMs.max)],
    [`load, ${n(size.loadUpdates)} updates compacted`, ms(sb.loadMs.compacted), ms(hp.loadMs.compacted), `${ratios.loadCompacted}×`],
    [`load, ${n(size.loadUpdates)} updates as a log`, ms(sb.loadMs.uncompacted), ms(hp.loadMs.uncompacted), `${ratios.loadUncompacted}×`],
    ['RSS per open document', growth(sb.memory.perOpenDocKb), growth(hp.memory.perOpenDocKb), `**${sizeRatio(sb.memory.perOpenDocKb, hp.memory.perOpenDocKb, 3)}**`],
    ['RSS per idle document', growth(sb.memory.perIdleDocKb), growth(hp.memory.perIdleDocKb), sizeRatio(sb.memory.perIdleDocKb, hp.memory.perIdleDocKb, 3)],
  ],
)}

Storage — Switchboard: ${sb.storage}. Hocuspocus: ${hp.storage}.
`;
}

export function renderMarkdown(results: BenchResults): string {
  const m = results.machine;
  const goals = results.goals.map((g) => [g.name, g.target, g.value, g.met ? 'met' : '**missed**']);
  return `# Benchmarks

Generated by \`npm run bench\` on ${results.startedAt.slice(0, 10)} (${results.startedAt}, ${results.durationSeconds} s).
Do not edit by hand: run the bench again. Raw numbers: \`bench/results/<timestamp>.json\` (not committed).

**Machine:** ${m.cores} × ${m.cpuModel}, ${m.memoryGiB} GiB memory, Node ${m.node}, ${m.os}.

## Goals

${table(['goal', 'target', 'this run', ''], goals)}

## How it is measured

- Both servers run on this machine, each alone in its own child process (so its RSS and CPU time are its
  own), started fresh for every measurement:
  - **Switchboard**: \`node --conditions=source --import tsx packages/server/src/main.ts start\`, SQLite in a fresh
    temporary \`DATA_DIR\`, \`RATE_LIMITS=off\`, \`LOG_LEVEL=warn\`, everything else at its default — so every
    message is validated, authorized, stored durably and sequenced before it is acknowledged and broadcast.
    The bench accounts are registered beforehand on a throwaway server (lowest scrypt cost) whose data
    directory each measured server starts from a copy of.
  - **Baseline**: \`bench/src/baseline-server.ts\`, a bare Socket.IO server under the same loader: clients join
    rooms by id; \`send\` is broadcast to the room as \`new\` and acknowledged. No auth, no validation, no storage.
- Clients are real \`socket.io-client\` sockets (WebSocket transport only, one connection each, no reconnection)
  spread over ${results.sizes.sweep.workers} load-generator processes on the same machine, talking to 127.0.0.1. Latency clocks
  agree across those processes: send times are CLOCK_MONOTONIC.
- The load generator shares the machine's cores with the server under test, for both servers alike; its
  CPU time is reported so a saturated generator can be told from a slow server. With ${results.machine.cores} cores shared
  by the server and the generator, tail latency (p99, max) moves by up to 2× from one run to the next (garbage
  collection and scheduling in any of the processes): compare p50s, and repeat a run before trusting a p99 ratio.
  Idle memory per connection moves by up to ±15 % between processes, hence several rounds.

## How to reproduce

\`\`\`sh
npm ci
npm run bench                          # everything at full size (about 15 minutes on 2 cores)
npm run bench -- --write               # the same, and rewrites this file and docs/bench/
npm run bench -- --quick               # small sizes, a smoke run of one to two minutes
npm run bench -- --scenario sweep      # one scenario: sweep, rooms, idle, compression, multinode, monitoring or gateway (repeatable)
npm run bench -- --scenario monitoring --write   # …and rewrite its section and its goals in this file
\`\`\`

The multinode scenario needs PostgreSQL and Redis (\`BENCH_PG_URL\`, an admin connection that may create
databases, and \`BENCH_REDIS_URL\`; the local ones by default).

Progress goes to stderr; the results go to stdout as one JSON document (\`npm run --silent bench > run.json\`
keeps npm's banner out of it) and to \`bench/results/\`.

${sweepSection(results)}
${roomsSection(results)}
${idleSection(results)}
${compressionSection(results)}
${multinodeSection(results)}
${monitoringSection(results)}
${gatewaySection(results)}
${collabSection(results)}
${gameSection(results)}`;
}

/** Each scenario's section of docs/benchmarks.md. */
const SECTIONS: Record<Scenario, (results: BenchResults) => string> = {
  sweep: sweepSection,
  rooms: roomsSection,
  idle: idleSection,
  compression: compressionSection,
  multinode: multinodeSection,
  monitoring: monitoringSection,
  game: gameSection,
  gateway: gatewaySection,
  collab: collabSection,
};

/**
 * docs/benchmarks.md with the sections of the scenarios that ran replaced (or added at the end),
 * each marked with its own date: a run of some scenarios updates their numbers and leaves the
 * others' from the last full run.
 */
export function updateMarkdown(existing: string, results: BenchResults, scenarios: readonly Scenario[]): string {
  let doc = existing.trimEnd();
  for (const scenario of scenarios) {
    const fresh = SECTIONS[scenario](results).trim();
    const heading = /^## \d+\./.exec(fresh)?.[0];
    if (!heading) continue;
    const dated = fresh.replace(/\n/, `\n\n_Measured on ${results.startedAt.slice(0, 10)} by \`npm run bench -- --scenario ${scenario} --write\`; the other sections are from the run dated at the top._\n`);
    const start = doc.indexOf(`\n${heading}`);
    if (start < 0) {
      doc = `${doc}\n\n${dated}`;
      continue;
    }
    const end = doc.indexOf('\n## ', start + 1);
    doc = `${doc.slice(0, start)}\n${dated}${end < 0 ? '' : `\n${doc.slice(end)}`}`;
  }
  return `${updateGoals(doc, results)}\n`;
}

/** The Goals table with the rows of this run's goals replaced (or added at its end), the others left as they were. */
function updateGoals(doc: string, results: BenchResults): string {
  const lines = doc.split('\n');
  const heading = lines.indexOf('## Goals');
  if (heading < 0) return doc;
  // The table's rows start two lines after its header row and run to the first line that is not a row.
  const header = lines.findIndex((line, i) => i > heading && line.startsWith('| '));
  if (header < 0) return doc;
  let end = header + 2;
  while (lines[end]?.startsWith('| ')) end++;
  for (const goal of results.goals) {
    const row = `| ${goal.name} | ${goal.target} | ${goal.value} | ${goal.met ? 'met' : '**missed**'} |`;
    const at = lines.findIndex((line, i) => i > header && i < end && line.startsWith(`| ${goal.name} |`));
    if (at >= 0) lines[at] = row;
    else lines.splice(end++, 0, row);
  }
  return lines.join('\n');
}
