import { describe, expect, it } from 'vitest';
import type { KubeObject } from 'src/modules/rendering/rendering.types';
import { hookState, planDeleteHooks, planPhases, type PhasePlan } from './apply-phases';

function obj(
  kind: string,
  name: string,
  annotations: Record<string, string> = {},
  apiVersion = kind === 'Job' ? 'batch/v1' : kind === 'Deployment' ? 'apps/v1' : 'v1',
): KubeObject {
  return { apiVersion, kind, metadata: { name, namespace: 'apps', annotations } };
}

function generated(
  kind: string,
  prefix: string,
  annotations: Record<string, string> = {},
): KubeObject {
  const o = obj(kind, '', annotations);
  delete o.metadata.name;
  o.metadata.generateName = prefix;
  return o;
}

/** `phase/wave: names` per step, applied objects first, created ones after `+`. */
function outline(plan: PhasePlan): string[] {
  return plan.steps.map(
    (s) =>
      `${s.phase}/${s.wave}: ${s.apply.map((o) => o.metadata.name).join(',')}` +
      (s.create.length === 0
        ? ''
        : ` + ${s.create.map((c) => `${c.hook ?? 'gen'}:${c.object.kind}/${c.object.metadata.name ?? String(c.object.metadata.generateName)}`).join(',')}`),
  );
}

