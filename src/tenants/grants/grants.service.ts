import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { ClusterError } from 'src/clusters/clusters.errors';
import { ClustersService } from 'src/clusters/clusters.service';
import { isForeignKeyViolation, isUniqueViolation } from 'src/common/database/db-errors';
import { decodeContinueToken, filterDigest, Page, toPage } from 'src/common/api/pagination';
import { DomainEventBus } from 'src/common/events/domain-event-bus';
import { TenantError } from 'src/tenants/tenants.errors';
import { TenantsService } from 'src/tenants/tenants.service';
import { GrantRepository } from './grant.repository';
import { defaultServiceAccountName, Grant, GrantInput } from './grant.types';
import { GrantChange, GrantChanged } from './grants.events';

@Injectable()
export class GrantsService {
  constructor(
    private readonly grants: GrantRepository,
    private readonly clusters: ClustersService,
    private readonly tenants: TenantsService,
    private readonly events: DomainEventBus,
  ) {}

  /** Publishes the grant as read back after its commit (onboarding applies what is stored). */
  private published(grant: Grant, change: GrantChange): Grant {
    this.events.publish(new GrantChanged(change, grant));
    return grant;
  }

  async create(clusterName: string, tenantName: string, input: GrantInput): Promise<Grant> {
    const cluster = await this.clusters.get(clusterName);
    const tenantId = await this.tenantIdFor(tenantName);
    try {
      await this.underTenantLock(tenantId, tenantName, false, (m) =>
        this.grants.insert(
          {
            tenantId,
            clusterId: cluster.id,
            namespaces: dedupe(input.namespaces),
            serviceAccountName: input.serviceAccountName ?? defaultServiceAccountName(tenantName),
            clusterScopedKinds: dedupe(input.clusterScopedKinds ?? []),
          },
          m,
        ),
      );
    } catch (error) {
      if (isUniqueViolation(error, 'UQ_grant_tenant_cluster')) {
        throw new ClusterError(
          'GrantExists',
          `Tenant "${tenantName}" already has a grant on cluster "${clusterName}"; update it instead`,
        );
      }
      if (isForeignKeyViolation(error)) {
        // The cluster or tenant was deleted meanwhile.
        throw new ClusterError('ClusterNotFound', `Cluster "${clusterName}" not found`);
      }
      throw error;
    }
    return this.published(await this.get(clusterName, tenantName), 'created');
  }

  async get(clusterName: string, tenantName: string): Promise<Grant> {
    const cluster = await this.clusters.get(clusterName);
    const tenantId = await this.tenantIdFor(tenantName, true);
    const grant = await this.grants.findForTenantOnCluster(tenantId, cluster.id);
    if (grant === undefined) {
      throw new ClusterError(
        'GrantNotFound',
        `Tenant "${tenantName}" has no grant on cluster "${clusterName}"`,
      );
    }
    return grant;
  }

  /** Admin view: grants on one cluster, by tenant name. */
  async listForCluster(
    clusterName: string,
    page: { limit: number; continue?: string },
  ): Promise<Page<Grant>> {
    const cluster = await this.clusters.get(clusterName);
    const digest = filterDigest({ list: 'grants', cluster: cluster.id });
    const after = decodeContinueToken(page.continue, digest, 1);
    const rows = await this.grants.listForCluster(cluster.id, after?.[0], page.limit);
    return toPage(
      rows,
      page.limit,
      (g) => [g.tenantName],
      digest,
      (g) => g,
    );
  }

  /** Every grant of one tenant (what the reconciler may touch for it). */
  async listForTenant(tenantId: string): Promise<Grant[]> {
    return this.grants.listForTenant(tenantId);
  }

  /** Tenants holding a grant on the cluster (whose releases may select it). */
  async tenantIdsOnCluster(clusterId: string): Promise<string[]> {
    return this.grants.tenantIdsOnCluster(clusterId);
  }

