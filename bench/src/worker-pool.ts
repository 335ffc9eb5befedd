/** The orchestrator's side of the load workers: fork them, hand out clients, run a plan, close. */
import type { ChildProcess } from 'node:child_process';
import { forkWorker } from './procs.js';
import type { ClientSpec, Command, LoadPlan, LoadWorkerResult, Target, WorkerEvent } from './worker-messages.js';

interface Worker {
  child: ChildProcess;
  connected: number;
  received: number;
}

function command(worker: Worker, message: Command): void {
  worker.child.send(message);
}

/** Resolves with the worker's next event of `type`; rejects if the worker exits first or takes longer than `timeoutMs`. */
function next<T extends WorkerEvent['type']>(
  worker: Worker,
  type: T,
  timeoutMs: number,
): Promise<Extract<WorkerEvent, { type: T }>> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      worker.child.off('message', onMessage);
      worker.child.off('exit', onExit);
    };
    const onMessage = (event: WorkerEvent) => {
      if (event.type !== type) return;
      cleanup();
      resolve(event as Extract<WorkerEvent, { type: T }>);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`load worker exited (code ${code}) while waiting for "${type}"`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`load worker sent no "${type}" within ${timeoutMs} ms`));
    }, timeoutMs);
    worker.child.on('message', onMessage);
    worker.child.once('exit', onExit);
  });
}

export class WorkerPool {
  private constructor(private readonly workers: Worker[]) {}

  /**
   * Forks `count` workers and connects `clients` through them, spread round-robin (so senders
   * spread evenly too); resolves once every worker has tried every one of its clients.
   */
  static async open(
    count: number,
    target: Target,
    clients: ClientSpec[],
    options: { concurrency: number; join: boolean; timeoutMs: number; onProgress?: (connected: number) => void },
  ): Promise<{ pool: WorkerPool; connected: number; failed: number; firstError: string | null }> {
    const workers: Worker[] = Array.from({ length: count }, () => ({ child: forkWorker(), connected: 0, received: 0 }));
    const pool = new WorkerPool(workers);
    for (const worker of workers) {
      worker.child.on('message', (event: WorkerEvent) => {
        if (event.type !== 'progress') return;
        worker.connected = event.connected;
        worker.received = event.received;
        options.onProgress?.(pool.connected);
      });
    }
    try {
      const answers = await Promise.all(
        workers.map((worker, w) => {
          const answer = next(worker, 'connected', options.timeoutMs);
          command(worker, {
            type: 'connect',
            target,
            clients: clients.filter((_, i) => i % count === w),
            concurrency: options.concurrency,
            join: options.join,
          });
          return answer;
        }),
      );
      answers.forEach((answer, w) => {
        const worker = workers[w];
        if (worker) worker.connected = answer.connected;
      });
      return {
        pool,
        connected: answers.reduce((sum, a) => sum + a.connected, 0),
        failed: answers.reduce((sum, a) => sum + a.failed, 0),
        firstError: answers.find((a) => a.firstError !== null)?.firstError ?? null,
      };
    } catch (err) {
      await pool.close();
      throw err;
    }
  }

  /** Deliveries received so far, as last reported by the workers (about once a second). */
  get received(): number {
    return this.workers.reduce((sum, w) => sum + w.received, 0);
  }

  get connected(): number {
    return this.workers.reduce((sum, w) => sum + w.connected, 0);
  }

  /** Runs a load plan on every worker; resolves with each worker's result. */
  run(plan: LoadPlan, timeoutMs: number): Promise<LoadWorkerResult[]> {
    return Promise.all(
      this.workers.map(async (worker) => {
        const answer = next(worker, 'result', timeoutMs);
        command(worker, { type: 'start', plan });
        return (await answer).result;
      }),
    );
  }

  /** Closes every client socket and waits for the workers to exit (killing any that hang). */
  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        if (child.connected) child.send({ type: 'close' } satisfies Command);
        else child.kill('SIGKILL');
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}
