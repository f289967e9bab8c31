import { Injectable } from '@nestjs/common';
import { MAX_PAGE_LIMIT } from 'src/common/api/pagination';
import { ReleasesService } from 'src/modules/releases/releases.service';
import { TargetsService } from 'src/modules/releases/targets.service';
import { TenantsService } from 'src/tenants/tenants.service';
import { ReconcileContextLoader } from './reconcile-context.loader';
import { TargetPlanner } from './target.planner';

export interface TargetDiff {
  cluster: string;
  revision: string | null;
  changes: { object: string; action: string; fields: string[] }[];
  error?: string;
}

const PLAN_CONCURRENCY = 8;

/** Dry-run plans of a release's targets; a target that cannot be planned reports why. */
@Injectable()
export class DiffService {
  constructor(
    private readonly tenants: TenantsService,
    private readonly releases: ReleasesService,
    private readonly targets: TargetsService,
    private readonly planner: TargetPlanner,
    private readonly contexts: ReconcileContextLoader,
  ) {}

  async diff(tenantName: string, releaseName: string, cluster?: string): Promise<TargetDiff[]> {
    const tenantId = await this.tenants.idOf(tenantName);
    const release = await this.releases.load(tenantId, releaseName);
    // Whole targets in one query (the plan prunes against the inventory); at most the
    // largest page of a target listing.
    const targets =
      cluster === undefined
        ? await this.targets.listForPlan(tenantId, release.id, MAX_PAGE_LIMIT)
        : [await this.targets.get(tenantName, releaseName, cluster)];
    const planned = targets.filter((t) => !t.removing);
    // One context load for all of them, not six queries per target.
    const contexts = await this.contexts.load(
      planned.map((t) => ({
        id: t.id,
        tenantId,
        releaseId: release.id,
        clusterId: t.clusterId,
        fencingToken: '0',
      })),
    );
    const results: TargetDiff[] = [];
    for (let i = 0; i < planned.length; i += PLAN_CONCURRENCY) {
      const batch = planned.slice(i, i + PLAN_CONCURRENCY);
      results.push(
        ...(await Promise.all(
          batch.map(async (t) => {
            try {
              return await this.planner.plan(tenantId, release, t, contexts);
            } catch (error) {
              return {
                cluster: t.clusterName,
                revision: null,
                changes: [],
                error: error instanceof Error ? error.message : String(error),
              };
            }
          }),
        )),
      );
    }
    return results;
  }
}
