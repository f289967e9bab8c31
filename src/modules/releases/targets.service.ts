import type { TenantRowId } from 'src/common/database/tenant-row-ids';
import type { ClusterPeer, Target } from './releases.types';
import { Injectable } from '@nestjs/common';
import { ClustersService } from 'src/clusters/clusters.service';
import type { Page } from 'src/common/api/pagination';
import { TenantsService } from 'src/tenants/tenants.service';
import type { TargetRunEntity } from './entities/target-run.entity';
import type { ConditionStatus, TargetEntity } from './entities/target.entity';
import { ReleasesService } from './releases.service';
import { ReleaseError } from './releases.errors';
import { TargetRepository } from './target.repository';

export type TargetView = TargetEntity & { clusterName: string; releaseName: string };

/** Read and control targets by (tenant, release name, cluster name). */
@Injectable()
export class TargetsService {
  constructor(
    private readonly targets: TargetRepository,
    private readonly releases: ReleasesService,
    private readonly tenants: TenantsService,
    private readonly clusters: ClustersService,
  ) {}

  /** A claimed batch's targets, each read by its tenant and id. */
  findByTenantRowIds(keys: readonly TenantRowId[]): Promise<Target[]> {
    return this.targets.findByTenantRowIds(keys);
  }

  /** Makes the given targets of a tenant due now (a trigger, not a user request). */
  enqueue(
    tenantId: string,
    where: { targetId?: string; releaseId?: string; releaseIds?: readonly string[] },
  ): Promise<number> {
    return this.targets.enqueue(tenantId, where);
  }

  /** Makes every target on a cluster due now (the cluster came back). */
  enqueueCluster(clusterId: string): Promise<number> {
    return this.targets.enqueueCluster(clusterId);
  }

  /** The other targets on a cluster with their inventories and claims (one query). */
  peersOnCluster(clusterId: string, exceptTargetId: string): Promise<ClusterPeer[]> {
    return this.targets.peersOnCluster(clusterId, exceptTargetId);
  }

  /** Makes targets of any tenant due now: objects they hold changed under them. */
  enqueueTargets(keys: readonly TenantRowId[]): Promise<number> {
    return this.targets.enqueueTargets(keys);
  }

  /** The target of one release on one cluster (a dependsOn check), or null. */
  findForCluster(tenantId: string, releaseId: string, clusterId: string): Promise<Target | null> {
    return this.targets.findForCluster(tenantId, releaseId, clusterId);
  }

  async list(
    tenantName: string,
    filters: { release?: string; cluster?: string; ready?: ConditionStatus },
    limit: number,
    token: string | undefined,
  ): Promise<Page<TargetView>> {
    const tenantId = await this.tenants.idOf(tenantName);
    const releaseId =
      filters.release === undefined
        ? undefined
        : (await this.releases.load(tenantId, filters.release)).id;
    const clusterId =
      filters.cluster === undefined ? undefined : await this.clusterIdOf(filters.cluster);
    return this.targets.list(
      tenantId,
      { releaseId, clusterId, ready: filters.ready },
      limit,
      token,
    );
  }

  /** A release's whole targets (inventory included) in one query, for dry-run plans. */
  listForPlan(tenantId: string, releaseId: string, limit: number): Promise<TargetView[]> {
    return this.targets.forRelease(tenantId, releaseId, limit);
  }

  async get(tenantName: string, release: string, cluster: string): Promise<TargetView> {
    const { tenantId, target } = await this.find(tenantName, release, cluster);
    return Object.assign(target, { tenantId, clusterName: cluster, releaseName: release });
  }

  async history(tenantName: string, release: string, cluster: string): Promise<TargetRunEntity[]> {
    const { tenantId, target } = await this.find(tenantName, release, cluster);
    return this.targets.history(tenantId, target.id);
  }

  async reconcile(tenantName: string, release: string, cluster: string): Promise<number> {
    const { tenantId, target, suspendedRelease } = await this.find(tenantName, release, cluster);
    if (suspendedRelease) {
      throw new ReleaseError(
        'ReleaseSuspended',
        `release "${release}" is suspended; resume it first`,
      );
    }
    if (target.suspended) {
      throw new ReleaseError(
        'TargetSuspended',
        `the target of release "${release}" on cluster "${cluster}" is suspended; resume it first`,
      );
    }
    return this.targets.enqueue(tenantId, { targetId: target.id }, undefined, { freshRead: true });
  }

  async setSuspended(
    tenantName: string,
    release: string,
    cluster: string,
    suspended: boolean,
  ): Promise<TargetView> {
    const { tenantId, target } = await this.find(tenantName, release, cluster);
    await this.targets.setSuspended(tenantId, target.id, suspended);
    return this.get(tenantName, release, cluster);
  }

  private async clusterIdOf(name: string): Promise<string> {
    try {
      return (await this.clusters.get(name)).id;
    } catch {
      // A cluster the tenant has no target on is as unknown as a missing one.
      throw new ReleaseError('TargetNotFound', `no target on cluster "${name}"`);
    }
  }

  private async find(
    tenantName: string,
    releaseName: string,
    clusterName: string,
  ): Promise<{ tenantId: string; target: TargetEntity; suspendedRelease: boolean }> {
    const tenantId = await this.tenants.idOf(tenantName);
    const release = await this.releases.load(tenantId, releaseName);
    const clusterId = await this.clusterIdOf(clusterName);
    const target = await this.targets.findForCluster(tenantId, release.id, clusterId);
    if (target === null) {
      throw new ReleaseError(
        'TargetNotFound',
        `release "${releaseName}" has no target on cluster "${clusterName}"`,
      );
    }
    return { tenantId, target, suspendedRelease: release.suspended };
  }
}
