/**
 * The cluster as one node sees it (PROTOCOL §7): the latest sample of every node, which nodes are
 * up (heard from within 10 s) or down (silent, kept 10 minutes), and the cluster's figures merged
 * from the up nodes' samples — counts and rates added, acknowledgement percentiles taken over every
 * node's acknowledgement times together, the event-loop lag the worst of any node.
 */
import type { ClusterStats, DownNode, MonitorSnapshot, NodeSnapshot, Stats } from '@switchboard/protocol';
import { addBuckets, quantileOfBuckets, type NodeSample } from './node-sample.js';

export const ClusterViewTimes = {
  /** A node not heard from for this long counts as down. */
  downAfterMs: 10_000,
  /** …and is forgotten after this long. */
  forgetAfterMs: 10 * 60_000,
} as const;

/** What a node tells the others each second. */
export interface NodeReport {
  nodeId: string;
  startedAt: number;
  sample: NodeSample;
}

interface Known {
  report: NodeReport;
  /** When this node received the report (its own clock: nodes' clocks may disagree). */
  receivedAt: number;
}

const SUMMED = ['connections', 'usersOnline', 'messagesInPerSec', 'deliveriesPerSec', 'errorsPerSec', 'rssBytes', 'cpuPercent'] as const;

export class ClusterView {
  private readonly nodes = new Map<string, Known>();

  /** Records a node's report (this node's own included). */
  receive(report: NodeReport, now: number): void {
    this.nodes.set(report.nodeId, { report, receivedAt: now });
  }

  /** Forgets a node at once (it shut down cleanly, so it is neither up nor down). */
  forget(nodeId: string): void {
    this.nodes.delete(nodeId);
  }

  /** The ids of the nodes up at `now`, sorted. */
  upNodeIds(now: number): string[] {
    return [...this.nodes.values()]
      .filter((k) => now - k.receivedAt < ClusterViewTimes.downAfterMs)
      .map((k) => k.report.nodeId)
      .sort();
  }

  snapshot(now: number): MonitorSnapshot {
    const nodes: NodeSnapshot[] = [];
    const downNodes: DownNode[] = [];
    const cluster: ClusterStats = {
      connections: 0,
      usersOnline: 0,
      messagesInPerSec: 0,
      deliveriesPerSec: 0,
      ackP50Ms: 0,
      ackP99Ms: 0,
      errorsPerSec: 0,
      eventLoopLagMs: 0,
      rssBytes: 0,
      cpuPercent: 0,
      nodesUp: 0,
      nodesDown: 0,
    };
    const acks: number[] = [];
    for (const [nodeId, known] of this.nodes) {
      const age = now - known.receivedAt;
      if (age >= ClusterViewTimes.forgetAfterMs) {
        this.nodes.delete(nodeId);
        continue;
      }
      const { report } = known;
      const up = age < ClusterViewTimes.downAfterMs;
      const stats: Stats = report.sample.stats;
      const node: NodeSnapshot = { nodeId, startedAt: report.startedAt, ...stats, lastSeenAt: report.sample.at };
      if (!up) {
        downNodes.push({ ...node, downSince: known.receivedAt + ClusterViewTimes.downAfterMs });
        cluster.nodesDown++;
        continue;
      }
      nodes.push(node);
      cluster.nodesUp++;
      for (const key of SUMMED) cluster[key] += stats[key];
      cluster.eventLoopLagMs = Math.max(cluster.eventLoopLagMs, stats.eventLoopLagMs);
      addBuckets(acks, report.sample.ackBuckets);
    }
    cluster.ackP50Ms = quantileOfBuckets(acks, 0.5);
    cluster.ackP99Ms = quantileOfBuckets(acks, 0.99);
    const byId = (a: NodeSnapshot, b: NodeSnapshot) => a.nodeId.localeCompare(b.nodeId);
    return { at: now, cluster, nodes: nodes.sort(byId), downNodes: downNodes.sort(byId) };
  }
}
