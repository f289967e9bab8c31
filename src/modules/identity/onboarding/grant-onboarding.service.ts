import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ClusterChanged } from 'src/clusters/clusters.events';
import { APP_CONFIG, AppConfig } from 'src/common/config/config';
import type { LeasedPeriodicJob } from 'src/common/coordination/leased-periodic-job';
import { PeriodicJobs } from 'src/common/coordination/periodic-jobs';
import { DomainEventBus } from 'src/common/events/domain-event-bus';
import { isKubeError } from 'src/common/kube/kube.errors';
import type { KubeApi } from 'src/common/kube/kube-api.client';
import { refOf, refKey } from 'src/modules/reconciler/kube/kube-objects';
import type { KubeObject } from 'src/modules/reconciler/kube/kube.types';
import { TenantAccessRefused } from 'src/modules/reconciler/reconciler.events';
import { GrantOnboarded } from 'src/modules/identity/identity.events';
import type { Grant } from 'src/tenants/grants/grant.types';
import { GrantChanged } from 'src/tenants/grants/grants.events';
import { GrantsService } from 'src/tenants/grants/grants.service';
import { TenantsService } from 'src/tenants/tenants.service';
import { GrantIndexRepository } from './grant-index.repository';
import { inSync } from './onboarding-drift';
import {
  MANAGED_BY,
  MANAGED_BY_LABEL,
  ONBOARDED_TENANT_LABEL,
  ONBOARDING_FIELD_MANAGER,
  onboardingObjects,
  onboardingSelector,
  REMOVABLE_KINDS,
} from './onboarding-objects';

/** gitfleet's own (admin) connection to a cluster; the real one comes from the reconciler's pool. */
export type ClusterKubeApi = (clusterId: string) => Promise<KubeApi>;
export const CLUSTER_KUBE_API = Symbol('CLUSTER_KUBE_API');

const MAX_RETRY_MS = 5 * 60_000;
/** Every grant is re-onboarded this often (and shortly after start), repairing drift and lost retries. */
export const ONBOARDING_RESYNC_MS = 10 * 60_000;
/** One replica at a time runs the periodic resync; taken over when its holder is gone. */
const RESYNC_LEASE = 'onboarding:resync';

/**
 * Onboards a tenant in a workload cluster whenever its grant is created,
 * changed or revoked: namespaces, service account and bindings (see
 * `onboardingObjects`), server-side applied with gitfleet's own identity when
 * missing or drifted.
 * Each run converges the cluster to the grant as stored *now* (so a quick
 * create-then-update cannot apply a stale grant last), one run per grant at a
 * time; failures are retried with backoff. Revocation removes the bindings,
 * the cluster-scoped role and the service account — never namespaces.
 * Grants of a tenant being deleted are left to `TenantDeletionService`, which
 * offboards them (`offboard`) once the tenant's releases are pruned.
 * A cluster whose kubeconfig was replaced, that answers again after an outage,
 * or where a target's apply was refused as if onboarding were missing, may be
 * a new, empty cluster: its grants are checked at once, not at the next
 * resync, and `GrantOnboarded` tells the reconciler when objects were restored.
 */
