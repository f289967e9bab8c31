import { describe, expect, it } from 'vitest';
import type { KubeApiClient } from 'src/common/kube/kube-api.client';
import { KubeError } from 'src/common/kube/kube.errors';
import {
  artifactOf,
  claimOf,
  configMap,
  reconcileContext,
  renderResultOf,
} from 'test/support/factories/reconcile-context.factory';
import { automock, mockOf } from 'test/support/mocks/automock';
import { ConvergePipeline } from './converge.pipeline';
import { passed } from './run-end';

const NAMES = [
  'dependencies',
  'artifacts',
  'renderer',
  'admission',
  'pool',
  'applier',
  'pruner',
  'health',
  'leases',
] as const;

const counts = { applied: 1, unchanged: 0, pruned: 0, drifted: 0 };

function setup() {
  const built = automock(ConvergePipeline, NAMES);
  const { deps } = built;
  deps.dependencies.run.mockResolvedValue(passed(undefined));
  deps.artifacts.run.mockResolvedValue(passed(artifactOf()));
  deps.renderer.run.mockResolvedValue(passed(renderResultOf([configMap('a')], 'sha256:r1')));
  deps.admission.run.mockReturnValue(passed([configMap('a')]));
  deps.pool.clientFor.mockResolvedValue(mockOf<KubeApiClient>());
  deps.applier.run.mockResolvedValue(passed({ objects: [], inventory: [], counts, drift: [] }));
  deps.pruner.run.mockResolvedValue(passed({ ...counts, pruned: 2 }));
  deps.health.run.mockResolvedValue(passed(undefined));
  return built;
}

describe(ConvergePipeline.name, () => {
  it('runs every step and ends Ready at the applied revision', async () => {
    const { sut } = setup();
    const ctx = reconcileContext();

    expect(await sut.run(claimOf(ctx), ctx, new Date())).toEqual({
      result: 'Succeeded',
      reason: 'ReconciliationSucceeded',
      message: 'Applied revision: main@sha1:abc',
      ready: 'True',
      revision: 'main@sha1:abc',
      inventory: [],
      appliedRevision: 'main@sha1:abc',
      appliedDigest: 'sha256:r1',
      counts: { ...counts, pruned: 2 },
      drift: [],
      retry: 'interval',
    });
  });

  it('stalls without a grant and touches no cluster', async () => {
    const { sut, deps } = setup();
    const ctx = reconcileContext({ grant: null, target: { lastAttemptedRevision: 'old' } });

    expect(await sut.run(claimOf(ctx), ctx, new Date())).toMatchObject({
      reason: 'GrantMissing',
      stalled: true,
      revision: 'old',
    });
    expect(deps.artifacts.run).not.toHaveBeenCalled();
    expect(deps.pool.clientFor).not.toHaveBeenCalled();
    expect(deps.applier.run).not.toHaveBeenCalled();
  });

  it('applies and prunes nothing when the render fails', async () => {
    const { sut, deps } = setup();
    const ctx = reconcileContext();
    deps.renderer.run.mockResolvedValue({
      ok: false,
      cause: 'bad yaml',
      end: {
        result: 'Failed',
        reason: 'BuildFailed',
        message: 'bad yaml',
        ready: 'False',
        stalled: true,
        revision: 'main@sha1:abc',
        retry: 'interval',
      },
    });

    expect(await sut.run(claimOf(ctx), ctx, new Date())).toMatchObject({ reason: 'BuildFailed' });
    expect(deps.applier.run).not.toHaveBeenCalled();
    expect(deps.pruner.run).not.toHaveBeenCalled();
  });

  it('turns an unexpected error into a failed end instead of throwing', async () => {
    const { sut, deps } = setup();
    const ctx = reconcileContext({ target: { lastAttemptedRevision: 'old' } });
    deps.leases.keepIfOld.mockRejectedValue(new Error('lease lost'));

    expect(await sut.run(claimOf(ctx), ctx, new Date())).toEqual({
      result: 'Failed',
      reason: 'ApplyFailed',
      message: 'lease lost',
      ready: 'False',
      revision: 'old',
      retry: 'backoff',
    });
    expect(deps.pruner.run).not.toHaveBeenCalled();
  });

  it('names a 403 thrown by a live read as Forbidden, not ClusterUnreachable', async () => {
    const { sut, deps } = setup();
    const ctx = reconcileContext({ target: { lastAttemptedRevision: 'old' } });
    deps.applier.run.mockRejectedValue(
      new KubeError('Forbidden', 'list configmaps: forbidden', {
        httpStatus: 403,
        request: { verb: 'list', resource: 'configmaps' },
      }),
    );

    const end = await sut.run(claimOf(ctx), ctx, new Date());

    expect(end).toMatchObject({ result: 'Failed', reason: 'Forbidden', retry: 'backoff' });
    expect(end.message).toBe(
      'forbidden: system:serviceaccount:apps:deployer may not list configmaps; ' +
        `check the tenant's grant on cluster ${ctx.cluster.name}: the service account it is ` +
        'impersonated as needs RBAC for this (a Role and RoleBinding in the namespace, a ' +
        'ClusterRole and ClusterRoleBinding for cluster-scoped kinds)',
    );
    expect(deps.pruner.run).not.toHaveBeenCalled();
  });

  it('keeps ClusterUnreachable for a cluster that does not answer', async () => {
    const { sut, deps } = setup();
    const ctx = reconcileContext();
    deps.applier.run.mockRejectedValue(new KubeError('Unreachable', 'cannot reach the cluster'));

    expect(await sut.run(claimOf(ctx), ctx, new Date())).toMatchObject({
      reason: 'ClusterUnreachable',
      message: 'cannot reach the cluster',
    });
  });
});
