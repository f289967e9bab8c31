import type { Clock } from 'src/common/coordination/clock';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/** Lets promise chains started by a timer run before the next timer fires. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A clock for small specs: time stands still until `advance` moves it, firing
 * due timers in order and letting the work they start settle in between.
 */
export class TestClock implements Clock {
  private current: number;
  private timers: Timer[] = [];
  private nextId = 0;

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  schedule(fn: () => void, ms: number): () => void {
    const timer = { id: this.nextId++, at: this.current + Math.max(0, ms), fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t.id !== timer.id);
    };
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.schedule(resolve, ms));
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing every timer due on the way. */
  async advance(ms: number): Promise<void> {
    const end = this.current + ms;
    await settle();
    for (;;) {
      const next = [...this.timers].sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (next === undefined || next.at > end) {
        break;
      }
      this.timers = this.timers.filter((t) => t.id !== next.id);
      this.current = Math.max(this.current, next.at);
      next.fn();
      await settle();
      await settle();
    }
    this.current = end;
    await settle();
  }
}
