import { describe, expect, it } from 'vitest';
import type { KubeApi } from 'src/common/kube/kube-api.client';
import type { ClusterPeer } from 'src/modules/releases/releases.types';
import { configMap, reconcileContext } from 'test/support/factories/reconcile-context.factory';
import { automock, mockOf } from 'test/support/mocks/automock';
import type { Applied } from './apply.step';
import { PruneStep } from './prune.step';
import { SharedObjectsPruned } from '../reconciler.events';

const keep = { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'keep' };
const gone = { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'gone' };
const ctx = reconcileContext({ target: { inventory: [keep, gone] } });
const applied: Applied = {
  objects: [],
  inventory: [{ ...keep, appliedHash: 'h' }],
  counts: { applied: 1, unchanged: 0, pruned: 0, drifted: 0 },
  drift: [],
};

function peer(over: Partial<ClusterPeer>): ClusterPeer {
  return {
    targetId: 'target-2',
    tenantId: 'tenant-1',
    tenantName: 'team-a',
    releaseName: 'other',
    departing: false,
    adopt: 'IfUnowned',
    inventory: [],
    conflicts: [],
    ...over,
  };
}

function build(): ReturnType<
  typeof automock<typeof PruneStep, ['pruner', 'targets', 'events', 'bus']>
> {
  const built = automock(PruneStep, ['pruner', 'targets', 'events', 'bus']);
  built.deps.targets.peersOnCluster.mockResolvedValue([]);
  return built;
}

