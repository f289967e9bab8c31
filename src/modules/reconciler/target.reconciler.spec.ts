import { describe, expect, it } from 'vitest';
import type { KubeApiClient } from 'src/common/kube/kube-api.client';
import type { TargetCondition } from 'src/modules/releases/releases.types';
import {
  claimOf,
  reconcileContext,
  type ContextOverrides,
} from 'test/support/factories/reconcile-context.factory';
import { automock, mockOf } from 'test/support/mocks/automock';
import { TargetReconciler } from './target.reconciler';

const NAMES = ['contexts', 'pipeline', 'status', 'pool', 'pruner', 'metrics', 'applier'] as const;
const labels = { tenant: 'team-a', cluster: 'prod-eu', release: 'web' };

function setup(over: ContextOverrides = {}) {
  const ctx = reconcileContext(over);
  const built = automock(TargetReconciler, NAMES);
  built.deps.contexts.load.mockResolvedValue(new Map([[ctx.target.id, ctx]]));
  built.deps.status.record.mockResolvedValue(true);
  built.deps.status.removed.mockResolvedValue(true);
  built.deps.pipeline.desired.mockResolvedValue({
    ok: true,
    value: { grant: ctx.grant!, revision: 'rev', digest: 'd', objects: [] },
  });
  return { ...built, ctx, claim: claimOf(ctx) };
}

const suspendedReady: TargetCondition = {
  type: 'Ready',
  status: 'Unknown',
  reason: 'Suspended',
  message: 'reconciliation is suspended (target)',
  lastTransitionTime: '2026-01-01T00:00:00.000Z',
};

describe(TargetReconciler.name, () => {
  it('records the end of the pipeline and the Ready metric', async () => {
    const { sut, deps, ctx, claim } = setup();
    const end = {
      result: 'Succeeded' as const,
      reason: 'ReconciliationSucceeded' as const,
      message: 'Applied revision: r',
      ready: 'True' as const,
      revision: 'r',
      retry: 'interval' as const,
    };
    deps.pipeline.run.mockResolvedValue(end);

    await sut.reconcile(claim);

    expect(deps.status.record).toHaveBeenCalledWith(
      claim,
      ctx,
      expect.any(Date),
      expect.any(Number),
      end,
      labels,
    );
    expect(deps.metrics.setReady).toHaveBeenCalledWith(labels, 'True');
  });

  it('records a suspended target as Suspended, not Ready, and runs nothing', async () => {
    const { sut, deps, ctx, claim } = setup({ target: { suspended: true } });

    await sut.reconcile(claim);

    expect(deps.pipeline.run).not.toHaveBeenCalled();
    expect(deps.status.record).toHaveBeenCalledWith(
      claim,
      ctx,
      expect.any(Date),
      0,
      expect.objectContaining({
        result: 'Skipped',
        reason: 'Suspended',
        ready: 'Unknown',
        message: 'reconciliation is suspended (target)',
      }),
      labels,
    );
  });

  it('only schedules the next check once Suspended is recorded', async () => {
    const { sut, deps, ctx, claim } = setup({
      target: { suspended: true, conditions: [suspendedReady] },
    });

    await sut.reconcile(claim);

    expect(deps.status.record).not.toHaveBeenCalled();
    expect(deps.status.skip).toHaveBeenCalledWith(claim, ctx.release);
  });

  it("prunes a removed target's objects, drops its row and its metric series", async () => {
    const inventory = [
      { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'a' },
    ];
    const { sut, deps, ctx, claim } = setup({ target: { removing: true, inventory } });
    const api = mockOf<KubeApiClient>();
    deps.pool.clientFor.mockResolvedValue(api);

    await sut.reconcile(claim);

    expect(deps.pruner.removeAll).toHaveBeenCalledWith(ctx, api);
    expect(deps.status.removed).toHaveBeenCalledWith(claim, ctx.release);
    expect(deps.metrics.removeTarget).toHaveBeenCalledWith(labels);
    expect(deps.pipeline.run).not.toHaveBeenCalled();
  });

  it('keeps the row and its series when pruning before removal fails', async () => {
    const inventory = [
      { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'a' },
    ];
    const { sut, deps, ctx, claim } = setup({
      release: { deletionRequestedAt: new Date() },
      target: { inventory },
    });
    deps.pool.clientFor.mockResolvedValue(mockOf<KubeApiClient>());
    deps.pruner.removeAll.mockRejectedValue(new Error('forbidden'));

    await sut.reconcile(claim);

    expect(deps.status.removalFailed).toHaveBeenCalledWith(
      claim,
      ctx,
      'pruning before removal failed: forbidden',
    );
    expect(deps.status.removed).not.toHaveBeenCalled();
    expect(deps.metrics.removeTarget).not.toHaveBeenCalled();
  });

  it('runs pre-delete hooks before pruning, and a failed one stops the removal', async () => {
    const inventory = [
      { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'a' },
    ];
    const { sut, deps, ctx, claim } = setup({
      release: { deletionRequestedAt: new Date() },
      target: { inventory },
    });
    const api = mockOf<KubeApiClient>();
    deps.pool.clientFor.mockResolvedValue(api);
    deps.applier.runDeleteHooks.mockResolvedValue(
      'pre-delete hook Job.batch/apps/drain failed: Job Failed',
    );

    await sut.reconcile(claim);

    expect(deps.applier.runDeleteHooks).toHaveBeenCalledWith(ctx, api, ctx.grant, [], 'before');
    expect(deps.applier.runDeleteHooks).toHaveBeenCalledTimes(1);
    expect(deps.pruner.removeAll).not.toHaveBeenCalled();
    expect(deps.status.removalFailed).toHaveBeenCalledWith(
      claim,
      ctx,
      'pruning before removal failed: pre-delete hook Job.batch/apps/drain failed: Job Failed',
    );
    expect(deps.status.removed).not.toHaveBeenCalled();
  });

  it('runs post-delete hooks once the objects are pruned, and a failed one stops the removal', async () => {
    const inventory = [
      { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'a' },
    ];
    const { sut, deps, ctx, claim } = setup({
      release: { deletionRequestedAt: new Date() },
      target: { inventory },
    });
    const api = mockOf<KubeApiClient>();
    deps.pool.clientFor.mockResolvedValue(api);
    const order: string[] = [];
    deps.applier.runDeleteHooks.mockImplementation((_c, _a, _g, _o, when) => {
      order.push(`hooks ${when}`);
      return Promise.resolve(
        when === 'after' ? 'post-delete hook Job.batch/apps/cleanup failed: Job Failed' : undefined,
      );
    });
    deps.pruner.removeAll.mockImplementation(() => {
      order.push('prune');
      return Promise.resolve();
    });

    await sut.reconcile(claim);

    expect(order).toEqual(['hooks before', 'prune', 'hooks after']);
    expect(deps.status.removalFailed).toHaveBeenCalledWith(
      claim,
      ctx,
      'pruning before removal failed: post-delete hook Job.batch/apps/cleanup failed: Job Failed',
    );
    expect(deps.status.removed).not.toHaveBeenCalled();
  });

  it('does nothing for a target that is gone', async () => {
    const { sut, deps, claim } = setup();
    deps.contexts.load.mockResolvedValue(new Map());

    await sut.reconcile(claim);

    expect(deps.pipeline.run).not.toHaveBeenCalled();
    expect(deps.status.record).not.toHaveBeenCalled();
    expect(deps.status.removed).not.toHaveBeenCalled();
  });
});
