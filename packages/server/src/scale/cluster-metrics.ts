/**
 * One `/metrics` scrape for every worker of a host (WORKERS > 1, PROTOCOL §7). The worker that
 * receives the scrape asks its primary, which gathers every worker's registry with prom-client's
 * AggregatorRegistry (counters and histograms summed, default process metrics aggregated as
 * prom-client defines) and answers with the Prometheus text.
 *
 * prom-client asks the workers over the cluster IPC itself; the worker → primary request is ours:
 * prom-client has none (its aggregator expects the primary to serve HTTP, which here only hands
 * connections over). Messages carry `channel: CLUSTER_METRICS_CHANNEL` and no `type`, so the IPC
 * channel's other users ignore them (see cluster-ipc.ts).
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { unavailable } from '../domain/errors.js';

const CLUSTER_METRICS_CHANNEL = 'switchboard:cluster-metrics';
/** prom-client's own limit for gathering the workers' metrics is 5 s; the worker waits a little longer. */
const SCRAPE_TIMEOUT_MS = 6000;

interface ScrapeMessage {
  channel: typeof CLUSTER_METRICS_CHANNEL;
  id: number;
  text?: string;
  error?: string;
}

const ours = (message: unknown): message is ScrapeMessage =>
  typeof message === 'object' && message !== null && (message as { channel?: unknown }).channel === CLUSTER_METRICS_CHANNEL;

/** Primary side: answers the workers' scrape requests with every worker's metrics. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker: Worker, message: unknown) => {
    if (!ours(message)) return;
    const reply = (answer: Omit<ScrapeMessage, 'channel' | 'id'>) => {
      if (worker.isConnected()) worker.send({ channel: CLUSTER_METRICS_CHANNEL, id: message.id, ...answer });
    };
    aggregator.clusterMetrics().then(
      (text) => reply({ text }),
      (err: unknown) => reply({ error: err instanceof Error ? err.message : String(err) }),
    );
  });
}

/**
 * Worker side: hands `registry` to prom-client's aggregation, and returns the scrape function
 * that asks the primary for the whole host's metrics.
 */
export function clusterScraper(registry: Registry): () => Promise<string> {
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one is what makes prom-client answer the primary's requests in this worker.
  new AggregatorRegistry();
  const pending = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void }>();
  let nextId = 1;
  process.on('message', (message: unknown) => {
    if (!ours(message)) return;
    const waiting = pending.get(message.id);
    pending.delete(message.id);
    if (message.text !== undefined) waiting?.resolve(message.text);
    else waiting?.reject(unavailable(`the cluster's metrics could not be gathered: ${message.error ?? 'no answer'}`));
  });
  return () =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(unavailable('the cluster primary did not answer the metrics scrape in time'));
      }, SCRAPE_TIMEOUT_MS);
      pending.set(id, {
        resolve: (text) => {
          clearTimeout(timer);
          resolve(text);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      process.send?.({ channel: CLUSTER_METRICS_CHANNEL, id });
    });
}