describe(PruneStep.name, () => {
  it('never prunes a namespace the release stopped declaring, nor when the release goes', async () => {
    const { sut, deps } = build();
    const api = mockOf<KubeApi>();
    const ns = { group: '', version: 'v1', kind: 'Namespace', name: 'apps' };
    const declared = reconcileContext({ target: { inventory: [ns, keep, gone] } });
    deps.pruner.prune.mockResolvedValue({ deleted: [gone], skipped: [], errors: [] });

    api.list.mockResolvedValue([]);

    await sut.run(declared, api, declared.grant!, applied);
    await sut.removeAll(declared, api);

    expect(deps.pruner.prune).toHaveBeenCalledTimes(2);
    // The guard keeps a granted namespace's Namespace, empty or not, in a run or a removal.
    const liveNs = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } };
    for (const [, , , options] of deps.pruner.prune.mock.calls) {
      expect(await options.guard?.(ns, liveNs)).toMatchObject({ reason: 'GrantedNamespace' });
    }
    expect(sut.plan(declared, []).map((c) => c.object)).not.toContain('Namespace apps');
  });

  it('prunes what left the inventory, counts it and records an event per deleted object', async () => {
    const { sut, deps } = build();
    const api = mockOf<KubeApi>();
    deps.pruner.prune.mockResolvedValue({ deleted: [gone], skipped: [], errors: [] });

    expect(await sut.run(ctx, api, ctx.grant!, applied)).toEqual({
      ok: true,
      value: { applied: 1, unchanged: 0, pruned: 1, drifted: 0 },
    });
    expect(deps.pruner.prune).toHaveBeenCalledWith(
      api,
      [keep, gone],
      applied.inventory,
      expect.objectContaining({
        owner: { tenant: 'team-a', release: 'web' },
        serviceAccount: { namespace: 'apps', name: 'deployer' },
      }),
    );
    expect(deps.events.record).toHaveBeenCalledWith([
      expect.objectContaining({
        tenantId: 'tenant-1',
        objectKind: 'Target',
        objectName: 'web/prod-eu',
        reason: 'ObjectPruned',
        message: 'deleted ConfigMap/apps/gone: it left the release',
      }),
    ]);
    expect(deps.bus.publish).not.toHaveBeenCalled();
  });

  it('reads nothing when nothing left the inventory', async () => {
    const { sut, deps } = build();
    const steady = reconcileContext({ target: { inventory: [keep] } });

    await sut.run(steady, mockOf<KubeApi>(), steady.grant!, applied);

    expect(deps.targets.peersOnCluster).not.toHaveBeenCalled();
    expect(deps.pruner.prune).not.toHaveBeenCalled();
  });

  it('records why an object was kept', async () => {
    const { sut, deps } = build();
    deps.pruner.prune.mockResolvedValue({
      deleted: [],
      skipped: [
        {
          ref: gone,
          reason: 'PruneDisabled',
          message: 'ConfigMap/apps/gone is marked helm.sh/resource-policy: keep',
        },
      ],
      errors: [],
    });

    await sut.run(ctx, mockOf<KubeApi>(), ctx.grant!, applied);

    expect(deps.events.record).toHaveBeenCalledWith([
      expect.objectContaining({
        reason: 'PruneSkipped',
        message: 'ConfigMap/apps/gone is marked helm.sh/resource-policy: keep',
        metadata: { object: 'ConfigMap/apps/gone', why: 'PruneDisabled' },
      }),
    ]);
  });

  it('keeps an object another target on the cluster renders, and wakes that target', async () => {
    const { sut, deps } = build();
    deps.targets.peersOnCluster.mockResolvedValue([peer({ conflicts: [gone] })]);
    deps.pruner.prune.mockImplementation(async (_api, _prev, _cur, opts) => {
      const kept = await opts.guard!(gone, configMap('gone'));
      return {
        deleted: [],
        skipped: kept === undefined ? [] : [{ ref: gone, ...kept }],
        errors: [],
      };
    });

    await sut.run(ctx, mockOf<KubeApi>(), ctx.grant!, applied);

    expect(deps.events.record).toHaveBeenCalledWith([
      expect.objectContaining({
        reason: 'PruneSkipped',
        metadata: { object: 'ConfigMap/apps/gone', why: 'HandedOver' },
        message: 'ConfigMap/apps/gone is kept: release "other" on this cluster renders it now',
      }),
    ]);
    expect(deps.bus.publish).toHaveBeenCalledWith(
      new SharedObjectsPruned('cluster-1', [{ tenantId: 'tenant-1', id: 'target-2' }]),
    );
  });

  it('wakes the targets whose objects went with a deleted Namespace, naming no other tenant', async () => {
    const { sut, deps } = build();
    const ns = { group: '', version: 'v1', kind: 'Namespace', name: 'apps' };
    const withNs = reconcileContext({ target: { inventory: [keep, ns] } });
    deps.targets.peersOnCluster.mockResolvedValue([
      peer({
        tenantId: 'tenant-2',
        tenantName: 'team-b',
        targetId: 't-b',
        inventory: [{ ...keep, name: 'theirs' }],
      }),
      peer({ targetId: 't-c', inventory: [{ ...keep, namespace: 'elsewhere' }] }),
    ]);
    deps.pruner.prune.mockResolvedValue({ deleted: [ns], skipped: [], errors: [] });

    await sut.run(withNs, mockOf<KubeApi>(), withNs.grant!, applied);

    expect(deps.bus.publish).toHaveBeenCalledWith(
      new SharedObjectsPruned('cluster-1', [{ tenantId: 'tenant-2', id: 't-b' }]),
    );
  });

  it('prunes nothing when the release does not prune', async () => {
    const { sut, deps } = build();
    const noPrune = reconcileContext({ release: { prune: false }, target: { inventory: [gone] } });

    expect(await sut.run(noPrune, mockOf<KubeApi>(), noPrune.grant!, applied)).toEqual({
      ok: true,
      value: applied.counts,
    });
    expect(deps.pruner.prune).not.toHaveBeenCalled();
    expect(sut.plan(noPrune, [])).toEqual([]);
  });

  it('keeps tracking what could not be pruned', async () => {
    const { sut, deps } = build();
    deps.pruner.prune.mockResolvedValue({
      deleted: [],
      skipped: [],
      errors: [{ ref: gone, code: 'Conflict', message: 'the object has been modified' }],
    });

    expect(await sut.run(ctx, mockOf<KubeApi>(), ctx.grant!, applied)).toMatchObject({
      ok: false,
      end: {
        reason: 'PruneFailed',
        message: 'ConfigMap/apps/gone: the object has been modified',
        inventory: [{ ...keep, appliedHash: 'h' }, gone],
        counts: { pruned: 0 },
        retry: 'backoff',
      },
    });
  });

  it('ends with Forbidden when RBAC refused the delete, naming verb, resource and identity', async () => {
    const { sut, deps } = build();
    deps.pruner.prune.mockResolvedValue({
      deleted: [],
      skipped: [],
      errors: [
        {
          ref: gone,
          code: 'Forbidden',
          message: 'delete ConfigMap gone: forbidden',
          request: { verb: 'delete', resource: 'configmaps' },
        },
      ],
    });

    const outcome = await sut.run(ctx, mockOf<KubeApi>(), ctx.grant!, applied);

    expect(outcome).toMatchObject({
      ok: false,
      end: { reason: 'Forbidden', inventory: [{ ...keep, appliedHash: 'h' }, gone] },
    });
    expect(outcome.ok ? '' : outcome.end.message).toMatch(
      /^ConfigMap\/apps\/gone: forbidden: system:serviceaccount:apps:deployer may not delete configmaps in namespace apps; check the tenant's grant on cluster /,
    );
  });

  it('plans the prune of inventory entries no longer desired', () => {
    const { sut } = build();

    expect(sut.plan(ctx, [configMap('keep')])).toEqual([
      { object: 'ConfigMap/apps/gone', action: 'prune', fields: [] },
    ]);
  });
});
