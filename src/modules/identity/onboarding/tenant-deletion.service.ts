import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/common/config/config';
import type { LeasedPeriodicJob } from 'src/common/coordination/leased-periodic-job';
import { PeriodicJobs } from 'src/common/coordination/periodic-jobs';
import { LeaseRepository } from 'src/common/database/lease.repository';
import { mapLimit } from 'src/common/async/map-limit';
import { DomainEventBus } from 'src/common/events/domain-event-bus';
import { ReleasesService } from 'src/modules/releases/releases.service';
import { SourcesService } from 'src/modules/sources/sources.service';
import { GrantsService } from 'src/tenants/grants/grants.service';
import type { Tenant } from 'src/tenants/tenant.types';
import { TenantError } from 'src/tenants/tenants.errors';
import { TenantDeletionRequested } from 'src/tenants/tenants.events';
import { TenantsService } from 'src/tenants/tenants.service';
import { GrantOnboardingService } from './grant-onboarding.service';

/** Longer than a pass against slow clusters; a replica that died mid-pass is taken over after it. */
const LEASE_MS = 5 * 60_000;
const OFFBOARD_CONCURRENCY = 8;
/** How long shutdown waits for running passes; the rest is taken over once their leases expire. */
export const SHUTDOWN_WAIT_MS = 10_000;

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/**
 * Takes a cascading tenant delete to its end, like a Kubernetes finalizer.
 * The tenant's `deletionRequestedAt` is the only state: each pass works out
 * what is left, so a pass may stop anywhere (crash, unreachable cluster) and
 * the next one carries on.
 *
 * 1. Every release is marked for deletion; the reconciler prunes its targets
 *    and drops the rows, as for a deleted release.
 * 2. On a cluster where none of the tenant's targets is left, the grant is
 *    offboarded and only then its row deleted; a cluster that cannot be
 *    cleaned keeps its grant until a later pass succeeds. Not before: pruning
 *    impersonates the service account offboarding deletes.
 * 3. With no release and no grant left: the sources, the clusters the tenant
 *    owns and the tenant row go.
 *
 * Runs on replicas with the reconcile engine, right after a delete request
 * and every `RECONCILE_RESYNC_SECONDS`; a lease per tenant keeps replicas
 * from working on the same tenant at once.
 */
@Injectable()
export class TenantDeletionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private unsubscribe: () => void = () => undefined;
  private readonly logger = new Logger(TenantDeletionService.name);
  private readonly holder: string;
  private readonly running = new Map<string, Promise<void>>();
  private readonly job: LeasedPeriodicJob;
  private stopped = false;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly tenants: TenantsService,
    private readonly releases: ReleasesService,
    private readonly grants: GrantsService,
    private readonly sources: SourcesService,
    private readonly onboarding: GrantOnboardingService,
    private readonly leases: LeaseRepository,
    private readonly events: DomainEventBus,
    private readonly jobs: PeriodicJobs,
  ) {
    this.holder = jobs.replicaId;
    // No job lease: each tenant's pass takes its own.
    this.job = jobs.create({
      name: 'tenant deletion',
      intervalMs: config.reconcileResyncSeconds * 1000,
      initialDelayMs: config.reconcileResyncSeconds * 1000,
      enabled: config.tenantDeletionEnabled,
      run: () => this.tick(),
    });
  }

  onApplicationBootstrap(): void {
    if (!this.job.enabled) {
      return;
    }
    // A pass may take long; shutdown waits for it here, not in the bus.
    this.unsubscribe = this.events.subscribe(
      TenantDeletionRequested,
      (event) => {
        void this.advance(event.tenantId);
      },
      'TenantDeletionService.advance',
    );
    this.job.start();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    await this.job.stop();
    // Bounded, as in SourceScheduler: a pass stuck on an unreachable cluster must not hold up shutdown.
    let cancel: () => void = () => undefined;
    await Promise.race([
      Promise.allSettled([...this.running.values()]),
      new Promise(
        (resolve) =>
          (cancel = this.jobs.clock.schedule(() => resolve(undefined), SHUTDOWN_WAIT_MS)),
      ),
    ]);
    cancel();
  }

  /** Starts a pass for every tenant being deleted; one slow tenant does not hold up the others. */
  async tick(): Promise<void> {
    try {
      for (const tenantId of await this.tenants.listDeletingIds()) {
        void this.advance(tenantId);
      }
    } catch (error) {
      this.logger.warn({ msg: 'listing tenants being deleted failed', error: messageOf(error) });
    }
  }

  /** One pass for the tenant, or the one already running on this replica; never rejects. */
  advance(tenantId: string): Promise<void> {
    const running = this.running.get(tenantId);
    if (running !== undefined) {
      return running;
    }
    if (this.stopped) {
      return Promise.resolve();
    }
    const run = this.pass(tenantId)
      .catch((error: unknown) => {
        this.logger.warn({ msg: 'tenant deletion pass failed', tenantId, error: messageOf(error) });
      })
      .finally(() => this.running.delete(tenantId));
    this.running.set(tenantId, run);
    return run;
  }

  private async pass(tenantId: string): Promise<void> {
    const lease = `tenant-deletion:${tenantId}`;
    if ((await this.leases.tryAcquire(lease, this.holder, LEASE_MS)) === undefined) {
      return;
    }
    try {
      const tenant = await this.deletingTenant(tenantId);
      if (tenant === undefined) {
        return;
      }
      const { releasesLeft, clusterIdsWithTargets } =
        await this.releases.deleteAllOfTenant(tenantId);
      const pruning = new Set(clusterIdsWithTargets);
      const grants = await this.grants.listForTenant(tenantId);
      const ready = grants.filter((g) => !pruning.has(g.clusterId));
      let offboarded = 0;
      await mapLimit(ready, OFFBOARD_CONCURRENCY, async (grant) => {
        try {
          // Offboarding an unreachable cluster can take long: keep the pass ours.
          await this.keepLease(lease);
          await this.onboarding.offboard(grant);
          await this.grants.removeOffboarded(grant);
          offboarded++;
        } catch (error) {
          this.logger.warn({
            msg: 'offboarding a deleted tenant failed; retrying',
            tenant: tenant.name,
            cluster: grant.clusterName,
            error: messageOf(error),
          });
        }
      });
      const grantsLeft = grants.length - offboarded;
      if (releasesLeft > 0 || grantsLeft > 0) {
        this.logger.debug({
          msg: 'tenant deletion waiting',
          tenant: tenant.name,
          releases: releasesLeft,
          grants: grantsLeft,
        });
        return;
      }
      await this.keepLease(lease);
      await this.sources.deleteAllOfTenant(tenantId);
      await this.tenants.finishDeletion(tenantId);
    } finally {
      await this.leases.drop(lease, this.holder);
    }
  }

  /** Extends this replica's lease on the pass; throws when another replica took it over. */
  private async keepLease(lease: string): Promise<void> {
    if ((await this.leases.tryAcquire(lease, this.holder, LEASE_MS)) === undefined) {
      throw new Error('the tenant deletion lease passed to another replica');
    }
  }

  private async deletingTenant(tenantId: string): Promise<Tenant | undefined> {
    try {
      const tenant = await this.tenants.getById(tenantId);
      return tenant.deletionRequestedAt === null ? undefined : tenant;
    } catch (error) {
      if (error instanceof TenantError && error.code === 'TenantNotFound') {
        return undefined;
      }
      throw error;
    }
  }
}
