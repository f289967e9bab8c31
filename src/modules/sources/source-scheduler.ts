import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { APP_CONFIG, type AppConfig } from 'src/common/config/config';
import { SourceReconciler } from 'src/modules/sources/source.reconciler';
import { SourceRepository } from 'src/modules/sources/source.repository';
import type { ClaimedSource } from 'src/modules/sources/source.types';

/** Time beyond a source's timeout a lease lasts, so a fetch ends before its lease does. */
export const LEASE_MARGIN_SECONDS = 30;
const INTERVAL_NAME = 'sources.claim-due';
const SHUTDOWN_WAIT_MS = 10_000;

/**
 * Claims due sources under a lease (PostgreSQL, SKIP LOCKED) and hands them to the
 * reconciler, at most SOURCE_FETCH_CONCURRENCY at once on this replica. The interval
 * job only claims; `kick()` claims at once (after a create, refresh or resume here,
 * and whenever a fetch slot frees up). A replica that dies loses nothing: its
 * leases expire and another replica claims the sources.
 */
@Injectable()
export class SourceScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SourceScheduler.name);
  readonly replicaId = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  private readonly running = new Set<Promise<void>>();
  private polling = false;
  private pollAgain = false;
  private stopped = false;

  constructor(
    private readonly sources: SourceRepository,
    private readonly reconciler: SourceReconciler,
    private readonly registry: SchedulerRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const timer = setInterval(() => this.kick(), this.config.sourceSchedulerIntervalMs);
    this.registry.addInterval(INTERVAL_NAME, timer);
    this.kick();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.registry.doesExist('interval', INTERVAL_NAME)) {
      this.registry.deleteInterval(INTERVAL_NAME);
    }
    // In-flight fetches get a moment to record their result; the rest is recovered
    // by lease expiry on another replica.
    await Promise.race([
      Promise.allSettled([...this.running]),
      new Promise((resolve) => setTimeout(resolve, SHUTDOWN_WAIT_MS).unref()),
    ]);
  }

  get inFlight(): number {
    return this.running.size;
  }

  /** Claims due sources now (coalesced with a claim already under way). */
  kick(): void {
    if (this.stopped) {
      return;
    }
    this.poll().catch((error: unknown) => {
      this.logger.warn({
        msg: 'claiming due sources failed; retrying at the next interval',
        error: error instanceof Error ? error.message : String(error),
      });
    });
  }

  /** One claim round; resolves with the number of sources claimed. */
  async poll(): Promise<number> {
    if (this.polling) {
      this.pollAgain = true;
      return 0;
    }
    this.polling = true;
    let claimedTotal = 0;
    try {
      do {
        this.pollAgain = false;
        const free = this.config.sourceFetchConcurrency - this.running.size;
        if (free <= 0 || this.stopped) {
          break;
        }
        const claimed = await this.sources.claimDueAcrossTenants(
          this.replicaId,
          free,
          LEASE_MARGIN_SECONDS,
        );
        claimed.forEach((source) => this.start(source));
        claimedTotal += claimed.length;
        // A full batch suggests more are due.
        if (claimed.length === free) {
          this.pollAgain = true;
        }
      } while (this.pollAgain);
    } finally {
      this.polling = false;
    }
    return claimedTotal;
  }

  private start(source: ClaimedSource): void {
    const run: Promise<void> = this.reconciler
      .reconcile(source)
      .catch((error: unknown) => {
        // Recording the status failed (database down?): the lease expires and the
        // source is claimed again.
        this.logger.error({
          msg: 'recording a source fetch failed',
          tenantId: source.tenantId,
          sourceId: source.id,
          error: error instanceof Error ? error.message : String(error),
        });
      })
      .finally(() => {
        this.running.delete(run);
        this.kick();
      });
    this.running.add(run);
  }
}
