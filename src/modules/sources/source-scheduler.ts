import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from 'src/common/config/config';
import { CLOCK, type Clock } from 'src/common/coordination/clock';
import type { LeasedPeriodicJob } from 'src/common/coordination/leased-periodic-job';
import { PeriodicJobs } from 'src/common/coordination/periodic-jobs';
import { REPLICA_ID } from 'src/common/coordination/replica-id';
import { SourceReconciler } from 'src/modules/sources/source.reconciler';
import { SourceRepository } from 'src/modules/sources/source.repository';
import type { ClaimedSource } from 'src/modules/sources/source.types';

/** Time beyond a source's timeout a lease lasts, so a fetch ends before its lease does. */
export const LEASE_MARGIN_SECONDS = 30;
const SHUTDOWN_WAIT_MS = 10_000;

/**
 * Claims due sources under a lease (PostgreSQL, SKIP LOCKED) and hands them to the
 * reconciler, at most SOURCE_FETCH_CONCURRENCY at once on this replica. The periodic
 * job (no lease: the claim itself is the coordination) only claims; `kick()` claims at once (after a create, refresh or resume here,
 * and whenever a fetch slot frees up). A replica that dies loses nothing: its
 * leases expire and another replica claims the sources.
 */
@Injectable()
export class SourceScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SourceScheduler.name);
  private readonly running = new Set<Promise<void>>();
  private readonly job: LeasedPeriodicJob;
  private polling = false;
  private pollAgain = false;
  private stopped = false;

  constructor(
    private readonly sources: SourceRepository,
    private readonly reconciler: SourceReconciler,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    jobs: PeriodicJobs,
    @Inject(REPLICA_ID) readonly replicaId: string,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.job = jobs.create({
      name: 'source scheduler',
      intervalMs: config.sourceSchedulerIntervalMs,
      enabled: config.sourceSchedulerEnabled,
      run: () => {
        this.kick();
        return Promise.resolve();
      },
    });
  }

  onApplicationBootstrap(): void {
    this.job.start();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.job.stop();
    // In-flight fetches get a moment to record their result; the rest is recovered
    // by lease expiry on another replica.
    let cancel: () => void = () => undefined;
    await Promise.race([
      Promise.allSettled([...this.running]),
      new Promise(
        (resolve) => (cancel = this.clock.schedule(() => resolve(undefined), SHUTDOWN_WAIT_MS)),
      ),
    ]);
    cancel();
  }

  get inFlight(): number {
    return this.running.size;
  }

  /** Claims due sources now (coalesced with a claim already under way). */
  kick(): void {
    if (this.stopped || !this.job.enabled) {
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
