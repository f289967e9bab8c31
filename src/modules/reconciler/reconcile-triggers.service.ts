import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { ClusterChanged } from 'src/clusters/clusters.events';
import type { LeasedPeriodicJob } from 'src/common/coordination/leased-periodic-job';
import { PeriodicJobs } from 'src/common/coordination/periodic-jobs';
import { DomainEventBus } from 'src/common/events/domain-event-bus';
import { GrantOnboarded } from 'src/modules/identity/identity.events';
import { ReleaseChanged } from 'src/modules/releases/releases.events';
import { ReleasesService } from 'src/modules/releases/releases.service';
import { TargetsService } from 'src/modules/releases/targets.service';
import { SourceRevisionChanged } from 'src/modules/sources/sources.events';
import { GrantChanged } from 'src/tenants/grants/grants.events';
import { GrantsService } from 'src/tenants/grants/grants.service';
import { CoalescingRunner } from './coalescing-runner';
import { ReconcileWorker } from './reconcile.worker';
import { SharedObjectsPruned, TargetBecameReady } from './reconciler.events';
import { ReconcilerMetrics } from './reconciler.metrics';
import { RECONCILER_OPTIONS, ReconcilerOptions } from './reconciler.options';
import { TargetQueueRepository } from './target-queue.repository';

const RESYNC_LEASE = 'reconciler:target-resync';

/**
 * The one place that turns changes into due targets; never reconciles itself.
 * From the domain events, on the replica where the change committed: a new
 * source revision makes its releases' targets due; a cluster's registration
 * or labels re-select the releases of the tenants granted on it; a grant
 * re-selects its tenant's releases; a changed release (selected in its own
 * transaction) wakes the worker; an unpaused Cluster API cluster, or one that
 * answers again, makes its targets due; a tenant's onboarding restored on a
 * cluster makes its targets there due; a target turning Ready makes the
 * targets on its cluster that wait for it (dependsOn) due. Bursts coalesce per tenant. A periodic resync (one replica, under a lease) re-selects
 * clusters for every release, so a change whose event was lost (a crash
 * between commit and delivery) still reaches the targets.
 */
