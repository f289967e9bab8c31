import { RenderingError, RenderingErrorCode } from './rendering.errors';

/** A counting semaphore; `acquire` resolves to an idempotent release function. */
export class Semaphore {
  private active = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError('semaphore capacity must be a positive integer');
    }
  }

  get inUse(): number {
    return this.active;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted === true) {
      throw new RenderingError(RenderingErrorCode.Aborted, 'render aborted');
    }
    if (this.active < this.capacity) {
      this.active += 1;
      return this.releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        const at = this.waiters.indexOf(wake);
        if (at >= 0) {
          this.waiters.splice(at, 1);
        }
        reject(new RenderingError(RenderingErrorCode.Aborted, 'render aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(wake);
    });
    // The slot was handed over by release(): `active` already counts us.
    return this.releaser();
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) {
        return;
      }
      released = true;
      const next = this.waiters.shift();
      if (next === undefined) {
        this.active -= 1;
      } else {
        next();
      }
    };
  }
}
