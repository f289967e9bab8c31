import { Injectable } from '@nestjs/common';
import { ReleasesService } from 'src/modules/releases/releases.service';
import { TargetsService } from 'src/modules/releases/targets.service';
import { TenantsService } from 'src/tenants/tenants.service';
import { TargetReconciler } from './target.reconciler';

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
    private readonly reconciler: TargetReconciler,
  ) {}

  async diff(tenantName: string, releaseName: string, cluster?: string): Promise<TargetDiff[]> {
    const tenantId = await this.tenants.idOf(tenantName);
    const release = await this.releases.load(tenantId, releaseName);
    const targets =
      cluster === undefined
        ? (await this.targets.list(tenantName, { release: releaseName }, 500, undefined)).items
        : [await this.targets.get(tenantName, releaseName, cluster)];
    const results: TargetDiff[] = [];
    for (let i = 0; i < targets.length; i += PLAN_CONCURRENCY) {
      const batch = targets.slice(i, i + PLAN_CONCURRENCY).filter((t) => !t.removing);
      results.push(
        ...(await Promise.all(
          batch.map(async (t) => {
            try {
              // Listings leave the inventory out; the plan needs the whole target.
              const full = await this.targets.get(tenantName, releaseName, t.clusterName);
              return await this.reconciler.plan(tenantId, release, full);
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