@Injectable()
export class ReconcileTriggers implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReconcileTriggers.name);
  private unsubscribe: (() => void)[] = [];
  private readonly tenantReselects = new CoalescingRunner<string>((tenantId) =>
    this.reselected(`tenant ${tenantId}`, () => this.releaseService.reselectTenant(tenantId)),
  );
  private readonly resyncJob: LeasedPeriodicJob;
  private changed = 0;

  constructor(
    @Inject(RECONCILER_OPTIONS) options: ReconcilerOptions,
    private readonly releaseService: ReleasesService,
    private readonly targets: TargetsService,
    private readonly queue: TargetQueueRepository,
    private readonly events: DomainEventBus,
    private readonly grants: GrantsService,
    private readonly worker: ReconcileWorker,
    private readonly metrics: ReconcilerMetrics,
    jobs: PeriodicJobs,
  ) {
    this.resyncJob = jobs.create({
      name: 'target resync',
      intervalMs: options.resyncIntervalMs,
      initialDelayMs: options.resyncIntervalMs,
      enabled: options.resyncEnabled,
      lease: { name: RESYNC_LEASE, ttlMs: options.resyncIntervalMs * 2 },
      run: async () => {
        this.changed = await this.reselect();
      },
    });
  }

  onApplicationBootstrap(): void {
    this.unsubscribe = [
      this.events.subscribe(
        SourceRevisionChanged,
        (event) => this.onRevision(event),
        'ReconcileTriggers.onRevision',
      ),
      this.events.subscribe(
        ClusterChanged,
        (event) => this.onClusterChanged(event),
        'ReconcileTriggers.onClusterChanged',
      ),
      this.events.subscribe(
        GrantChanged,
        // Selection depends on a grant existing, not on its namespaces or identity.
        (event) =>
          event.change === 'changed' ? undefined : this.tenantReselects.request(event.tenantId),
        'ReconcileTriggers.onGrantChanged',
      ),
      this.events.subscribe(
        ReleaseChanged,
        // The release's own transaction already selected its clusters and made
        // its targets due: only the worker needs telling, not a second selection.
        () => this.worker.wake(),
        'ReconcileTriggers.onReleaseChanged',
      ),
      this.events.subscribe(
        SharedObjectsPruned,
        // Another target's prune took objects these hold or render: re-check them now.
        async (event) => {
          if ((await this.targets.enqueueTargets(event.targets)) > 0) {
            this.worker.wake();
          }
        },
        'ReconcileTriggers.onSharedObjectsPruned',
      ),
      this.events.subscribe(
        GrantOnboarded,
        // Its runs were refused for want of the namespaces or identity just restored.
        (event) => this.made(this.queue.makeDue(event.tenantId, event.clusterId)),
        'ReconcileTriggers.onGrantOnboarded',
      ),
      this.events.subscribe(
        TargetBecameReady,
        (event) => this.onTargetReady(event),
        'ReconcileTriggers.onTargetReady',
      ),
    ];
    this.resyncJob.start();
  }

  async onApplicationShutdown(): Promise<void> {
    this.unsubscribe.forEach((unsubscribe) => unsubscribe());
    await this.resyncJob.stop();
  }

  /**
   * Re-selects the clusters of every release, on the replica holding the resync
   * lease (the periodic job's). Returns how many targets changed.
   */
  async resync(): Promise<number> {
    this.changed = 0;
    return (await this.resyncJob.runOnce()) === 'ran' ? this.changed : 0;
  }

  private async reselect(): Promise<number> {
    const changed = await this.releaseService.reselectAll();
    this.metrics.queueDepth.set(await this.queue.queueDepth());
    if (changed > 0) {
      this.worker.wake();
    }
    return changed;
  }

  private async onRevision(event: SourceRevisionChanged): Promise<void> {
    const releases = await this.releaseService.listBySource(event.tenantId, event.sourceId);
    const n = await this.targets.enqueue(event.tenantId, {
      releaseIds: releases.map((r) => r.id),
    });
    if (n > 0) {
      this.worker.wake();
    }
  }

  private async onClusterChanged(event: ClusterChanged): Promise<void> {
    switch (event.change) {
      case 'created':
      case 'labels': {
        // Only releases of tenants granted on the cluster can select it.
        const tenantIds = await this.grants.tenantIdsOnCluster(event.clusterId);
        await Promise.all(tenantIds.map((id) => this.tenantReselects.request(id)));
        return;
      }
      case 'resumed':
      case 'reachable':
        if ((await this.targets.enqueueCluster(event.clusterId)) > 0) {
          this.worker.wake();
        }
        return;
      case 'endpoint':
      case 'deleted':
        // Selection does not depend on credentials, and a deleted cluster's targets went with it.
        return;
    }
  }

  /**
   * dependsOn is re-checked when a dependency turns Ready, not at the dependent's
   * backoff: only targets on the same cluster, of the same tenant, not Ready.
   */
  private async onTargetReady(event: TargetBecameReady): Promise<void> {
    const dependents = await this.releaseService.listDependents(event.tenantId, event.releaseName);
    if (dependents.length > 0) {
      await this.made(
        this.queue.makeDue(event.tenantId, event.clusterId, {
          releaseIds: dependents.map((r) => r.id),
          notReady: true,
        }),
      );
    }
  }

  private async made(due: Promise<number>): Promise<void> {
    if ((await due) > 0) {
      this.worker.wake();
    }
  }

  /** Runs one re-selection; wakes the worker when targets were added or removed. Never rejects. */
  private async reselected(what: string, reselect: () => Promise<number>): Promise<void> {
    try {
      if ((await reselect()) > 0) {
        this.worker.wake();
      }
    } catch (error) {
      this.logger.warn({
        msg: 'target re-selection failed; the periodic resync catches up',
        of: what,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}