@Injectable()
export class GrantOnboardingService implements OnModuleInit, OnModuleDestroy {
  private unsubscribe: (() => void)[] = [];
  private readonly logger = new Logger(GrantOnboardingService.name);
  private readonly chains = new Map<string, Promise<void>>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  /** Grants with a check running; `again`: asked for once more meanwhile (one follow-up for a burst). */
  private readonly checks = new Map<string, 'running' | 'again'>();
  private readonly resyncJob: LeasedPeriodicJob;
  private closed = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly grants: GrantsService,
    @Inject(CLUSTER_KUBE_API) private readonly kubeApi: ClusterKubeApi,
    private readonly index: GrantIndexRepository,
    private readonly tenants: TenantsService,
    private readonly events: DomainEventBus,
    jobs: PeriodicJobs,
  ) {
    // One of the replicas that run the reconcile engine also re-onboards every grant periodically.
    this.resyncJob = jobs.create({
      name: 'onboarding resync',
      intervalMs: ONBOARDING_RESYNC_MS,
      initialDelayMs: 30_000 + Math.random() * 30_000,
      enabled: config.onboardingResyncEnabled,
      lease: { name: RESYNC_LEASE, ttlMs: 2 * ONBOARDING_RESYNC_MS },
      run: () => this.resyncAll(),
    });
  }

  onModuleInit(): void {
    // Runs are serialized per grant and retried here; the bus only starts them.
    this.unsubscribe = [
      this.events.subscribe(
        GrantChanged,
        (event) => {
          void this.sync(event.grant);
        },
        'GrantOnboardingService.sync',
      ),
      this.events.subscribe(
        ClusterChanged,
        (event) =>
          event.change === 'endpoint' || event.change === 'reachable'
            ? this.checkCluster(event.clusterId)
            : undefined,
        'GrantOnboardingService.checkCluster',
      ),
      this.events.subscribe(
        TenantAccessRefused,
        (event) => {
          this.check(event);
        },
        'GrantOnboardingService.check',
      ),
    ];
    this.resyncJob.start();
  }

  /** `resyncAll` on the replica holding the resync lease; a no-op elsewhere. */
  async resyncUnderLease(): Promise<void> {
    await this.resyncJob.runOnce();
  }

  /** Re-onboards every grant, one at a time (reads only, when nothing drifted). */
  async resyncAll(): Promise<void> {
    try {
      for (const key of await this.index.allKeys()) {
        if (this.closed) {
          return;
        }
        await this.resyncOne(key);
      }
    } catch (error) {
      this.logger.warn({
        msg: 'onboarding resync failed',
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    this.unsubscribe.forEach((unsubscribe) => unsubscribe());
    this.retries.forEach((t) => clearTimeout(t));
    this.retries.clear();
    await this.resyncJob.stop();
  }

  /** Converges the cluster to the grant's current state; resolves when this run ended (never rejects). */
  sync(known: Grant, attempt = 0): Promise<void> {
    const key = keyOf(known);
    return this.serialized(key, () => this.runOnce(known, key, attempt));
  }

  /**
   * Removes the tenant's onboarding objects from the grant's cluster, whatever
   * the grant row says, in turn with other runs for the grant. Rejects when
   * the cluster could not be cleaned: the caller keeps the grant and retries.
   */
  offboard(grant: Grant): Promise<void> {
    const key = keyOf(grant);
    return this.serialized(key, async () => {
      clearTimeout(this.retries.get(key));
      this.retries.delete(key);
      await this.remove(await this.kubeApi(grant.clusterId), grant.tenantName, []);
      this.logger.log({
        msg: 'tenant offboarded',
        tenant: grant.tenantName,
        cluster: grant.clusterName,
      });
    });
  }

  /** Checks every grant on a cluster now (new credentials, or it answers again). */
  private async checkCluster(clusterId: string): Promise<void> {
    for (const tenantId of await this.grants.tenantIdsOnCluster(clusterId)) {
      this.check({ tenantId, clusterId });
    }
  }

  /** Checks a grant now; asked while a check runs, once more after it. Started, not awaited. */
  private check(ids: { tenantId: string; clusterId: string }): void {
    const key = keyOf(ids);
    if (this.closed) {
      return;
    }
    if (this.checks.has(key)) {
      this.checks.set(key, 'again');
      return;
    }
    this.checks.set(key, 'running');
    void this.resyncOne(ids)
      .catch(() => undefined)
      .finally(() => {
        const again = this.checks.get(key) === 'again';
        this.checks.delete(key);
        if (again) {
          this.check(ids);
        }
      });
  }

  /**
   * One grant of the periodic pass: read once, in turn with the grant's other runs (a
   * change or deletion after the read queues its own run behind this one).
   */
  private resyncOne(ids: { tenantId: string; clusterId: string }): Promise<void> {
    const key = keyOf(ids);
    return this.serialized(key, async () => {
      const current = await this.grants.grantFor(ids.tenantId, ids.clusterId);
      if (current !== undefined) {
        await this.runOnce(current, key, 0, current);
      }
    });
  }

  /** One run per grant at a time; the returned promise is the run's own (it may reject). */
  private serialized(key: string, work: () => Promise<void>): Promise<void> {
    const previous = this.chains.get(key) ?? Promise.resolve();
    const run = previous.then(work);
    const settled = run.catch(() => undefined);
    this.chains.set(key, settled);
    void settled.finally(() => {
      if (this.chains.get(key) === settled) {
        this.chains.delete(key);
      }
    });
    return run;
  }

  /** `read`: the grant as just read in this run's turn, so it is not read twice. */
  private async runOnce(known: Grant, key: string, attempt: number, read?: Grant): Promise<void> {
    clearTimeout(this.retries.get(key));
    this.retries.delete(key);
    try {
      const current = read ?? (await this.grants.grantFor(known.tenantId, known.clusterId));
      // The tenant's deletion offboards, after its releases were pruned as its service account.
      if (
        current !== undefined &&
        (await this.tenants.getById(current.tenantId)).deletionRequestedAt !== null
      ) {
        return;
      }
      const api = await this.kubeApi(known.clusterId);
      if (current === undefined) {
        await this.remove(api, known.tenantName, []);
        this.logger.log({
          msg: 'tenant offboarded',
          tenant: known.tenantName,
          cluster: known.clusterName,
        });
      } else {
        const applied = await this.ensure(api, current);
        this.logger.log({
          msg: 'tenant onboarded',
          tenant: current.tenantName,
          cluster: current.clusterName,
          applied,
        });
        if (applied > 0) {
          this.events.publish(new GrantOnboarded(current.tenantId, current.clusterId, applied));
        }
      }
    } catch (error) {
      const delay = Math.min(5_000 * 2 ** attempt, MAX_RETRY_MS);
      this.logger.warn({
        msg: 'tenant onboarding failed; retrying',
        tenant: known.tenantName,
        cluster: known.clusterName,
        retryInMs: delay,
        error: error instanceof Error ? error.message : String(error),
      });
      if (!this.closed) {
        const timer = setTimeout(() => void this.sync(known, attempt + 1), delay);
        timer.unref();
        this.retries.set(key, timer);
      }
    }
  }

  /**
   * Applies the desired objects that are missing or drifted and removes
   * onboarding objects the grant no longer wants. Reads first: a no-op SSA is
   * still a write to the API server, and the periodic resync finds nothing to do.
   * Returns how many objects were applied.
   */
  async ensure(api: KubeApi, grant: Grant): Promise<number> {
    const desired = onboardingObjects(grant, this.config.tenantClusterRole);
    const [namespaces, onboarded] = await Promise.all([
      // Only ours by label: a granted namespace missing from it lacks our labels (or is absent).
      api.list('v1', 'Namespace', undefined, {
        labelSelector: onboardingSelector(grant.tenantName),
      }),
      this.listOnboarded(api, grant.tenantName),
    ]);
    const live = new Map([...namespaces, ...onboarded].map((o) => [refKey(refOf(o)), o]));
    let applied = 0;
    for (const obj of desired) {
      if (!inSync(obj, live.get(refKey(refOf(obj))))) {
        await this.apply(api, obj);
        applied += 1;
      }
    }
    await this.removeStale(api, onboarded, desired);
    return applied;
  }

  private async apply(api: KubeApi, obj: KubeObject): Promise<void> {
    const opts = { fieldManager: ONBOARDING_FIELD_MANAGER, force: true };
    try {
      await api.apply(obj, opts);
    } catch (error) {
      // roleRef is immutable: a changed target role means a new binding.
      if (
        isKubeError(error) &&
        (error.code === 'Invalid' || error.code === 'ImmutableField') &&
        obj.kind.endsWith('Binding')
      ) {
        await api.delete(refOf(obj));
        await api.apply(obj, opts);
        return;
      }
      throw error;
    }
  }

  /** Deletes this tenant's onboarding objects (by label) except `keep`; namespaces stay. */
  private async remove(api: KubeApi, tenant: string, keep: readonly KubeObject[]): Promise<void> {
    await this.removeStale(api, await this.listOnboarded(api, tenant), keep);
  }

  /** This tenant's live onboarding objects of the removable kinds: one LIST per kind. */
  private async listOnboarded(api: KubeApi, tenant: string): Promise<KubeObject[]> {
    const found: KubeObject[] = [];
    for (const kind of REMOVABLE_KINDS) {
      const objects = await api.list(kind.apiVersion, kind.kind, undefined, {
        labelSelector: onboardingSelector(tenant),
      });
      // The selector already says so; checked again because deleting is at stake.
      found.push(
        ...objects.filter((obj) => {
          const labels = obj.metadata.labels ?? {};
          return (
            labels[MANAGED_BY_LABEL] === MANAGED_BY && labels[ONBOARDED_TENANT_LABEL] === tenant
          );
        }),
      );
    }
    return found;
  }

  private async removeStale(
    api: KubeApi,
    onboarded: readonly KubeObject[],
    keep: readonly KubeObject[],
  ): Promise<void> {
    const kept = new Set(keep.map((o) => refKey(refOf(o))));
    for (const obj of onboarded) {
      if (!kept.has(refKey(refOf(obj)))) {
        await api.delete(refOf(obj), { uid: obj.metadata.uid });
      }
    }
  }
}

const keyOf = (grant: Pick<Grant, 'tenantId' | 'clusterId'>): string =>
  `${grant.tenantId}/${grant.clusterId}`;
