import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { LeaseRepository } from 'src/common/database/lease.repository';
import { ReleaseRepository } from 'src/modules/releases/release.repository';
import { ReleasesService } from 'src/modules/releases/releases.service';
import { TargetRepository } from 'src/modules/releases/target.repository';
import { SourceRevisionEvents } from 'src/modules/sources/source-revision.events';
import { ReconcileWorker } from './reconcile.worker';
import { ReconcilerMetrics } from './reconciler.metrics';
import { RECONCILER_OPTIONS, ReconcilerOptions } from './reconciler.options';

const RESYNC_LEASE = 'reconciler:target-resync';

/**
 * Turns changes into due targets; never reconciles itself. A new source
 * revision makes its releases' targets due; a periodic resync (one replica,
 * under a lease) re-selects clusters for every release, so label, grant and
 * cluster changes reach the targets even if a direct trigger was missed.
 */
@Injectable()
export class ReconcileTriggers implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReconcileTriggers.name);
  private subscription: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private resyncing = false;

  constructor(
    @Inject(RECONCILER_OPTIONS) private readonly options: ReconcilerOptions,
    private readonly releases: ReleaseRepository,
    private readonly releaseService: ReleasesService,
    private readonly targets: TargetRepository,
    private readonly leases: LeaseRepository,
    private readonly revisions: SourceRevisionEvents,
    private readonly worker: ReconcileWorker,
    private readonly metrics: ReconcilerMetrics,
  ) {}

  onApplicationBootstrap(): void {
    this.subscription = this.revisions.onRevision(async (event) => {
      const releases = await this.releases.listBySource(event.tenantId, event.sourceId);
      const n = await this.targets.enqueue(event.tenantId, {
        releaseIds: releases.map((r) => r.id),
      });
      if (n > 0) {
        this.worker.wake();
      }
    });
    if (this.options.enabled) {
      this.timer = setInterval(() => void this.resync(), this.options.resyncIntervalMs);
    }
  }

  onApplicationShutdown(): void {
    this.subscription?.unsubscribe();
    clearInterval(this.timer);
  }

  /** Re-selects the clusters of every release. Returns how many targets changed. */
  async resync(): Promise<number> {
    if (this.resyncing) {
      return 0;
    }
    this.resyncing = true;
    try {
      const lease = await this.leases.tryAcquire(
        RESYNC_LEASE,
        this.options.replicaId,
        this.options.resyncIntervalMs * 2,
      );
      if (lease === undefined) {
        return 0;
      }
      const changed = await this.releaseService.reselectAll();
      this.metrics.queueDepth.set(await this.targets.queueDepth());
      if (changed > 0) {
        this.worker.wake();
      }
      return changed;
    } catch (error) {
      this.logger.warn({
        msg: 'target resync failed',
        error: error instanceof Error ? error.message : String(error),
      });
      return 0;
    } finally {
      this.resyncing = false;
    }
  }
}
