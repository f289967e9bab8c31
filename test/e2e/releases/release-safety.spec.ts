import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetHarness } from 'test/support/fleet/fleet-harness';
import type { TestRepository } from 'test/support/git-server/git-repositories';
import { configMap, deployment } from './manifests';

const NEVER_READY = 'kube-sim.gitfleet.dev/never-ready';

describe('release safety: failed reads, bad input and policy never break what runs', () => {
  const fleet = new FleetHarness({
    clusters: [
      { name: 'safe-a', labels: { env: 'safe' } },
      { name: 'safe-b', labels: { env: 'safe' } },
    ],
  });
  let repo: TestRepository;

  beforeAll(async () => {
    await fleet.start();
    repo = await fleet.repos.createRepository('safety');
    await repo.commit({
      'base/cm.json': configMap('base-config', { a: '1' }),
      'base/extra.json': configMap('base-extra', { b: '2' }),
      'empty/README.md': '# nothing here yet\n',
      'bad/README.md': '# filled in later\n',
    });
    await fleet.createGitSource('safety', repo);
  });

  afterAll(async () => {
    await fleet.stop();
  });

  const tenantPath = (p: string): string => `/tenants/${fleet.tenant}${p}`;
  const names = (cluster: string, kind = 'ConfigMap', apiVersion = 'v1'): string[] =>
    fleet
      .cluster(cluster)
      .listObjects(apiVersion, kind, 'apps')
      .map((o) => o.metadata.name as string)
      .sort();

  async function createRelease(name: string, extra: Record<string, unknown>): Promise<void> {
    const res = await fleet.api('POST', tenantPath('/releases'), {
      name,
      source: 'safety',
      targetNamespace: 'apps',
      clusterSelector: { matchLabels: { env: 'safe' } },
      timeoutSeconds: 10,
      retryIntervalSeconds: 5,
      ...extra,
    });
    expect(res.status, res.text).toBe(201);
  }

  async function settledRun(release: string, cluster: string, reason: string): Promise<any> {
    return fleet.eventually(`${release} on ${cluster} to end with ${reason}`, async () => {
      const res = await fleet.api('GET', tenantPath(`/releases/${release}/targets/${cluster}`));
      const ready = (res.body?.conditions as any[] | undefined)?.find((c) => c.type === 'Ready');
      return ready?.reason === reason ? res.body : undefined;
    });
  }

  it('keeps everything applied while the source fails with 500, then resumes', async () => {
    await createRelease('base', { path: 'base' });
    await fleet.waitForTargets('base', (t) => t.ready === 'True', 2);
    expect(names('safe-a')).toEqual(expect.arrayContaining(['base-config', 'base-extra']));

    fleet.git.injectFault({ kind: 'status', status: 500 });
    await repo.commit({ 'base/extra.json': null });
    await fleet.api('POST', tenantPath('/sources/safety/refresh'));
    await fleet.eventually('the source to report the failure', async () => {
      const res = await fleet.api('GET', tenantPath('/sources/safety'));
      const ready = (res.body.status.conditions as any[]).find((c) => c.type === 'Ready');
      return ready?.status === 'False' ? true : undefined;
    });
    await fleet.api('POST', tenantPath('/releases/base/reconcile'));
    await new Promise((r) => setTimeout(r, 1500));
    expect(names('safe-a')).toEqual(expect.arrayContaining(['base-config', 'base-extra']));
    expect(names('safe-b')).toEqual(expect.arrayContaining(['base-config', 'base-extra']));

    fleet.git.clearFaults();
    await fleet.api('POST', tenantPath('/sources/safety/refresh'));
    await fleet.eventually('the removed file to be pruned once the source is back', () =>
      Promise.resolve(names('safe-a').includes('base-extra') ? undefined : true),
    );
  });

  it('prunes nothing when a render yields zero objects without allowEmpty', async () => {
    await createRelease('shrinking', { path: 'empty', allowEmpty: false });
    const target = await settledRun('shrinking', 'safe-a', 'EmptyRender');
    expect(target.ready).toBe('False');
    expect(target.conditions.find((c: any) => c.type === 'Stalled')?.status).toBe('True');
    expect(target.lastError).toContain('allowEmpty');
  });

  it('applies nothing when one object among twenty is invalid', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 19; i++) {
      files[`bad/cm-${i}.json`] = configMap(`batch-${i}`, { i: String(i) });
    }
    files['bad/broken.json'] = configMap('Not_A_Valid_Name', { x: 'y' });
    await repo.commit(files);
    await fleet.api('POST', tenantPath('/sources/safety/refresh'));
    await createRelease('batch', { path: 'bad' });
    const target = await settledRun('batch', 'safe-a', 'ValidationFailed');
    expect(target.lastError).toContain('Not_A_Valid_Name');
    expect(names('safe-a').filter((n) => n.startsWith('batch-'))).toEqual([]);
    expect(names('safe-b').filter((n) => n.startsWith('batch-'))).toEqual([]);
  });

  it("refuses an object in a namespace outside the tenant's grant, applying nothing", async () => {
    const cm = JSON.parse(configMap('sneaky', { x: '1' })) as Record<string, any>;
    cm.metadata.namespace = 'kube-system';
    await repo.commit({
      'escape/ok.json': configMap('innocent', { x: '1' }),
      'escape/sneaky.json': JSON.stringify(cm),
    });
    await fleet.api('POST', tenantPath('/sources/safety/refresh'));
    await createRelease('escape', { path: 'escape' });
    const target = await settledRun('escape', 'safe-a', 'PolicyViolation');
    expect(target.lastError).toContain('kube-system');
    expect(names('safe-a')).not.toContain('innocent');
    expect(
      fleet
        .cluster('safe-a')
        .listObjects('v1', 'ConfigMap', 'kube-system')
        .map((o) => o.metadata.name),
    ).not.toContain('sneaky');
  });

  it('applies a CRD and its custom resource from one revision in stages', async () => {
    for (const cluster of ['safe-a', 'safe-b']) {
      const res = await fleet.api('PATCH', `/clusters/${cluster}/grants/${fleet.tenant}`, {
        clusterScopedKinds: ['apiextensions.k8s.io/CustomResourceDefinition'],
      });
      expect(res.status, res.text).toBe(200);
      // The cluster's own RBAC must allow it too (what onboarding sets up for such grants).
      fleet.cluster(cluster).seed(
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name: 'tenant-crds' },
          rules: [
            {
              apiGroups: ['apiextensions.k8s.io'],
              resources: ['customresourcedefinitions'],
              verbs: ['*'],
            },
          ],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          metadata: { name: 'tenant-crds' },
          roleRef: {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'ClusterRole',
            name: 'tenant-crds',
          },
          subjects: [{ kind: 'ServiceAccount', name: fleet.serviceAccountName, namespace: 'apps' }],
        },
      );
    }
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            },
          },
        ],
      },
    };
    await repo.commit({
      'crds/widget.json': JSON.stringify({
        apiVersion: 'example.com/v1',
        kind: 'Widget',
        metadata: { name: 'w1' },
        spec: { size: 3 },
      }),
      'crds/crd.json': JSON.stringify(crd),
    });
    await fleet.api('POST', tenantPath('/sources/safety/refresh'));
    await createRelease('widgets', { path: 'crds' });
    await fleet.waitForTargets('widgets', (t) => t.ready === 'True', 2);
    const widgets = fleet.cluster('safe-b').listObjects('example.com/v1', 'Widget', 'apps');
    expect(widgets.map((w) => w.metadata.name)).toEqual(['w1']);
  });

  it('reports HealthCheckFailed naming a Deployment that never becomes ready', async () => {
    await repo.commit({ 'stuck/deploy.json': deployment('stuck-app', { [NEVER_READY]: 'true' }) });
    await fleet.api('POST', tenantPath('/sources/safety/refresh'));
    await createRelease('stuck', { path: 'stuck', timeoutSeconds: 5 });
    const target = await settledRun('stuck', 'safe-a', 'HealthCheckFailed');
    expect(target.lastError).toContain('stuck-app');
    // Applied, though not healthy.
    expect(names('safe-a', 'Deployment', 'apps/v1')).toContain('stuck-app');
  });

  it('holds a dependent release back until its dependency is Ready on that cluster', async () => {
    await repo.commit({ 'dependent/cm.json': configMap('needs-stuck', { x: '1' }) });
    await fleet.api('POST', tenantPath('/sources/safety/refresh'));
    await createRelease('dependent', { path: 'dependent', dependsOn: ['stuck'] });
    const target = await settledRun('dependent', 'safe-a', 'DependencyNotReady');
    expect(target.lastError).toContain('"stuck"');
    expect(names('safe-a')).not.toContain('needs-stuck');

    // Make the dependency healthy: drop the annotation that keeps it unready.
    await repo.commit({ 'stuck/deploy.json': deployment('stuck-app') });
    await fleet.api('POST', tenantPath('/sources/safety/refresh'));
    await fleet.waitForTargets('stuck', (t) => t.ready === 'True', 2, 60_000);
    await fleet.waitForTargets('dependent', (t) => t.ready === 'True', 2, 60_000);
    expect(names('safe-a')).toContain('needs-stuck');
  });
});
