/**
 * One time-series chart (uPlot) of one or two figures, sized to its box and coloured from the
 * app's CSS variables, so it follows light and dark. uPlot draws on a canvas: the figures are also
 * given as text (the tiles above the charts, and this chart's label) for screen readers.
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useMediaQuery } from '../ui/media.js';
import { formatValue, METRICS } from './metrics.js';
import type { Charted, Timeline } from './monitor-store.js';

const HEIGHT = 150;
/** Series colours, by position: the app's accent, then its warning colour. */
const COLOURS = ['--accent', '--warning'];

const cssVar = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function options(metrics: readonly Charted[], width: number): uPlot.Options {
  const axis: uPlot.Axis = {
    stroke: cssVar('--text-muted'),
    grid: { stroke: cssVar('--border'), width: 1 },
    ticks: { stroke: cssVar('--border'), width: 1 },
    font: `11px ${cssVar('--font')}`,
  };
  const unit = metrics[0]!;
  return {
    width,
    height: HEIGHT,
    ms: 1,
    legend: { show: metrics.length > 1 },
    cursor: { drag: { x: false, y: false } },
    scales: { y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
    series: [
      {},
      ...metrics.map((m, i) => {
        const colour = cssVar(COLOURS[i] ?? '--text-muted');
        return {
          label: METRICS[m].label,
          stroke: colour,
          width: 2,
          // A light wash under a single line: the colour with an alpha (the variables are #rrggbb).
          fill: metrics.length === 1 && /^#[0-9a-f]{6}$/i.test(colour) ? `${colour}24` : undefined,
          points: { show: false },
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : formatValue(m, v)),
        };
      }),
    ],
    axes: [
      { ...axis, space: 70 },
      {
        ...axis,
        values: (_u, splits) => splits.map((v) => formatValue(unit, v)),
        // As wide as its longest label ("60,000 ms"), at about 7 px a character of the 11 px font.
        size: (_u, values) => Math.max(40, ...(values ?? []).map((v) => v.length * 7 + 14)),
      },
    ],
  };
}

export function Chart({ title, metrics, timeline }: { title: string; metrics: readonly Charted[]; timeline: Timeline }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  // The colours come from CSS variables that change with the colour scheme: a new plot then.
  const dark = useMediaQuery('(prefers-color-scheme: dark)');
  const data: uPlot.AlignedData = [timeline.times, ...metrics.map((m) => timeline.values[m])];
  const latest = useRef({ data, timeline });
  latest.current = { data, timeline };

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const u = new uPlot(options(metrics, Math.max(el.clientWidth, 120)), latest.current.data, el);
    u.setScale('x', { min: latest.current.timeline.from, max: latest.current.timeline.to });
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: Math.max(el.clientWidth, 120), height: HEIGHT }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [metrics, dark]);

  useEffect(() => {
    const u = plot.current;
    if (!u) return;
    u.batch(() => {
      u.setData(latest.current.data);
      // The whole range, also where there are no points (yet).
      u.setScale('x', { min: timeline.from, max: timeline.to });
    });
  }, [timeline]);

  const now = metrics.map((m) => {
    const values = timeline.values[m];
    const last = values.findLast((v) => v !== null);
    return last === undefined || last === null ? undefined : `${METRICS[m].label} ${formatValue(m, last)}`;
  });

  return (
    <figure className="chart">
      <figcaption>
        <span className="chart-title">{title}</span>
        <span className="sr-only">{now.filter(Boolean).join(', ')}</span>
      </figcaption>
      <div ref={box} className="chart-plot" aria-hidden="true" />
    </figure>
  );
}
