/**
 * Runs `run(key)` for requested keys, coalescing bursts: requests for a key
 * share the run that has not started yet, and a key requested while its run
 * is in progress gets exactly one follow-up run, which starts after that run
 * and so sees every change committed before the requests. Different keys run
 * side by side.
 */
export class CoalescingRunner<K> {
  private readonly queued = new Map<K, Promise<void>>();
  private readonly running = new Map<K, Promise<void>>();

  constructor(private readonly run: (key: K) => Promise<void>) {}

  /** Resolves when a run that started after this request has ended (whatever its outcome). */
  request(key: K): Promise<void> {
    const queued = this.queued.get(key);
    if (queued !== undefined) {
      return queued;
    }
    const next = (this.running.get(key) ?? Promise.resolve()).then(() => {
      this.queued.delete(key);
      const run = this.run(key).catch(() => undefined);
      this.running.set(key, run);
      return run.finally(() => {
        if (this.running.get(key) === run) {
          this.running.delete(key);
        }
      });
    });
    this.queued.set(key, next);
    return next;
  }
}
