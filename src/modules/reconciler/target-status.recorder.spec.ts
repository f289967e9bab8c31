import { describe, expect, it } from 'vitest';
import type { TargetCondition } from 'src/modules/releases/releases.types';
import { claimOf, reconcileContext } from 'test/support/factories/reconcile-context.factory';
import { automock } from 'test/support/mocks/automock';
import type { RunEnd } from './pipeline/run-end';
import type { ReconcilerOptions } from './reconciler.options';
import { TargetStatusRecorder } from './target-status.recorder';

const options: ReconcilerOptions = {
  replicaId: 'replica-a',
  concurrency: 8,
  perClusterConcurrency: 2,
  leaseMs: 60_000,
  pollIntervalMs: 1_000,
  resyncIntervalMs: 300_000,
  maxBackoffMs: 300_000,
  workerEnabled: true,
  resyncEnabled: true,
};
const labels = { tenant: 'team-a', cluster: 'prod-eu', release: 'web' };
const T0 = '2026-01-01T00:00:00.000Z';
const was: TargetCondition[] = [
  {
    type: 'Ready',
    status: 'True',
    reason: 'ReconciliationSucceeded',
    message: 'old',
    lastTransitionTime: T0,
  },
  {
    type: 'Reconciling',
    status: 'True',
    reason: 'Progressing',
    message: 'Reconciliation in progress',
    lastTransitionTime: T0,
  },
];
const succeeded: RunEnd = {
  result: 'Succeeded',
  reason: 'ReconciliationSucceeded',
  message: 'Applied revision: r2',
  ready: 'True',
  revision: 'r2',
  appliedRevision: 'r2',
  retry: 'interval',
};

/** Matches a Date later than `ms`. */
const dueAfter = (ms: number) => ({
  asymmetricMatch: (value: unknown): boolean => value instanceof Date && value.getTime() > ms,
  toString: (): string => `a Date after ${new Date(ms).toISOString()}`,
});

function setup() {
  const built = automock(TargetStatusRecorder, ['options', 'targets', 'releases', 'events'], {
    options,
  });
  built.deps.targets.complete.mockResolvedValue(true);
  return built;
}

