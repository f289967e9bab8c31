import { Injectable } from '@nestjs/common';

/** Time and waiting, replaceable in small tests. */
export abstract class KubeClock {
  abstract now(): number;
  abstract sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

@Injectable()
export class SystemKubeClock extends KubeClock {
  now(): number {
    return Date.now();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted === true) {
        resolve();
        return;
      }
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}

/** Backoff delays for polling: 100 ms doubling to `max`. */
export function backoffDelay(attempt: number, max = 2_000, base = 100): number {
  return Math.min(max, base * 2 ** Math.min(attempt, 16));
}
