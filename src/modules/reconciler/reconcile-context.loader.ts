import { Injectable } from '@nestjs/common';
import { ClustersService } from 'src/clusters/clusters.service';
import type { Cluster } from 'src/clusters/cluster.types';
import { ReleasesService } from 'src/modules/releases/releases.service';
import type { Release } from 'src/modules/releases/releases.types';
import type { Target } from 'src/modules/releases/releases.types';
import { TargetsService } from 'src/modules/releases/targets.service';
import type { ClaimedTarget } from './target-queue.repository';
import type { Source } from 'src/modules/sources/source.types';
import { SourcesService } from 'src/modules/sources/sources.service';
import type { Grant } from 'src/tenants/grants/grant.types';
import { GrantsService } from 'src/tenants/grants/grants.service';
import { TenantsService } from 'src/tenants/tenants.service';

/** Everything one reconcile reads from the database before it touches a cluster. */
export interface ReconcileContext {
  target: Target;
  release: Release;
  cluster: Cluster;
  tenantName: string;
  /** Absent: the tenant holds no grant on the cluster (any more). */
  grant: Grant | undefined;
  /** Absent: the source was deleted under the release. */
  source: Source | undefined;
  /**
   * Another release of the tenant lists this one in `dependsOn` (as loaded): only then
   * does this target turning Ready wake dependents. A dependent created later starts due.
   */
  hasDependents: boolean;
}

/**
 * Loads the contexts of a whole claimed batch with one query per table instead
 * of six per target: at fleet scale the round trips, not the rows, are the cost.
 */
@Injectable()
export class ReconcileContextLoader {
  constructor(
    private readonly targets: TargetsService,
    private readonly releases: ReleasesService,
    private readonly clusters: ClustersService,
    private readonly tenants: TenantsService,
    private readonly grants: GrantsService,
    private readonly sources: SourcesService,
  ) {}

  /**
   * Contexts by target id. A target whose row, release, cluster or tenant is gone
   * (deleted meanwhile) has no entry: there is nothing left to reconcile.
   */
  async load(claims: readonly ClaimedTarget[]): Promise<Map<string, ReconcileContext>> {
    const contexts = new Map<string, ReconcileContext>();
    if (claims.length === 0) {
      return contexts;
    }
    const [targets, releases, clusters, tenantNames, grants] = await Promise.all([
      this.targets.findByTenantRowIds(claims.map((c) => ({ tenantId: c.tenantId, id: c.id }))),
      this.releases.findForReconcile(
        claims.map((c) => ({ tenantId: c.tenantId, id: c.releaseId })),
      ),
      this.clusters.getByIds(claims.map((c) => c.clusterId)),
      this.tenants.namesByIds(claims.map((c) => c.tenantId)),
      this.grants.grantsFor(
        uniqueBy(
          claims.map((c) => ({ tenantId: c.tenantId, clusterId: c.clusterId })),
          (p) => `${p.tenantId}/${p.clusterId}`,
        ),
      ),
    ]);
    const sources = await this.sources.getByTenantRowIds(
      releases.map(({ release: r }) => ({ tenantId: r.tenantId, id: r.sourceId })),
    );
    const targetById = new Map(targets.map((t) => [t.id, t]));
    const releaseById = new Map(releases.map((r) => [r.release.id, r]));
    for (const claim of claims) {
      const target = targetById.get(claim.id);
      const loaded = releaseById.get(claim.releaseId);
      const release = loaded?.release;
      const cluster = clusters.get(claim.clusterId);
      const tenantName = tenantNames.get(claim.tenantId);
      // Ids come from the claimed row; a mismatch means the row was replaced meanwhile.
      if (
        target === undefined ||
        release === undefined ||
        cluster === undefined ||
        tenantName === undefined ||
        target.tenantId !== claim.tenantId ||
        release.tenantId !== claim.tenantId
      ) {
        continue;
      }
      const source = sources.get(release.sourceId);
      contexts.set(claim.id, {
        target,
        release,
        cluster,
        tenantName,
        grant: grants.get(`${claim.tenantId}/${claim.clusterId}`),
        source: source?.tenantId === claim.tenantId ? source : undefined,
        hasDependents: loaded?.hasDependents === true,
      });
    }
    return contexts;
  }
}

function uniqueBy<T>(values: readonly T[], key: (value: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const value of values) {
    seen.set(key(value), value);
  }
  return [...seen.values()];
}
