import { Logger } from '@nestjs/common';
import type { LeaseRepository } from 'src/common/database/lease.repository';
import { type Clock, jittered } from './clock';

/** Whether this replica held the job's lease for the tick (`none`: the job has no lease). */
export type TickLease = 'held' | 'notHeld' | 'unavailable' | 'none';

export interface JobTick {
  readonly lease: TickLease;
  /** Aborted when the job stops: long ticks end early at a safe point. */
  readonly signal: AbortSignal;
  /** Extends the lease for a long tick; throws when another replica took it over. */
  renew(): Promise<void>;
}

export interface PeriodicJobOptions {
  /** For logs. */
  readonly name: string;
  readonly intervalMs: number;
  /** Each delay is the interval ± this fraction (0.1: ±10 %). */
  readonly jitter?: number;
  /** Delay of the first tick after `start`; defaults to no delay. */
  readonly initialDelayMs?: number;
  /** Off: `start` does nothing (the loop's kill switch). */
  readonly enabled: boolean;
  /** One replica at a time: the tick runs on the holder of this lease. */
  readonly lease?: {
    readonly name: string;
    readonly ttlMs: number;
    /** Run the tick on every replica and tell it whether it holds the lease (for work split by lease). */
    readonly runWhenNotHeld?: boolean;
  };
  /** How long `stop` waits for a running tick. */
  readonly drainTimeoutMs?: number;
  readonly run: (tick: JobTick) => Promise<unknown>;
}

export type TickOutcome = 'ran' | 'busy' | 'notHeld' | 'failed' | 'stopped';

export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

/**
 * A background loop: a tick every interval (with jitter), never two at once,
 * optionally only on the replica holding a lease; stopping waits for the
 * running tick (bounded) and hands the lease back so another replica takes
 * over at once instead of after its expiry.
 */
export class LeasedPeriodicJob {
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  private cancelTimer: (() => void) | undefined;
  private running: Promise<TickOutcome> | undefined;
  private held = false;
  private started = false;
  private stopped = false;

  constructor(
    private readonly options: PeriodicJobOptions,
    private readonly leases: LeaseRepository,
    private readonly clock: Clock,
    private readonly holder: string,
  ) {
    this.logger = new Logger(`PeriodicJob:${options.name}`);
  }

  get enabled(): boolean {
    return this.options.enabled;
  }

  /** Schedules the first tick; a no-op when the job is disabled. */
  start(): void {
    if (!this.options.enabled || this.started || this.stopped) {
      return;
    }
    this.started = true;
    this.scheduleNext(this.options.initialDelayMs ?? 0);
  }

  /**
   * Runs one tick now unless one is running already (`busy`). Works whether or
   * not the loop was started, so a trigger or a test can run it on demand.
   */
  runOnce(): Promise<TickOutcome> {
    if (this.stopped) {
      return Promise.resolve('stopped');
    }
    if (this.running !== undefined) {
      return Promise.resolve('busy');
    }
    const run = this.tick().finally(() => {
      this.running = undefined;
    });
    this.running = run;
    return run;
  }

  /** Stops the loop: no new tick; waits for the running one up to the drain timeout; hands the lease back. */
  async stop(beforeRelease?: () => Promise<void>): Promise<void> {
    if (this.stopped) {
      return;
    }
    this.stopped = true;
    this.cancelTimer?.();
    this.abort.abort();
    const running = this.running;
    if (running !== undefined) {
      let cancel: () => void = () => undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        cancel = this.clock.schedule(
          () => resolve('timeout'),
          this.options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS,
        );
      });
      const ended = await Promise.race([running, timeout]);
      cancel();
      if (ended === 'timeout') {
        this.logger.warn({ msg: 'shutdown did not wait for the running tick any longer' });
      }
    }
    await beforeRelease?.();
    if (this.held && this.options.lease !== undefined) {
      this.held = false;
      try {
        await this.leases.release(this.options.lease.name, this.holder);
      } catch {
        // The lease then simply expires.
      }
    }
  }

  private scheduleNext(delayMs: number): void {
    if (this.stopped) {
      return;
    }
    this.cancelTimer = this.clock.schedule(() => {
      void this.runOnce().finally(() =>
        this.scheduleNext(jittered(this.options.intervalMs, this.options.jitter ?? 0)),
      );
    }, delayMs);
  }

  private async tick(): Promise<TickOutcome> {
    const lease = await this.acquire();
    if (lease === 'notHeld' || lease === 'unavailable') {
      if (this.options.lease?.runWhenNotHeld !== true) {
        return 'notHeld';
      }
    }
    try {
      await this.options.run({
        lease,
        signal: this.abort.signal,
        renew: () => this.renew(),
      });
      return 'ran';
    } catch (error) {
      this.logger.warn({ msg: `${this.options.name} failed`, error: messageOf(error) });
      return 'failed';
    }
  }

  private async acquire(): Promise<TickLease> {
    const lease = this.options.lease;
    if (lease === undefined) {
      return 'none';
    }
    try {
      const got = await this.leases.tryAcquire(lease.name, this.holder, lease.ttlMs);
      this.held = got !== undefined;
      return this.held ? 'held' : 'notHeld';
    } catch (error) {
      this.logger.warn({ msg: `${this.options.name}: lease unavailable`, error: messageOf(error) });
      return 'unavailable';
    }
  }

  private async renew(): Promise<void> {
    const lease = this.options.lease;
    const got = await this.acquire();
    if (lease !== undefined && got === 'unavailable') {
      throw new Error(`the ${lease.name} lease could not be renewed: the database did not answer`);
    }
    if (lease !== undefined && got !== 'held') {
      throw new Error(`the ${lease.name} lease passed to another replica`);
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
