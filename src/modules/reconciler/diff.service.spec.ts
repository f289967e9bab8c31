import { describe, expect, it, vi } from 'vitest';
import type { ReleaseEntity } from 'src/modules/releases/entities/release.entity';
import type { ReleasesService } from 'src/modules/releases/releases.service';
import type { TargetsService, TargetView } from 'src/modules/releases/targets.service';
import type { TenantsService } from 'src/tenants/tenants.service';
import { DiffService } from './diff.service';
import type { ReconcileContextLoader } from './reconcile-context.loader';
import type { TargetReconciler } from './target.reconciler';

const release = { id: 'release-1', name: 'web', tenantId: 'tenant-1' } as ReleaseEntity;

const targetOf = (cluster: string, over: Partial<TargetView> = {}): TargetView =>
  ({
    id: `target-${cluster}`,
    tenantId: 'tenant-1',
    releaseId: release.id,
    releaseName: release.name,
    clusterId: `cluster-${cluster}`,
    clusterName: cluster,
    removing: false,
    inventory: [{ group: '', version: 'v1', kind: 'ConfigMap', namespace: 'apps', name: cluster }],
    ...over,
  }) as TargetView;

function setup(targets: TargetView[]) {
  const targetsService = {
    listForPlan: vi.fn(() => Promise.resolve(targets)),
    get: vi.fn((_tenant: string, _release: string, cluster: string) => {
      const found = targets.find((t) => t.clusterName === cluster);
      return found === undefined
        ? Promise.reject(new Error('TargetNotFound'))
        : Promise.resolve(found);
    }),
    list: vi.fn(),
  };
  // Plans from what it is given: the inventory shows up as prunes, so a listing
  // without it (a partial target) would show in the result.
  const contexts = { load: vi.fn((_claims: unknown[]) => Promise.resolve(new Map())) };
  const reconciler = {
    plan: vi.fn((_tenantId: string, _release: ReleaseEntity, t: TargetView) =>
      t.clusterName.startsWith('broken')
        ? Promise.reject(new Error('cluster unreachable'))
        : Promise.resolve({
            cluster: t.clusterName,
            revision: 'main@sha1:abc',
            changes: t.inventory.map((e) => ({ object: e.name, action: 'prune', fields: [] })),
          }),
    ),
  };
  const sut = new DiffService(
    { idOf: () => Promise.resolve('tenant-1') } as unknown as TenantsService,
    { load: () => Promise.resolve(release) } as unknown as ReleasesService,
    targetsService as unknown as TargetsService,
    reconciler as unknown as TargetReconciler,
    contexts as unknown as ReconcileContextLoader,
  );
  return { sut, targetsService, reconciler, contexts };
}

describe('DiffService', () => {
  it("plans each of a release's targets from one query, in cluster order", async () => {
    // More targets than one planning batch, one being removed, one that cannot be planned.
    const clusters = Array.from({ length: 10 }, (_, i) => `prod-${String(i).padStart(2, '0')}`);
    const { sut, targetsService, reconciler, contexts } = setup([
      targetOf('broken-1'),
      ...clusters.map((c) => targetOf(c)),
      targetOf('retired', { removing: true }),
    ]);

    const diffs = await sut.diff('team-a', 'web');

    expect(targetsService.listForPlan).toHaveBeenCalledTimes(1);
    expect(targetsService.listForPlan).toHaveBeenCalledWith('tenant-1', release.id, 500);
    expect(targetsService.get).not.toHaveBeenCalled();
    expect(targetsService.list).not.toHaveBeenCalled();
    expect(reconciler.plan).toHaveBeenCalledTimes(11);
    // The contexts of every planned target in one load.
    expect(contexts.load).toHaveBeenCalledTimes(1);
    expect(contexts.load.mock.calls[0]?.[0]).toHaveLength(11);
    expect(diffs).toEqual([
      { cluster: 'broken-1', revision: null, changes: [], error: 'cluster unreachable' },
      ...clusters.map((c) => ({
        cluster: c,
        revision: 'main@sha1:abc',
        changes: [{ object: c, action: 'prune', fields: [] }],
      })),
    ]);
  });

  it("plans only the named cluster's target", async () => {
    const { sut, targetsService } = setup([targetOf('prod-eu'), targetOf('prod-us')]);

    expect(await sut.diff('team-a', 'web', 'prod-us')).toEqual([
      {
        cluster: 'prod-us',
        revision: 'main@sha1:abc',
        changes: [{ object: 'prod-us', action: 'prune', fields: [] }],
      },
    ]);
    expect(targetsService.get).toHaveBeenCalledTimes(1);
    expect(targetsService.listForPlan).not.toHaveBeenCalled();
  });
});
