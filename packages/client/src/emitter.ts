/**
 * A small typed event emitter that runs in browsers and Node alike (no `node:events`).
 * A throwing listener never breaks the SDK's own bookkeeping: its error is rethrown on a
 * microtask, where the host reports it as it reports any uncaught error.
 */

/** An event map: event name → listener signature. */
export type EventsMap<T> = { [K in keyof T]: (...args: never[]) => void };

export class Emitter<Events extends EventsMap<Events>> {
  private readonly listeners = new Map<keyof Events, Set<Events[keyof Events]>>();

  /** Subscribes `listener`; returns the function that unsubscribes it. */
  on<K extends keyof Events>(event: K, listener: Events[K]): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  off<K extends keyof Events>(event: K, listener: Events[K]): void {
    this.listeners.get(event)?.delete(listener);
  }

  protected emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as (...a: Parameters<Events[K]>) => void)(...args);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
