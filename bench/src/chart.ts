/**
 * The bench's charts, as SVG. Written by hand: a line chart on log axes is a few dozen SVG
 * elements, while the charting libraries either need a browser (a DOM or a canvas to draw and
 * measure text in) or bring a large runtime for one image; plain SVG text is also what a Markdown
 * page on any forge shows as is.
 */
import type { BenchResults } from './results.js';

interface Series {
  name: string;
  color: string;
  dashed: boolean;
  /** The line, through one point per x. */
  points: Array<{ x: number; y: number }>;
  /** Single measurements drawn as small dots behind the line (each round, where there were several). */
  samples?: Array<{ x: number; y: number }>;
}

interface LineChart {
  title: string;
  subtitle: string;
  xLabel: string;
  yLabel: string;
  /** The x values to label (the measured points). */
  xTicks: number[];
  series: Series[];
}

const WIDTH = 760;
const HEIGHT = 440;
const PLOT = { left: 78, right: 560, top: 70, bottom: 380 };

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fixed = (value: number) => value.toFixed(1);

/** Milliseconds as a tick label: "0.5 ms", "20 ms", "2 s". */
function msLabel(value: number): string {
  if (value >= 1000) return `${Number((value / 1000).toPrecision(3))} s`;
  return `${Number(value.toPrecision(3))} ms`;
}

/** 1, 2, 5 × 10^k between `min` and `max`. */
function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let exp = Math.floor(Math.log10(min)); exp <= Math.ceil(Math.log10(max)); exp++) {
    for (const m of [1, 2, 5]) {
      const value = m * 10 ** exp;
      if (value >= min * 0.999 && value <= max * 1.001) ticks.push(value);
    }
  }
  return ticks;
}

/** A line chart with logarithmic x and y axes. */
function lineChart(chart: LineChart): string {
  const ys = chart.series.flatMap((s) => [...s.points, ...(s.samples ?? [])].map((p) => p.y)).filter((y) => y > 0);
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...ys, 1)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...ys, 10)));
  const xMin = Math.min(...chart.xTicks) / 1.25;
  const xMax = Math.max(...chart.xTicks) * 1.25;
  const px = (x: number) => PLOT.left + ((Math.log(x) - Math.log(xMin)) / (Math.log(xMax) - Math.log(xMin))) * (PLOT.right - PLOT.left);
  const py = (y: number) => PLOT.bottom - ((Math.log(y) - Math.log(yMin)) / (Math.log(yMax) - Math.log(yMin))) * (PLOT.bottom - PLOT.top);

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${PLOT.left}" y="28" font-size="16" font-weight="600" fill="#111827">${escape(chart.title)}</text>`,
    `<text x="${PLOT.left}" y="48" fill="#4b5563">${escape(chart.subtitle)}</text>`,
  ];
  for (const tick of logTicks(yMin, yMax)) {
    const y = fixed(py(tick));
    const major = Number.isInteger(Math.log10(tick));
    parts.push(
      `<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${y}" y2="${y}" stroke="${major ? '#d1d5db' : '#eef0f3'}"/>`,
      `<text x="${PLOT.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="#374151">${msLabel(tick)}</text>`,
    );
  }
  for (const tick of chart.xTicks) {
    const x = fixed(px(tick));
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${PLOT.top}" y2="${PLOT.bottom}" stroke="#eef0f3"/>`,
      `<text x="${x}" y="${PLOT.bottom + 18}" text-anchor="middle" fill="#374151">${tick.toLocaleString('en-US')}</text>`,
    );
  }
  parts.push(
    `<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#9ca3af"/>`,
    `<text x="${(PLOT.left + PLOT.right) / 2}" y="${PLOT.bottom + 42}" text-anchor="middle" fill="#111827">${escape(chart.xLabel)}</text>`,
    `<text transform="translate(18 ${(PLOT.top + PLOT.bottom) / 2}) rotate(-90)" text-anchor="middle" fill="#111827">${escape(chart.yLabel)}</text>`,
  );

  chart.series.forEach((series, i) => {
    const dash = series.dashed ? ' stroke-dasharray="7 4"' : '';
    for (const p of series.samples ?? []) {
      if (p.y > 0) parts.push(`<circle cx="${fixed(px(p.x))}" cy="${fixed(py(p.y))}" r="2.5" fill="${series.color}" fill-opacity="0.35"/>`);
    }
    const points = series.points.filter((p) => p.y > 0);
    parts.push(
      `<polyline fill="none" stroke="${series.color}" stroke-width="2"${dash} points="${points.map((p) => `${fixed(px(p.x))},${fixed(py(p.y))}`).join(' ')}"/>`,
      ...points.map((p) => `<circle cx="${fixed(px(p.x))}" cy="${fixed(py(p.y))}" r="4" fill="#ffffff" stroke="${series.color}" stroke-width="2"/>`),
    );
    const ly = PLOT.top + 10 + i * 24;
    parts.push(
      `<line x1="${PLOT.right + 20}" x2="${PLOT.right + 52}" y1="${ly}" y2="${ly}" stroke="${series.color}" stroke-width="2"${dash}/>`,
      `<circle cx="${PLOT.right + 36}" cy="${ly}" r="4" fill="#ffffff" stroke="${series.color}" stroke-width="2"/>`,
      `<text x="${PLOT.right + 60}" y="${ly}" dominant-baseline="middle" fill="#111827">${escape(series.name)}</text>`,
    );
  });
  if (chart.series.some((s) => (s.samples ?? []).length > 0)) {
    const noteY = PLOT.top + 10 + chart.series.length * 24 + 8;
    parts.push(`<text x="${PLOT.right + 20}" y="${noteY}" fill="#6b7280" font-size="11">small dots: single rounds</text>`);
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

const SWITCHBOARD = '#2563eb';
const BASELINE = '#ea580c';

/** The charts of a run, by file name: the latency–load curve of the one-room sweep. */
export function charts(results: BenchResults): Array<{ name: string; svg: string }> {
  const sweep = results.sweep;
  if (!sweep || sweep.points.length === 0) return [];
  const size = results.sizes.sweep;
  const line = (name: string, color: string, dashed: boolean, pick: 'p50' | 'p99', server: 'switchboard' | 'baseline'): Series => ({
    name,
    color,
    dashed,
    points: sweep.points.map((p) => ({ x: p.offered, y: p[server][pick] })),
    samples: sweep.points.flatMap((p) =>
      p.rounds.length > 1 ? p.rounds.map((r) => ({ x: p.offered, y: r[server].latencyMs[pick] })) : [],
    ),
  });
  const svg = lineChart({
    title: 'Latency under load: one room, Switchboard vs bare Socket.IO',
    subtitle: `${size.clients} receivers · ${size.senders} senders · ${size.seconds} s per point · ${results.machine.cores} cores shared with the load generator · ${results.startedAt.slice(0, 10)}`,
    xLabel: 'offered load, messages per second (each delivered to every receiver)',
    yLabel: 'end-to-end latency (log scale)',
    xTicks: sweep.points.map((p) => p.offered),
    series: [
      line('Switchboard p50', SWITCHBOARD, false, 'p50', 'switchboard'),
      line('Switchboard p99', SWITCHBOARD, true, 'p99', 'switchboard'),
      line('Socket.IO p50', BASELINE, false, 'p50', 'baseline'),
      line('Socket.IO p99', BASELINE, true, 'p99', 'baseline'),
    ],
  });
  return [{ name: 'latency-curve.svg', svg }];
}
