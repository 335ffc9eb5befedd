/**
 * Test factory for the cluster state without processes: a real ClusterStatePrimary and
 * worker-side links to it in this process, every message copied with structuredClone (as the
 * cluster's advanced IPC serialization does) and delivered later, in order, as over the IPC.
 * The real IPC between real processes is exercised by test/cluster-state.test.ts.
 */
import { pino } from 'pino';
import { PrimaryLink, type PrimaryTransport, type WorkerPort } from '../src/scale/cluster-ipc.js';
import { ClusterStatePrimary, type ClusterStateLink } from '../src/scale/cluster-state.js';

export interface LoopbackWorker {
  id: number;
  link: ClusterStateLink;
  /** Every message the primary sent this worker, answers and notices. */
  received: unknown[];
  /** Sends a raw message to the primary, as this worker's IPC would. */
  sendRaw(message: unknown): Promise<void>;
  /** Reports the worker serving (the primary may ask it to announce transitions). */
  ready(): void;
  /** Reports the worker dead: nothing more reaches it. */
  exit(): void;
}

export interface LoopbackCluster {
  primary: ClusterStatePrimary;
  worker(options?: { timeoutMs?: number; deaf?: boolean }): LoopbackWorker;
  close(): void;
}

/** Runs `work` after whatever is already queued, like a message crossing the IPC. */
const later = (work: () => void) => new Promise<void>((resolve) => setImmediate(() => (work(), resolve())));

export function loopbackCluster(options: { typingExpiryMs?: number } = {}): LoopbackCluster {
  const primary = new ClusterStatePrimary({ typingExpiryMs: options.typingExpiryMs ?? 6000, log: pino({ level: 'silent' }) });
  let nextId = 1;
  return {
    primary,
    close: () => primary.close(),
    worker({ timeoutMs, deaf = false } = {}) {
      const id = nextId++;
      const listeners: ((message: unknown) => void)[] = [];
      const received: unknown[] = [];
      let alive = true;
      const port: WorkerPort = {
        id,
        send(message, _handle, _options, callback) {
          void later(() => {
            if (!alive) return callback(new Error('channel closed'));
            received.push(message);
            for (const listener of listeners) listener(structuredClone(message));
            callback(null);
          });
        },
      };
      const sendRaw = (message: unknown) => later(() => (deaf ? undefined : primary.receive(port, structuredClone(message))));
      const transport: PrimaryTransport = { send: sendRaw, onMessage: (listener) => void listeners.push(listener) };
      return {
        id,
        link: new PrimaryLink(transport, timeoutMs),
        received,
        sendRaw,
        ready: () => primary.workerReady(port),
        exit: () => {
          alive = false;
          primary.workerExited(id);
        },
      };
    },
  };
}