describe(TargetStatusRecorder.name, () => {
  it('announces a target turning Ready, once written, so its dependents run now', async () => {
    const { sut, deps } = setup();
    const ctx = reconcileContext({ hasDependents: true });

    await sut.record(claimOf(ctx), ctx, new Date(), 3, succeeded, labels);

    expect(deps.events.publish).toHaveBeenCalledWith(
      expect.objectContaining({
        tenantId: ctx.target.tenantId,
        clusterId: ctx.target.clusterId,
        releaseName: 'web',
      }),
    );
  });

  it('announces nothing when the target was Ready at this generation already, or the write was lost', async () => {
    const { sut, deps } = setup();
    const ready = reconcileContext({
      target: { readyStatus: 'True', observedGeneration: 1 },
      hasDependents: true,
    });
    await sut.record(claimOf(ready), ready, new Date(), 3, succeeded, labels);

    const lost = reconcileContext({ hasDependents: true });
    deps.targets.complete.mockResolvedValue(false);
    await sut.record(claimOf(lost), lost, new Date(), 3, succeeded, labels);

    expect(deps.events.publish).not.toHaveBeenCalled();
  });

  it('announces nothing for a release no other release depends on: nothing to wake, no query', async () => {
    const { sut, deps } = setup();
    const ctx = reconcileContext({ hasDependents: false });

    expect(await sut.record(claimOf(ctx), ctx, new Date(), 3, succeeded, labels)).toBe(true);

    expect(deps.events.publish).not.toHaveBeenCalled();
  });

  it('writes Ready keeping its transition time, drops Reconciling, and one event for the new revision', async () => {
    const { sut, deps } = setup();
    const ctx = reconcileContext({
      target: { conditions: was, appliedRevision: 'r1', failureCount: 2 },
    });
    const claim = claimOf(ctx);

    expect(await sut.record(claim, ctx, new Date(), 12, succeeded, labels)).toBe(true);

    expect(deps.targets.complete).toHaveBeenCalledWith(
      claim,
      'replica-a',
      expect.objectContaining({
        conditions: [{ ...was[0], message: 'Applied revision: r2' }],
        readyStatus: 'True',
        failureCount: 0,
        lastError: null,
        appliedRevision: 'r2',
      }),
      expect.objectContaining({ result: 'Succeeded', revision: 'r2', durationMs: 12 }),
      undefined,
      [expect.objectContaining({ reason: 'ReconciliationSucceeded', objectName: 'web/prod-eu' })],
    );
  });

  it('stalls with the reason and truncates long messages', async () => {
    const { sut, deps } = setup();
    const ctx = reconcileContext();
    const end: RunEnd = {
      result: 'Failed',
      reason: 'BuildFailed',
      message: 'x'.repeat(3_000),
      ready: 'False',
      stalled: true,
      revision: 'r2',
      retry: 'interval',
    };

    await sut.record(claimOf(ctx), ctx, new Date(), 1, end, labels);

    const truncated = `${'x'.repeat(2_000)}…`;
    expect(deps.targets.complete).toHaveBeenCalledWith(
      expect.anything(),
      'replica-a',
      expect.objectContaining({
        conditions: [
          expect.objectContaining({ type: 'Ready', status: 'False', message: truncated }),
          expect.objectContaining({ type: 'Stalled', status: 'True', reason: 'BuildFailed' }),
        ],
        lastError: truncated,
        failureCount: 1,
      }),
      expect.objectContaining({ message: truncated }),
      undefined,
      expect.any(Array),
    );
  });

  it('records a skipped run without counting it as a failure, due at the interval', async () => {
    const { sut, deps } = setup();
    const ctx = reconcileContext({
      target: { failureCount: 3, lastError: 'apply failed before' },
      release: { intervalSeconds: 600, retryIntervalSeconds: 5 },
    });
    const end: RunEnd = {
      result: 'Skipped',
      reason: 'Suspended',
      message: 'reconciliation is suspended (release)',
      ready: 'Unknown',
      revision: 'r1',
      retry: 'interval',
    };
    const before = Date.now();

    await sut.record(claimOf(ctx), ctx, new Date(), 0, end, labels);

    expect(deps.targets.complete).toHaveBeenCalledWith(
      expect.anything(),
      'replica-a',
      expect.objectContaining({
        failureCount: 3,
        lastError: 'apply failed before',
        lastResult: 'Skipped',
        // 600 s ± 10 % jitter, not the 5 s retry interval.
        nextRunAt: dueAfter(before + 500_000),
      }),
      expect.anything(),
      undefined,
      expect.any(Array),
    );
  });

  it('records a run blocked by a dependency with its reason and backoff, counted', async () => {
    const { sut, deps } = setup();
    const ctx = reconcileContext({
      target: { failureCount: 1, lastError: null },
      release: { intervalSeconds: 600, retryIntervalSeconds: 5 },
    });
    const end: RunEnd = {
      result: 'Skipped',
      reason: 'DependencyNotReady',
      message: 'waiting for "db" to be Ready on this cluster',
      ready: 'False',
      revision: 'r1',
      retry: 'backoff',
    };

    await sut.record(claimOf(ctx), ctx, new Date(), 0, end, labels);

    expect(deps.targets.complete).toHaveBeenCalledWith(
      expect.anything(),
      'replica-a',
      expect.objectContaining({
        failureCount: 2,
        lastError: 'waiting for "db" to be Ready on this cluster',
        lastResult: 'Skipped',
      }),
      expect.anything(),
      undefined,
      expect.any(Array),
    );
  });

  it('hands the lease back when nothing could be loaded for the claim', async () => {
    const { sut, deps } = setup();
    const claim = claimOf(reconcileContext());
    await sut.abandon(claim);
    expect(deps.targets.releaseLease).toHaveBeenCalledWith(claim, 'replica-a', expect.any(Date));
  });

  it('answers false when the lease was lost', async () => {
    const { sut, deps } = setup();
    const ctx = reconcileContext();
    deps.targets.complete.mockResolvedValue(false);

    expect(await sut.record(claimOf(ctx), ctx, new Date(), 1, succeeded, labels)).toBe(false);
  });

  it('drops the release only once its last target row is gone', async () => {
    const { sut, deps } = setup();
    const ctx = reconcileContext();
    deps.targets.deleteClaimed.mockResolvedValue(false);

    expect(await sut.removed(claimOf(ctx), ctx.release)).toBe(false);
    expect(deps.releases.deleteIfNoTargets).not.toHaveBeenCalled();

    deps.targets.deleteClaimed.mockResolvedValue(true);
    expect(await sut.removed(claimOf(ctx), ctx.release)).toBe(true);
    expect(deps.releases.deleteIfNoTargets).toHaveBeenCalledWith('release-1');
  });
});