describe('planPhases', () => {
  it('is one plain Sync step when nothing carries a phase, wave or generateName', () => {
    const plan = planPhases([obj('ConfigMap', 'a'), obj('Deployment', 'web')], {
      install: true,
      runHooks: true,
    });
    expect(plan.single).toBe(true);
    expect(outline(plan)).toEqual(['Sync/0: a,web']);
  });

  it('plans Helm test hooks last, after post-install, only when the release runs tests', () => {
    const objects = [
      obj('Pod', 'check', { 'helm.sh/hook': 'test', 'helm.sh/hook-weight': '-10' }),
      obj('Pod', 'legacy', { 'helm.sh/hook': 'test-success' }),
      obj('Job', 'smoke', { 'helm.sh/hook': 'post-install', 'helm.sh/hook-weight': '5' }),
      obj('ConfigMap', 'a'),
    ];
    expect(outline(planPhases(objects, { install: true, runHooks: true }))).toEqual([
      'Sync/0: a',
      'PostSync/5:  + post-install:Job/smoke',
    ]);
    expect(
      outline(planPhases(objects, { install: false, runHooks: true, runTests: true })),
    ).toEqual(['Sync/0: a', 'Test/-10:  + test:Pod/check', 'Test/0:  + test-success:Pod/legacy']);
  });

  it('orders Argo CD phases, then waves ascending (gitfleet apply-wave wins over sync-wave)', () => {
    const plan = planPhases(
      [
        obj('Deployment', 'web', { 'argocd.argoproj.io/sync-wave': '2' }),
        obj('ConfigMap', 'cfg', { 'argocd.argoproj.io/sync-wave': '-1' }),
        obj('Service', 'svc'),
        obj('ConfigMap', 'own', {
          'gitfleet.dev/apply-wave': '5',
          'argocd.argoproj.io/sync-wave': '1',
        }),
        generated('Job', 'smoke-', { 'argocd.argoproj.io/hook': 'PostSync' }),
        obj('Job', 'migrate', { 'argocd.argoproj.io/hook': 'PreSync' }),
        obj('Pod', 'skipped', { 'argocd.argoproj.io/hook': 'Skip' }),
        obj('ConfigMap', 'bad-wave', { 'argocd.argoproj.io/sync-wave': 'soon' }),
      ],
      { install: true, runHooks: true },
    );
    expect(outline(plan)).toEqual([
      'PreSync/0:  + PreSync:Job/migrate',
      'Sync/-1: cfg',
      'Sync/0: svc,bad-wave',
      'Sync/2: web',
      'Sync/5: own',
      'PostSync/0:  + PostSync:Job/smoke-',
    ]);
    expect(plan.single).toBe(false);
  });

  it('orders hooks of one wave by Argo CD kind order, then name', () => {
    const hook = { 'argocd.argoproj.io/hook': 'PreSync' };
    const plan = planPhases(
      [
        obj('Job', 'b', hook),
        obj('Job', 'a', hook),
        obj('ConfigMap', 'z', hook),
        obj('Widget', 'w', hook, 'example.com/v1'),
      ],
      { install: true, runHooks: true },
    );
    expect(outline(plan)).toEqual([
      'PreSync/0:  + PreSync:ConfigMap/z,PreSync:Job/a,PreSync:Job/b,PreSync:Widget/w',
    ]);
  });

  it('runs Helm install hooks on install and upgrade hooks on upgrade, by weight, kind, name', () => {
    const objects = [
      obj('Job', 'post', { 'helm.sh/hook': 'post-install,post-upgrade' }),
      obj('Job', 'b-init', { 'helm.sh/hook': 'pre-install', 'helm.sh/hook-weight': '1' }),
      obj('Job', 'a-init', { 'helm.sh/hook': 'pre-install', 'helm.sh/hook-weight': '1' }),
      obj('ConfigMap', 'z-init', { 'helm.sh/hook': 'pre-install', 'helm.sh/hook-weight': '1' }),
      obj('Job', 'first', { 'helm.sh/hook': 'pre-install', 'helm.sh/hook-weight': '-5' }),
      obj('Job', 'backup', { 'helm.sh/hook': 'pre-upgrade' }),
      obj('Pod', 'test', { 'helm.sh/hook': 'test' }),
      obj('Job', 'cleanup', { 'helm.sh/hook': 'pre-delete' }),
      obj('Deployment', 'web'),
    ];
    expect(outline(planPhases(objects, { install: true, runHooks: true }))).toEqual([
      'PreSync/-5:  + pre-install:Job/first',
      'PreSync/1:  + pre-install:ConfigMap/z-init,pre-install:Job/a-init,pre-install:Job/b-init',
      'Sync/0: web',
      'PostSync/0:  + post-install:Job/post',
    ]);
    expect(outline(planPhases(objects, { install: false, runHooks: true }))).toEqual([
      'PreSync/0:  + pre-upgrade:Job/backup',
      'Sync/0: web',
      'PostSync/0:  + post-upgrade:Job/post',
    ]);
  });

  it('defaults the delete policy to before-hook-creation and maps Helm names onto Argo CD names', () => {
    const plan = planPhases(
      [
        obj('Job', 'a', { 'helm.sh/hook': 'pre-install' }),
        obj('Job', 'b', {
          'helm.sh/hook': 'pre-install',
          'helm.sh/hook-delete-policy': 'hook-succeeded, hook-failed',
        }),
        obj('Job', 'c', {
          'argocd.argoproj.io/hook': 'PreSync',
          'argocd.argoproj.io/hook-delete-policy': 'HookSucceeded',
        }),
      ],
      { install: true, runHooks: true },
    );
    const policies = Object.fromEntries(
      plan.steps[0].create.map((c) => [c.object.metadata.name, [...c.policies].sort()]),
    );
    expect(policies).toEqual({
      a: ['BeforeHookCreation'],
      b: ['HookFailed', 'HookSucceeded'],
      c: ['HookSucceeded'],
    });
  });

  it('lets the Argo CD hook annotation win over Helm’s, and sets SyncFail hooks apart', () => {
    const plan = planPhases(
      [
        obj('Job', 'both', {
          'argocd.argoproj.io/hook': 'PostSync',
          'helm.sh/hook': 'pre-install',
        }),
        obj('Job', 'on-fail', { 'argocd.argoproj.io/hook': 'SyncFail' }),
        obj('ConfigMap', 'a'),
      ],
      { install: true, runHooks: true },
    );
    expect(outline(plan)).toEqual(['Sync/0: a', 'PostSync/0:  + PostSync:Job/both']);
    expect(plan.syncFail.map((c) => c.object.metadata.name)).toEqual(['on-fail']);
  });

  it('leaves hooks and generateName objects out when the render was applied already', () => {
    const plan = planPhases(
      [
        obj('Job', 'migrate', { 'helm.sh/hook': 'pre-upgrade' }),
        generated('ConfigMap', 'run-'),
        obj('Deployment', 'web'),
      ],
      { install: false, runHooks: false },
    );
    expect(outline(plan)).toEqual(['Sync/0: web']);
    expect(plan.single).toBe(true);
  });

  it('creates a plain generateName object in its Sync wave', () => {
    const plan = planPhases([generated('ConfigMap', 'run-'), obj('ConfigMap', 'a')], {
      install: true,
      runHooks: true,
    });
    expect(outline(plan)).toEqual(['Sync/0: a + gen:ConfigMap/run-']);
    expect(plan.single).toBe(false);
  });
});

