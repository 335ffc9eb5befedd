/** What the admin view knows about each monitored metric: its name for people, and how to print a value. */
import type { MonitorMetric } from '@switchboard/client';
import { formatSize } from '../ui/format.js';

type Unit = 'count' | 'rate' | 'ms' | 'bytes' | 'percent';

interface MetricInfo {
  label: string;
  unit: Unit;
  /** The unit as typed in an alert rule's threshold. */
  thresholdUnit: string;
}

export const METRICS: Record<MonitorMetric, MetricInfo> = {
  connections: { label: 'Connections', unit: 'count', thresholdUnit: 'connections' },
  usersOnline: { label: 'Users online', unit: 'count', thresholdUnit: 'users' },
  messagesInPerSec: { label: 'Messages/s', unit: 'rate', thresholdUnit: 'per second' },
  deliveriesPerSec: { label: 'Deliveries/s', unit: 'rate', thresholdUnit: 'per second' },
  ackP50Ms: { label: 'Ack p50', unit: 'ms', thresholdUnit: 'ms' },
  ackP99Ms: { label: 'Ack p99', unit: 'ms', thresholdUnit: 'ms' },
  errorsPerSec: { label: 'Errors/s', unit: 'rate', thresholdUnit: 'per second' },
  eventLoopLagMs: { label: 'Event-loop lag', unit: 'ms', thresholdUnit: 'ms' },
  rssBytes: { label: 'Memory (RSS)', unit: 'bytes', thresholdUnit: 'bytes' },
  cpuPercent: { label: 'CPU', unit: 'percent', thresholdUnit: '% of one core' },
  nodesUp: { label: 'Nodes up', unit: 'count', thresholdUnit: 'nodes' },
  nodesDown: { label: 'Nodes down', unit: 'count', thresholdUnit: 'nodes' },
};

export const METRIC_NAMES = Object.keys(METRICS) as MonitorMetric[];

const decimal = (n: number) => (Math.abs(n) < 10 && !Number.isInteger(n) ? n.toFixed(1) : Math.round(n).toLocaleString());

/** "1,204", "3.5/s", "12.0 ms", "81 MB", "7.5 %" */
export function formatValue(metric: MonitorMetric, value: number): string {
  switch (METRICS[metric].unit) {
    case 'count':
      return Math.round(value).toLocaleString();
    case 'rate':
      return `${decimal(value)}/s`;
    case 'ms':
      return `${value < 100 ? value.toFixed(1) : Math.round(value).toLocaleString()} ms`;
    case 'bytes':
      return formatSize(Math.max(0, Math.round(value)));
    case 'percent':
      return `${decimal(value)} %`;
  }
}