  /** The tenant's grant on a cluster, or undefined: no grant, no apply. */
  async grantFor(tenantId: string, clusterId: string): Promise<Grant | undefined> {
    return this.grants.findForTenantOnCluster(tenantId, clusterId);
  }

  /** Grants of several (tenant, cluster) pairs, keyed `tenantId/clusterId`. */
  async grantsFor(
    pairs: readonly { tenantId: string; clusterId: string }[],
  ): Promise<Map<string, Grant>> {
    const found = await this.grants.findForPairs(pairs);
    return new Map(found.map((g) => [`${g.tenantId}/${g.clusterId}`, g]));
  }

  async update(
    clusterName: string,
    tenantName: string,
    patch: Partial<GrantInput>,
  ): Promise<Grant> {
    const cluster = await this.clusters.get(clusterName);
    const tenantId = await this.tenantIdFor(tenantName, true);
    const found = await this.underTenantLock(tenantId, tenantName, true, (m) =>
      this.grants.update(
        tenantId,
        cluster.id,
        {
          ...(patch.namespaces !== undefined ? { namespaces: dedupe(patch.namespaces) } : {}),
          ...(patch.serviceAccountName !== undefined
            ? { serviceAccountName: patch.serviceAccountName }
            : {}),
          ...(patch.clusterScopedKinds !== undefined
            ? { clusterScopedKinds: dedupe(patch.clusterScopedKinds) }
            : {}),
        },
        m,
      ),
    );
    if (!found) {
      throw new ClusterError(
        'GrantNotFound',
        `Tenant "${tenantName}" has no grant on cluster "${clusterName}"`,
      );
    }
    return this.published(await this.get(clusterName, tenantName), 'changed');
  }

  async delete(clusterName: string, tenantName: string): Promise<Grant> {
    const grant = await this.get(clusterName, tenantName);
    if (!(await this.grants.delete(grant.tenantId, grant.clusterId))) {
      throw new ClusterError(
        'GrantNotFound',
        `Tenant "${tenantName}" has no grant on cluster "${clusterName}"`,
      );
    }
    return this.published(grant, 'deleted');
  }

  /**
   * Deletes the row of a grant whose cluster objects the tenant's deletion
   * has already removed; unlike `delete`, nobody is told to offboard again.
   */
  async removeOffboarded(grant: Grant): Promise<boolean> {
    return this.grants.delete(grant.tenantId, grant.clusterId);
  }

  private async tenantIdFor(name: string, asGrantLookup = false): Promise<string> {
    try {
      return await this.tenants.idOf(name);
    } catch (error) {
      throw tenantNotFoundAsGrantError(error, name, asGrantLookup);
    }
  }

  /**
   * Writes under the tenant's row lock, refused while the tenant is being deleted
   * (409 TenantDeleting): the cascading delete marks the tenant under the same
   * lock, so no grant can be created or changed after its offboarding started.
   */
  private async underTenantLock<T>(
    tenantId: string,
    name: string,
    asGrantLookup: boolean,
    write: (m: EntityManager) => Promise<T>,
  ): Promise<T> {
    return this.grants.transaction(async (m) => {
      try {
        await this.tenants.lockForNewObjects(m, tenantId);
      } catch (error) {
        throw tenantNotFoundAsGrantError(error, name, asGrantLookup);
      }
      return write(m);
    });
  }
}

function tenantNotFoundAsGrantError(error: unknown, name: string, asGrantLookup: boolean): unknown {
  if (!(error instanceof TenantError && error.code === 'TenantNotFound')) {
    return error;
  }
  if (asGrantLookup) {
    return new ClusterError('GrantNotFound', `Tenant "${name}" has no grant on this cluster`);
  }
  return new ClusterError('UnknownTenant', `tenant: tenant "${name}" does not exist`, [
    { field: 'tenant', message: 'no such tenant' },
  ]);
}

const dedupe = (values: readonly string[]): string[] => [...new Set(values)];
