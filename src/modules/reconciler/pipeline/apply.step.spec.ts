import { describe, expect, it } from 'vitest';
import type { KubeApi } from 'src/common/kube/kube-api.client';
import { KubeError } from 'src/common/kube/kube.errors';
import type { ApplyResult, KubeObject, ObjectRef } from 'src/modules/reconciler/kube/kube.types';
import { configMap, reconcileContext } from 'test/support/factories/reconcile-context.factory';
import { mockOf, automock } from 'test/support/mocks/automock';
import { ApplyStep } from './apply.step';

const NAMES = ['snapshots', 'applier', 'ownership', 'health', 'clock', 'leases', 'events'] as const;
const ref = { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'a' };

function result(over: Partial<ApplyResult> = {}): ApplyResult {
  return {
    ok: true,
    objects: [{ ref, action: 'created', hash: 'h1', resourceVersion: '7' }],
    errors: [],
    drift: [],
    counts: { created: 1, configured: 0, unchanged: 2, recreated: 0 },
    ...over,
  };
}

describe(ApplyStep.name, () => {
  it('applies against the shared live snapshot and answers the new inventory', async () => {
    const { sut, deps } = automock(ApplyStep, NAMES);
    deps.ownership.conflicts.mockResolvedValue([]);
    const api = mockOf<KubeApi>();
    const ctx = reconcileContext();
    deps.snapshots.read.mockResolvedValue(new Map());
    deps.applier.apply.mockResolvedValue(result());

    const outcome = await sut.run(ctx, api, ctx.grant!, [configMap('a')], 'rev');

    expect(outcome).toEqual({
      ok: true,
      value: {
        objects: result().objects,
        inventory: [{ ...ref, appliedHash: 'h1', resourceVersion: '7' }],
        counts: { applied: 1, unchanged: 2, pruned: 0, drifted: 0 },
        drift: [],
      },
    });
    expect(deps.applier.apply).toHaveBeenCalledWith(api, [configMap('a')], {
      owner: { tenant: 'team-a', release: 'web' },
      serviceAccount: { namespace: 'apps', name: 'deployer' },
      force: false,
      previous: [],
      live: new Map(),
      beforeWrite: expect.any(Function),
    });
    expect(deps.ownership.conflicts).not.toHaveBeenCalled();
  });

  it('reads live state itself when a user asked for a fresh read', async () => {
    const { sut, deps } = automock(ApplyStep, NAMES);
    deps.ownership.conflicts.mockResolvedValue([]);
    const ctx = reconcileContext({ target: { freshReadRequested: true } });
    deps.applier.apply.mockResolvedValue(result());

    await sut.run(ctx, mockOf<KubeApi>(), ctx.grant!, [configMap('a')], 'rev');

    expect(deps.snapshots.read).not.toHaveBeenCalled();
    expect(deps.applier.apply).toHaveBeenCalledWith(
      expect.anything(),
      [configMap('a')],
      expect.not.objectContaining({ live: expect.anything() }),
    );
  });

  it('fails with ValidationFailed naming the objects when a dry-run refuses them', async () => {
    const { sut, deps } = automock(ApplyStep, NAMES);
    deps.ownership.conflicts.mockResolvedValue([]);
    const ctx = reconcileContext();
    deps.applier.apply.mockResolvedValue(
      result({
        ok: false,
        objects: [],
        failedPhase: 'validation',
        errors: [{ ref, code: 'Invalid', message: 'spec.x: Invalid value' }],
      }),
    );

    expect(await sut.run(ctx, mockOf<KubeApi>(), ctx.grant!, [configMap('a')], 'rev')).toEqual({
      ok: false,
      cause: 'ConfigMap/apps/a: spec.x: Invalid value',
      end: {
        result: 'Failed',
        reason: 'ValidationFailed',
        message: 'ConfigMap/apps/a: spec.x: Invalid value',
        ready: 'False',
        revision: 'rev',
        retry: 'backoff',
      },
    });
  });

  it('refuses the apply before its first write when another release owns an object', async () => {
    const { sut, deps } = automock(ApplyStep, NAMES);
    deps.ownership.conflictsBeforeWrite.mockResolvedValue([
      { ref, why: 'owned by release "first" on this cluster' },
    ]);
    let wrote = false;
    deps.applier.apply.mockImplementation(async (_api, _objects, opts) => {
      await opts.beforeWrite?.([{ ref, exists: true }]);
      wrote = true;
      return result();
    });
    const api = mockOf<KubeApi>();
    const ctx = reconcileContext();
    deps.snapshots.read.mockResolvedValue(new Map());

    const outcome = await sut.run(ctx, api, ctx.grant!, [configMap('a')], 'rev');

    expect(outcome).toMatchObject({
      ok: false,
      end: {
        reason: 'Conflict',
        ready: 'False',
        conflicts: [ref],
        message: expect.stringContaining(
          'ConfigMap/apps/a owned by release "first" on this cluster',
        ),
      },
    });
    expect(wrote).toBe(false);
    expect(deps.ownership.conflictsBeforeWrite).toHaveBeenCalledWith(
      ctx,
      api,
      [{ ref, exists: true }],
      { tenant: 'team-a', release: 'web' },
      new Set(),
    );
  });

  it('checks ownership before any write when granted Namespaces are applied first', async () => {
    const { sut, deps } = automock(ApplyStep, NAMES);
    deps.ownership.conflicts.mockResolvedValue([
      { ref, why: 'owned by release "first" on this cluster' },
    ]);
    const ctx = reconcileContext();
    const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } };

    const outcome = await sut.run(
      ctx,
      mockOf<KubeApi>(),
      ctx.grant!,
      [namespace, configMap('a')],
      'rev',
    );

    expect(outcome).toMatchObject({ ok: false, end: { reason: 'Conflict', conflicts: [ref] } });
    expect(deps.applier.apply).not.toHaveBeenCalled();
  });

  it('asks the ownership check about inventory objects the snapshot no longer shows as ours', async () => {
    const { sut, deps } = automock(ApplyStep, NAMES);
    deps.ownership.conflictsBeforeWrite.mockResolvedValue([]);
    const api = mockOf<KubeApi>();
    const ctx = reconcileContext({ target: { inventory: [{ ...ref, appliedHash: 'h1' }] } });
    deps.snapshots.read.mockResolvedValue(new Map([['/ConfigMap/apps/a', null]]));
    deps.applier.apply.mockImplementation(async (_api, _objects, opts) => {
      await opts.beforeWrite?.([{ ref, exists: true }]);
      return result();
    });

    await sut.run(ctx, api, ctx.grant!, [configMap('a')], 'rev');

    expect(deps.ownership.conflictsBeforeWrite).toHaveBeenCalledWith(
      ctx,
      api,
      [{ ref, exists: true }],
      { tenant: 'team-a', release: 'web' },
      new Set(['/ConfigMap/apps/a']),
    );
  });

  it('plans a create for a missing object and the changed fields of an existing one', async () => {
    const { sut } = automock(ApplyStep, NAMES);
    const api = mockOf<KubeApi>();
    const live = { ...configMap('b'), data: { k: 'old' } };
    api.get.mockImplementation((r) => Promise.resolve(r.name === 'b' ? live : undefined));
    api.apply.mockResolvedValue(configMap('b'));

    expect(
      await sut.dryRun(
        api,
        [configMap('a'), configMap('b')],
        'system:serviceaccount:apps:deployer',
      ),
    ).toEqual([
      { object: 'ConfigMap/apps/a', action: 'create', fields: [] },
      { object: 'ConfigMap/apps/b', action: 'update', fields: ['.data.k'] },
    ]);
    expect(api.apply).toHaveBeenCalledWith(configMap('b'), {
      fieldManager: 'gitfleet',
      force: true,
      dryRun: true,
      impersonate: 'system:serviceaccount:apps:deployer',
    });
  });

  describe('in phases', () => {
    const job = (name: string, annotations: Record<string, string>): KubeObject => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, namespace: 'apps', annotations },
      spec: {},
    });
    const complete = (o: KubeObject, type: 'Complete' | 'Failed'): KubeObject => ({
      ...o,
      status: { conditions: [{ type, status: 'True', message: `Job ${type}` }] },
    });

    /** The step with a cluster that records the order of creates, deletes and applies. */
    function phased(outcome: (name: string) => 'Complete' | 'Failed' = () => 'Complete') {
      const { sut, deps } = automock(ApplyStep, NAMES);
      deps.ownership.conflicts.mockResolvedValue([]);
      const api = mockOf<KubeApi>();
      const calls: string[] = [];
      const live = new Map<string, KubeObject>();
      api.create.mockImplementation((o) => {
        const name = o.metadata.name ?? `${String(o.metadata.generateName)}x1y2z`;
        calls.push(`create ${name}`);
        const created = { ...o, metadata: { ...o.metadata, name, resourceVersion: '9' } };
        live.set(name, complete(created, outcome(name)));
        return Promise.resolve(created);
      });
      api.get.mockImplementation((r: ObjectRef) => Promise.resolve(live.get(r.name)));
      api.delete.mockImplementation((r: ObjectRef) => {
        calls.push(`delete ${r.name}`);
        return Promise.resolve(live.delete(r.name));
      });
      deps.applier.apply.mockImplementation((_api, objects) => {
        calls.push(`apply ${objects.map((o) => o.metadata.name).join(',')}`);
        return Promise.resolve(result());
      });
      deps.health.waitForHealthy.mockImplementation(() => {
        calls.push('healthy');
        return Promise.resolve({
          healthy: true,
          timedOut: false,
          failing: [],
          objects: [],
          resourceVersions: {},
          polls: 1,
        });
      });
      deps.clock.now.mockReturnValue(0);
      return { sut, deps, api, calls };
    }

    const chart = [
      job('smoke', { 'helm.sh/hook': 'post-install' }),
      configMap('a'),
      job('db-init', {
        'helm.sh/hook': 'pre-install',
        'helm.sh/hook-delete-policy': 'hook-succeeded',
      }),
    ];

    it('runs pre-install hooks, applies, waits healthy, then post-install; hook-succeeded deletes', async () => {
      const { sut, api, calls } = phased();
      const ctx = reconcileContext();

      const outcome = await sut.run(ctx, api, ctx.grant!, chart, 'rev', { digest: 'd1' });

      expect(calls).toEqual([
        'create db-init',
        'delete db-init',
        'apply a',
        'healthy',
        'delete smoke',
        'create smoke',
      ]);
      expect(outcome.ok && outcome.value.inventory).toEqual([
        { ...ref, appliedHash: 'h1', resourceVersion: '7' },
        {
          group: 'batch',
          version: 'v1',
          kind: 'Job',
          namespace: 'apps',
          name: 'smoke',
          resourceVersion: '9',
          hook: 'post-install',
        },
      ]);
    });

    it('does not run hooks again for the applied digest, and keeps the earlier ones tracked', async () => {
      const { sut, api, calls } = phased();
      const earlier = {
        group: 'batch',
        version: 'v1',
        kind: 'Job',
        namespace: 'apps',
        name: 'smoke',
        hook: 'post-install',
      };
      const ctx = reconcileContext({
        target: { appliedRevision: 'rev', appliedDigest: 'd1', inventory: [earlier] },
      });

      const outcome = await sut.run(ctx, api, ctx.grant!, chart, 'rev', { digest: 'd1' });

      expect(calls).toEqual(['apply a']);
      expect(outcome.ok && outcome.value.inventory).toContainEqual(earlier);
    });

    it('fails with HookFailed naming the hook, deletes it under hook-failed, applies nothing after', async () => {
      const { sut, api, calls } = phased(() => 'Failed');
      const ctx = reconcileContext();
      const hook = job('db-init', {
        'helm.sh/hook': 'pre-install',
        'helm.sh/hook-delete-policy': 'hook-failed',
      });

      const outcome = await sut.run(ctx, api, ctx.grant!, [hook, configMap('a')], 'rev', {
        digest: 'd1',
      });

      expect(calls).toEqual(['create db-init', 'delete db-init']);
      expect(outcome).toMatchObject({
        ok: false,
        end: {
          reason: 'HookFailed',
          message: 'pre-install hook Job.batch/apps/db-init failed: Job Failed',
          inventory: [],
        },
      });
    });

    it('creates a generateName object once and tracks it by the name the cluster gave it', async () => {
      const { sut, api, calls } = phased();
      const ctx = reconcileContext();
      const run = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { generateName: 'run-', namespace: 'apps' },
      };

      const outcome = await sut.run(ctx, api, ctx.grant!, [configMap('a'), run], 'rev', {
        digest: 'd1',
      });

      expect(calls).toEqual(['apply a', 'create run-x1y2z']);
      expect(outcome.ok && outcome.value.inventory[1]).toMatchObject({
        kind: 'ConfigMap',
        name: 'run-x1y2z',
        generateName: 'run-',
      });
    });

    it('runs pre-delete hooks in order and deletes the hook-succeeded ones after', async () => {
      const { sut, api, calls } = phased();
      const ctx = reconcileContext();
      const hooks = [
        job('second', {
          'helm.sh/hook': 'pre-delete',
          'helm.sh/hook-delete-policy': 'hook-succeeded',
        }),
        job('first', { 'helm.sh/hook': 'pre-delete', 'helm.sh/hook-weight': '-1' }),
        configMap('a'),
      ];

      expect(await sut.runDeleteHooks(ctx, api, ctx.grant!, hooks)).toBeUndefined();
      expect(calls).toEqual(['delete first', 'create first', 'create second', 'delete second']);
    });

    it('stops before the next wave when a wave does not become healthy', async () => {
      const { sut, deps, api, calls } = phased();
      deps.health.waitForHealthy.mockImplementation(() => {
        calls.push('unhealthy');
        return Promise.resolve({
          healthy: false,
          timedOut: true,
          failing: [{ ref, status: 'InProgress', message: 'not ready' }],
          objects: [],
          resourceVersions: {},
          polls: 3,
        });
      });
      const ctx = reconcileContext();
      const later = { ...configMap('b') };
      later.metadata.annotations = { 'argocd.argoproj.io/sync-wave': '1' };

      const outcome = await sut.run(ctx, api, ctx.grant!, [configMap('a'), later], 'rev', {
        digest: 'd1',
      });

      expect(calls).toEqual(['apply a', 'unhealthy']);
      expect(outcome).toMatchObject({
        ok: false,
        end: {
          reason: 'HealthCheckFailed',
          message: expect.stringMatching(
            /^Sync wave 0 did not become healthy, so the next wave was not applied: /,
          ),
          inventory: [{ ...ref, appliedHash: 'h1', resourceVersion: '7' }],
        },
      });
    });

    it('never shows a hook Secret’s value when its creation fails', async () => {
      const { sut, api } = phased();
      const secret = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: 'creds',
          namespace: 'apps',
          annotations: { 'helm.sh/hook': 'pre-install' },
        },
        stringData: { password: 'canary-hunter2-value' },
      };
      api.create.mockRejectedValue(
        new KubeError(
          'Invalid',
          'Secret "creds" is invalid: stringData.password: canary-hunter2-value',
        ),
      );
      const ctx = reconcileContext();

      const outcome = await sut.run(ctx, api, ctx.grant!, [secret, configMap('a')], 'rev', {
        digest: 'd1',
      });

      expect(outcome.ok).toBe(false);
      expect(JSON.stringify(outcome)).not.toContain('canary-hunter2-value');
      expect(outcome.ok || outcome.end.message).toMatch(
        /^pre-install hook Secret\/apps\/creds could not be created/,
      );
    });
  });

  it("plans a granted namespace's Namespace as gitfleet itself, as it is applied", async () => {
    const { sut } = automock(ApplyStep, NAMES);
    const api = mockOf<KubeApi>();
    const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } };
    api.get.mockResolvedValue(ns);
    api.apply.mockResolvedValue(ns);

    await sut.dryRun(api, [ns], 'system:serviceaccount:apps:deployer');

    expect(api.get).toHaveBeenCalledWith(expect.objectContaining({ kind: 'Namespace' }), {});
    expect(api.apply).toHaveBeenCalledWith(ns, {
      fieldManager: 'gitfleet',
      force: true,
      dryRun: true,
    });
  });

  it('asks for an onboarding check when the tenant identity was refused, and not for other failures', async () => {
    const { sut, deps } = automock(ApplyStep, NAMES);
    deps.ownership.conflicts.mockResolvedValue([]);
    const ctx = reconcileContext();
    deps.snapshots.read.mockResolvedValue(new Map());
    deps.applier.apply.mockResolvedValue(
      result({
        ok: false,
        failedPhase: 'apply',
        errors: [{ ref, code: 'Forbidden', message: 'no' }],
      }),
    );
    await sut.run(ctx, mockOf<KubeApi>(), ctx.grant!, [configMap('a')], 'rev');
    expect(deps.events.publish).toHaveBeenCalledWith(
      expect.objectContaining({ tenantId: ctx.target.tenantId, clusterId: ctx.cluster.id }),
    );

    deps.events.publish.mockClear();
    deps.applier.apply.mockResolvedValue(
      result({
        ok: false,
        failedPhase: 'validation',
        errors: [{ ref, code: 'Invalid', message: 'x' }],
      }),
    );
    await sut.run(ctx, mockOf<KubeApi>(), ctx.grant!, [configMap('a')], 'rev');
    expect(deps.events.publish).not.toHaveBeenCalled();
  });

  it("applies a granted namespace's Namespace with gitfleet's identity first, the rest as the tenant", async () => {
    const { sut, deps } = automock(ApplyStep, NAMES);
    deps.ownership.conflicts.mockResolvedValue([]);
    const ctx = reconcileContext();
    const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } };
    const nsRef = { group: '', version: 'v1', kind: 'Namespace', name: 'apps' };
    deps.snapshots.read.mockResolvedValue(new Map());
    deps.applier.apply
      .mockResolvedValueOnce(
        result({ objects: [{ ref: nsRef, action: 'created', hash: 'n1', resourceVersion: '3' }] }),
      )
      .mockResolvedValueOnce(result());

    const outcome = await sut.run(ctx, mockOf<KubeApi>(), ctx.grant!, [ns, configMap('a')], 'rev');

    expect(deps.applier.apply).toHaveBeenCalledWith(expect.anything(), [ns], {
      owner: { tenant: 'team-a', release: 'web' },
      force: false,
      previous: [],
    });
    expect(deps.applier.apply).toHaveBeenCalledWith(
      expect.anything(),
      [configMap('a')],
      expect.objectContaining({ serviceAccount: { namespace: 'apps', name: 'deployer' } }),
    );
    expect(outcome).toMatchObject({
      ok: true,
      value: {
        inventory: [
          { ...nsRef, appliedHash: 'n1' },
          { ...ref, appliedHash: 'h1' },
        ],
        counts: { applied: 2, unchanged: 4 },
      },
    });
  });
});
