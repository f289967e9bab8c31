import { describe, expect, it } from 'vitest';
import type { KubeApi } from 'src/common/kube/kube-api.client';
import { KubeError } from 'src/common/kube/kube.errors';
import { refKey } from 'src/modules/reconciler/kube/kube-objects';
import { claimOf, reconcileContext } from 'test/support/factories/reconcile-context.factory';
import { automock, mockOf } from 'test/support/mocks/automock';
import type { Applied } from './apply.step';
import { HealthStep } from './health.step';

const ref = { group: 'apps', version: 'v1', kind: 'Deployment', namespace: 'apps', name: 'web' };
const appliedOf = (): Applied => ({
  objects: [{ ref, action: 'created', hash: 'h' }],
  inventory: [{ ...ref, appliedHash: 'h', resourceVersion: '1' }],
  counts: { applied: 1, unchanged: 0, pruned: 0, drifted: 0 },
  drift: [],
});

function setup() {
  const built = automock(HealthStep, ['health', 'leases']);
  built.deps.leases.renewWhile.mockImplementation((_claim, work) => work());
  return built;
}

const healthyResult = {
  healthy: true,
  timedOut: false,
  failing: [],
  objects: [],
  polls: 1,
  resourceVersions: {},
};

describe(HealthStep.name, () => {
  it('waits for health under a renewed lease and keeps the versions seen healthy', async () => {
    const { sut, deps } = setup();
    const ctx = reconcileContext({ release: { wait: true, timeoutSeconds: 30 } });
    const applied = appliedOf();
    deps.health.waitForHealthy.mockResolvedValue({
      healthy: true,
      timedOut: false,
      failing: [],
      objects: [],
      polls: 1,
      resourceVersions: { [refKey(ref)]: '5' },
    });

    expect(await sut.run(claimOf(ctx), ctx, mockOf<KubeApi>(), ctx.grant!, applied)).toEqual({
      ok: true,
      value: undefined,
    });
    expect(applied.inventory).toEqual([{ ...ref, appliedHash: 'h', resourceVersion: '5' }]);
    expect(deps.leases.renewWhile).toHaveBeenCalledWith(claimOf(ctx), expect.any(Function));
    expect(deps.health.waitForHealthy).toHaveBeenCalledWith(expect.anything(), [ref], {
      timeoutMs: 30_000,
      serviceAccount: { namespace: 'apps', name: 'deployer' },
      initial: [],
      exprs: [],
      progressAfterMs: 2_000,
      onPending: expect.any(Function),
    });
  });

  it('fails with HealthCheckFailed naming what is not ready', async () => {
    const { sut, deps } = setup();
    const ctx = reconcileContext({ release: { wait: true } });
    deps.health.waitForHealthy.mockResolvedValue({
      healthy: false,
      timedOut: true,
      failing: [{ ref, status: 'InProgress', message: '0/1 ready' }],
      objects: [],
      polls: 1,
      resourceVersions: {},
    });

    expect(await sut.run(claimOf(ctx), ctx, mockOf<KubeApi>(), ctx.grant!, appliedOf())).toEqual({
      ok: false,
      cause: 'timeout waiting for: Deployment.apps/apps/web: InProgress (0/1 ready)',
      end: {
        result: 'Failed',
        reason: 'HealthCheckFailed',
        message: 'timeout waiting for: Deployment.apps/apps/web: InProgress (0/1 ready)',
        ready: 'False',
        retry: 'backoff',
      },
    });
  });

  it.each([
    [
      new KubeError('Forbidden', 'get Deployment web: forbidden', {
        httpStatus: 403,
        request: { verb: 'get', resource: 'deployments.apps' },
      }),
      'Forbidden',
      /^forbidden: system:serviceaccount:apps:deployer may not get deployments\.apps; check the tenant's grant on cluster /,
    ],
    [
      new KubeError('UnknownKind', 'the cluster does not serve Widget in example.com/v1'),
      'MissingCustomResourceDefinition',
      /^the cluster does not serve Widget in example\.com\/v1; install its CustomResourceDefinition first, or add dependsOn/,
    ],
  ])(
    'names a refused health read as %s, not HealthCheckFailed',
    async (readError, reason, message) => {
      const { sut, deps } = setup();
      const ctx = reconcileContext({ release: { wait: true } });
      deps.health.waitForHealthy.mockResolvedValue({
        healthy: false,
        timedOut: false,
        failing: [
          { ref, status: 'InProgress', message: `health check failed: ${readError.message}` },
        ],
        objects: [],
        polls: 1,
        resourceVersions: {},
        readError,
      });

      const outcome = await sut.run(claimOf(ctx), ctx, mockOf<KubeApi>(), ctx.grant!, appliedOf());

      expect(outcome).toMatchObject({
        ok: false,
        end: { reason, ready: 'False', retry: 'backoff' },
      });
      expect(outcome.ok ? '' : outcome.end.message).toMatch(message);
    },
  );

  it('checks only the healthChecks without wait (Flux: they narrow the set)', async () => {
    const { sut, deps } = setup();
    const ctx = reconcileContext({
      release: {
        wait: false,
        healthChecks: [
          { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', name: 'web', namespace: 'apps' },
        ],
      },
    });
    deps.health.waitForHealthy.mockResolvedValue(healthyResult);

    await sut.run(claimOf(ctx), ctx, mockOf<KubeApi>(), ctx.grant!, appliedOf());

    expect(deps.health.waitForHealthy).toHaveBeenCalledWith(
      expect.anything(),
      [
        {
          group: 'cert-manager.io',
          version: 'v1',
          kind: 'Certificate',
          namespace: 'apps',
          name: 'web',
        },
      ],
      expect.anything(),
    );
  });

  it('checks every applied object with wait and ignores healthChecks (Flux)', async () => {
    const { sut, deps } = setup();
    const ctx = reconcileContext({
      release: {
        wait: true,
        healthChecks: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'other', namespace: 'apps' }],
      },
    });
    deps.health.waitForHealthy.mockResolvedValue(healthyResult);

    await sut.run(claimOf(ctx), ctx, mockOf<KubeApi>(), ctx.grant!, appliedOf());

    expect(deps.health.waitForHealthy).toHaveBeenCalledWith(
      expect.anything(),
      [ref],
      expect.anything(),
    );
  });

  it('shows what it waits for while waiting', async () => {
    const { sut, deps } = setup();
    const ctx = reconcileContext({ release: { wait: true, timeoutSeconds: 300 } });
    deps.health.waitForHealthy.mockImplementation(async (_api, _refs, opts) => {
      await opts.onPending?.([{ ref, status: 'InProgress', message: 'Ready: 0/1' }]);
      return healthyResult;
    });

    await sut.run(claimOf(ctx), ctx, mockOf<KubeApi>(), ctx.grant!, appliedOf(), 'main@sha1:abc');

    expect(deps.leases.showProgress).toHaveBeenCalledWith(
      claimOf(ctx),
      'Running health checks for revision main@sha1:abc with a timeout of 300s; waiting for: Deployment.apps/apps/web (InProgress: Ready: 0/1)',
    );
  });

  it('fails with NotObserved when no controller observed what it waits for', async () => {
    const { sut, deps } = setup();
    const ctx = reconcileContext({ release: { wait: true } });
    const message =
      'Certificate/web has not been observed by a controller: status.observedGeneration -1 < generation 1; is its controller installed?';
    deps.health.waitForHealthy.mockResolvedValue({
      ...healthyResult,
      healthy: false,
      failing: [{ ref, status: 'Failed', reason: 'NotObserved', message }],
    });

    const outcome = await sut.run(claimOf(ctx), ctx, mockOf<KubeApi>(), ctx.grant!, appliedOf());

    expect(outcome).toMatchObject({
      ok: false,
      end: { reason: 'NotObserved', message: `unhealthy: ${message}`, ready: 'False' },
    });
  });

  it('waits for nothing without wait or healthChecks', async () => {
    const { sut, deps } = setup();
    const ctx = reconcileContext({ release: { wait: false } });

    await sut.run(claimOf(ctx), ctx, mockOf<KubeApi>(), ctx.grant!, appliedOf());

    expect(deps.health.waitForHealthy).not.toHaveBeenCalled();
    expect(deps.leases.renewWhile).not.toHaveBeenCalled();
  });
});
