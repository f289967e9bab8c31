/**
 * A work queue of keys, as controllers have: a key is processed by one
 * worker at a time; changes while it runs make it run once more after;
 * failures retry with backoff (1 s doubling to 60 s); bounded concurrency.
 */
export class KeyedQueue {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly due: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private running = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly work: (key: string) => Promise<void>,
    private readonly concurrency: number,
    private readonly onError: (key: string, error: unknown, retryInMs: number) => void,
  ) {}

  /** Processes the key after `delayMs` (an earlier pending schedule wins). */
  add(key: string, delayMs = 0): void {
    if (this.stopped) {
      return;
    }
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) {
      return;
    }
    if (delayMs <= 0) {
      const timer = this.timers.get(key);
      if (timer !== undefined) {
        clearTimeout(timer);
        this.timers.delete(key);
      }
      this.queued.add(key);
      this.due.push(key);
      this.pump();
      return;
    }
    if (this.timers.has(key)) {
      return;
    }
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        this.add(key);
      }, delayMs),
    );
  }

  get size(): number {
    return this.due.length + this.timers.size + this.processing.size;
  }

  /** Resolves when nothing is due or running (scheduled retries may remain). */
  idle(): Promise<void> {
    if (this.due.length === 0 && this.running === 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) {
      clearTimeout(timer);
    }
    this.timers.clear();
    this.due.length = 0;
    this.queued.clear();
  }

  private pump(): void {
    while (!this.stopped && this.running < this.concurrency && this.due.length > 0) {
      const key = this.due.shift() as string;
      this.queued.delete(key);
      this.processing.add(key);
      this.running++;
      void this.run(key);
    }
    if (this.due.length === 0 && this.running === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      waiters.forEach((w) => w());
    }
  }

  private async run(key: string): Promise<void> {
    let retryInMs: number | undefined;
    try {
      await this.work(key);
      this.failures.delete(key);
    } catch (error) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      retryInMs = Math.min(1000 * 2 ** (n - 1), 60_000) * (0.8 + Math.random() * 0.4);
      this.onError(key, error, Math.round(retryInMs));
    } finally {
      this.processing.delete(key);
      this.running--;
    }
    if (this.dirty.delete(key)) {
      this.add(key);
    } else if (retryInMs !== undefined) {
      this.add(key, retryInMs);
    }
    this.pump();
  }
}
