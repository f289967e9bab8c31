/**
 * The one source of time for background work. Production uses the system
 * clock; small specs inject a `TestClock` (test/support/coordination) and move
 * time by hand, so intervals, jitter, backoff and drain deadlines are tested
 * without waiting.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once after `ms`; the returned function cancels it. Timers never keep the process alive. */
  schedule(fn: () => void, ms: number): () => void;
  /** Resolves after `ms`. */
  sleep(ms: number): Promise<void>;
}

export const CLOCK = Symbol('CLOCK');

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  schedule(fn: () => void, ms: number): () => void {
    const timer = setTimeout(fn, Math.max(0, ms));
    timer.unref();
    return () => clearTimeout(timer);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.schedule(resolve, ms));
  }
}

/** `base` spread by ±`fraction` (0.1: ±10 %), so replicas and objects started together drift apart. */
export function jittered(
  base: number,
  fraction: number,
  random: () => number = Math.random,
): number {
  if (fraction <= 0) {
    return base;
  }
  return base * (1 - fraction + random() * 2 * fraction);
}
