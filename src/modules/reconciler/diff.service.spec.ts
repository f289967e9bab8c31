import { describe, expect, it } from 'vitest';
import type { Release } from 'src/modules/releases/releases.types';
import type { TargetView } from 'src/modules/releases/targets.service';
import { automock } from 'test/support/mocks/automock';
import { DiffService } from './diff.service';
import type { ReconcileContext } from './reconcile-context.loader';

const release: Partial<Release> = { id: 'release-1', name: 'web', tenantId: 'tenant-1' };

const targetOf = (cluster: string, over: Partial<TargetView> = {}): Partial<TargetView> => ({
  id: `target-${cluster}`,
  tenantId: 'tenant-1',
  releaseId: 'release-1',
  releaseName: 'web',
  clusterId: `cluster-${cluster}`,
  clusterName: cluster,
  removing: false,
  inventory: [{ group: '', version: 'v1', kind: 'ConfigMap', namespace: 'apps', name: cluster }],
  ...over,
});

function setup(partials: Partial<TargetView>[]) {
  // Fixtures carry only the fields the diff reads.
  const targets: TargetView[] = partials.map((t) => Object.assign(Object.create(null), t));
  const built = automock(DiffService, ['tenants', 'releases', 'targets', 'planner', 'contexts']);
  const { deps } = built;
  deps.tenants.idOf.mockResolvedValue('tenant-1');
  deps.releases.load.mockResolvedValue(Object.assign(Object.create(null), release));
  deps.targets.listForPlan.mockResolvedValue(targets);
  deps.targets.get.mockImplementation((_tenant, _release, cluster) => {
    const found = targets.find((t) => t.clusterName === cluster);
    return found === undefined
      ? Promise.reject(new Error('TargetNotFound'))
      : Promise.resolve(found);
  });
  // Plans from what it is given: the inventory shows up as prunes, so a listing
  // without it (a partial target) would show in the result.
  deps.contexts.load.mockResolvedValue(new Map<string, ReconcileContext>());
  deps.planner.plan.mockImplementation((_tenantId, _release, t) =>
    t.clusterId.startsWith('cluster-broken')
      ? Promise.reject(new Error('cluster unreachable'))
      : Promise.resolve({
          cluster: t.clusterId.replace(/^cluster-/, ''),
          revision: 'main@sha1:abc',
          changes: t.inventory.map((e) => ({ object: e.name, action: 'prune', fields: [] })),
        }),
  );
  return built;
}

describe(DiffService.name, () => {
  it("plans each of a release's targets from one query, in cluster order", async () => {
    // More targets than one planning batch, one being removed, one that cannot be planned.
    const clusters = Array.from({ length: 10 }, (_, i) => `prod-${String(i).padStart(2, '0')}`);
    const { sut, deps } = setup([
      targetOf('broken-1'),
      ...clusters.map((c) => targetOf(c)),
      targetOf('retired', { removing: true }),
    ]);

    const diffs = await sut.diff('team-a', 'web');

    expect(deps.targets.listForPlan).toHaveBeenCalledTimes(1);
    expect(deps.targets.listForPlan).toHaveBeenCalledWith('tenant-1', 'release-1', 500);
    expect(deps.targets.get).not.toHaveBeenCalled();
    expect(deps.targets.list).not.toHaveBeenCalled();
    expect(deps.planner.plan).toHaveBeenCalledTimes(11);
    // The contexts of every planned target in one load.
    expect(deps.contexts.load).toHaveBeenCalledTimes(1);
    expect(deps.contexts.load).toHaveBeenCalledWith(
      ['broken-1', ...clusters].map((c) => ({
        id: `target-${c}`,
        tenantId: 'tenant-1',
        releaseId: 'release-1',
        clusterId: `cluster-${c}`,
        fencingToken: '0',
      })),
    );
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
    const { sut, deps } = setup([targetOf('prod-eu'), targetOf('prod-us')]);

    expect(await sut.diff('team-a', 'web', 'prod-us')).toEqual([
      {
        cluster: 'prod-us',
        revision: 'main@sha1:abc',
        changes: [{ object: 'prod-us', action: 'prune', fields: [] }],
      },
    ]);
    expect(deps.targets.get).toHaveBeenCalledTimes(1);
    expect(deps.targets.listForPlan).not.toHaveBeenCalled();
  });
});