describe('planDeleteHooks', () => {
  it('picks Helm pre-delete and Argo CD PreDelete hooks, by weight or wave, then kind and name', () => {
    const hooks = planDeleteHooks([
      obj('Job', 'b', { 'helm.sh/hook': 'pre-delete' }),
      obj('ConfigMap', 'a', { 'helm.sh/hook': 'pre-delete' }),
      obj('Job', 'early', { 'helm.sh/hook': 'pre-delete', 'helm.sh/hook-weight': '-1' }),
      obj('Job', 'argo', {
        'argocd.argoproj.io/hook': 'PreDelete',
        'argocd.argoproj.io/sync-wave': '3',
      }),
      obj('Job', 'post', { 'helm.sh/hook': 'post-delete' }),
      obj('Job', 'install', { 'helm.sh/hook': 'pre-install' }),
      obj('Deployment', 'web'),
    ]);
    expect(hooks.map((h) => `${h.hook}:${h.object.kind}/${h.object.metadata.name}`)).toEqual([
      'pre-delete:Job/early',
      'pre-delete:ConfigMap/a',
      'pre-delete:Job/b',
      'PreDelete:Job/argo',
    ]);
  });

  it('picks Helm post-delete and Argo CD PostDelete hooks for after the objects are deleted', () => {
    const objects = [
      obj('Job', 'pre', { 'helm.sh/hook': 'pre-delete' }),
      obj('Job', 'cleanup', { 'helm.sh/hook': 'post-delete', 'helm.sh/hook-weight': '2' }),
      obj('Job', 'first', { 'helm.sh/hook': 'pre-delete,post-delete', 'helm.sh/hook-weight': '1' }),
      obj('Job', 'argo', { 'argocd.argoproj.io/hook': 'PostDelete' }),
      obj('Deployment', 'web'),
    ];
    expect(
      planDeleteHooks(objects, 'after').map((h) => `${h.hook}:${h.object.metadata.name}`),
    ).toEqual(['PostDelete:argo', 'post-delete:first', 'post-delete:cleanup']);
  });
});

describe('hookState', () => {
  const job = (conditions: unknown[]): KubeObject => ({
    ...obj('Job', 'j'),
    status: { startTime: 'now', conditions },
  });

  it('waits for a running Job and reports Complete or Failed with its message', () => {
    expect(hookState(job([]))).toEqual({ done: false });
    expect(hookState(job([{ type: 'Complete', status: 'True' }]))).toEqual({ done: true });
    expect(
      hookState(
        job([
          {
            type: 'Failed',
            status: 'True',
            reason: 'BackoffLimitExceeded',
            message: 'Job has reached the specified backoff limit',
          },
        ]),
      ),
    ).toEqual({ done: true, failed: 'Job has reached the specified backoff limit' });
  });

  it('waits for a Pod to end; other kinds are done once created', () => {
    expect(hookState({ ...obj('Pod', 'p'), status: { phase: 'Running' } })).toEqual({
      done: false,
    });
    expect(hookState({ ...obj('Pod', 'p'), status: { phase: 'Succeeded' } })).toEqual({
      done: true,
    });
    expect(hookState({ ...obj('Pod', 'p'), status: { phase: 'Failed' } })).toEqual({
      done: true,
      failed: 'Pod failed',
    });
    expect(hookState(obj('ConfigMap', 'c'))).toEqual({ done: true });
  });
});
