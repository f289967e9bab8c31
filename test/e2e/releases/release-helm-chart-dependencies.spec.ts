import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { FleetHarness } from 'test/support/fleet/fleet-harness';
import type { TestRepository } from 'test/support/git-server/git-repositories';
import { HELM_PATH, HelmRepoServer } from 'test/support/helm-repo/helm-repo-server';

const run = promisify(execFile);

const CRD = [
  'apiVersion: apiextensions.k8s.io/v1',
  'kind: CustomResourceDefinition',
  'metadata:',
  '  name: widgets.example.com',
  'spec:',
  '  group: example.com',
  '  scope: Namespaced',
  '  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}',
  '  versions:',
  '    - name: v1',
  '      served: true',
  '      storage: true',
  '      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}',
  '',
].join('\n');

/** A chart in Git with one dependency from the Helm repository, a crds/ CRD and a custom resource. */
function appChart(repoUrl: string): Record<string, string> {
  return {
    'apps/shop/Chart.yaml': [
      'apiVersion: v2',
      'name: shop',
      'version: 0.3.0',
      'dependencies:',
      '  - name: redis',
      '    version: ">=1.0.0 <2.0.0"',
      `    repository: "${repoUrl}"`,
      '',
    ].join('\n'),
    'apps/shop/values.yaml': 'redis:\n  message: from-parent\n',
    'apps/shop/crds/widgets.yaml': CRD,
    'apps/shop/templates/widget.yaml':
      'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: {{ .Release.Name }}-widget\nspec:\n  size: 3\n',
    'apps/shop/templates/cm.yaml':
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-shop\ndata:\n  chart: {{ .Chart.Name | quote }}\n',
  };
}

/** Helm in a closed home of its own, as a user would run it. */
async function helm(home: string, args: string[]): Promise<string> {
  const { stdout } = await run(HELM_PATH, args, {
    env: {
      PATH: '/usr/bin:/bin',
      HOME: home,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
    },
  });
  return stdout;
}

describe('helm charts in Git with chart dependencies and crds/', () => {
  const fleet = new FleetHarness({
    clusters: [{ name: 'deps-a', labels: { fleet: 'deps' } }],
    appEnv: { SOURCE_ALLOW_HTTP: 'true' },
  });
  let charts: HelmRepoServer;
  let repo: TestRepository;
  let scratch: string;
  let lockText: string;
  // Downloads of redis 1.0.0 by the real helm while the test prepared the lock.
  let helmDownloads = 0;
  const tenantPath = (path: string): string => `/tenants/${fleet.tenant}${path}`;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'gitfleet-helmdeps-'));
    charts = await HelmRepoServer.start();
    for (const version of ['1.0.0', '1.1.0', '2.0.0']) {
      await charts.addChart('redis', version, {
        files: {
          'templates/configmap.yaml':
            'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-redis\ndata:\n  message: {{ .Values.message | quote }}\n  chart: {{ .Chart.Version | quote }}\n',
        },
      });
    }
    await charts.reindex();
    // The lock as `helm dependency update` writes it, pinning 1.0.0 below the newest 1.1.0.
    const files = appChart(charts.url());
    const chartDir = join(scratch, 'lock', 'shop');
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(scratch, 'lock', path.slice('apps/'.length))), { recursive: true });
      await writeFile(join(scratch, 'lock', path.slice('apps/'.length)), content);
    }
    await writeFile(
      join(chartDir, 'Chart.yaml'),
      files['apps/shop/Chart.yaml'].replace('">=1.0.0 <2.0.0"', '"1.0.0"'),
    );
    await helm(join(scratch, 'home-lock'), ['dependency', 'update', chartDir]);
    const pinned = await readFile(join(chartDir, 'Chart.lock'), 'utf8');
    // Re-hash for the range in Chart.yaml: helm itself, with the range and the lock's version.
    await writeFile(join(chartDir, 'Chart.yaml'), files['apps/shop/Chart.yaml']);
    await rm(join(chartDir, 'Chart.lock'));
    await rm(join(chartDir, 'charts'), { recursive: true, force: true });
    lockText = pinned;
    helmDownloads = charts.count('/redis-1.0.0.tgz');

    await fleet.start();
    for (const res of [
      await fleet.api('PATCH', `/clusters/deps-a/grants/${fleet.tenant}`, {
        clusterScopedKinds: ['apiextensions.k8s.io/CustomResourceDefinition'],
      }),
    ]) {
      expect(res.status, res.text).toBe(200);
    }
    fleet.cluster('deps-a').seed(
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
    repo = await fleet.repos.createRepository('helmdeps');
    await repo.commit(files);
    await fleet.createGitSource('helmdeps', repo);
  });

  afterAll(async () => {
    await fleet.stop();
    await charts?.close();
    if (scratch !== undefined) {
      await rm(scratch, { recursive: true, force: true });
    }
  });

  async function settled(release: string, reason: string): Promise<any> {
    return fleet.eventually(`${release} to end with ${reason}`, async () => {
      const res = await fleet.api('GET', tenantPath(`/releases/${release}/targets/deps-a`));
      const ready = (res.body?.conditions as any[] | undefined)?.find((c) => c.type === 'Ready');
      return ready?.reason === reason ? res.body : undefined;
    });
  }

  const live = (apiVersion: string, kind: string, namespace?: string): any[] =>
    fleet.cluster('deps-a').listObjects(apiVersion, kind, namespace);

  it('detects the chart by its Chart.yaml, fetches its dependency and matches helm dependency build + helm template', async () => {
    const res = await fleet.api('POST', tenantPath('/releases'), {
      name: 'shop',
      source: 'helmdeps',
      path: 'apps/shop',
      targetNamespace: 'apps',
      clusterNames: ['deps-a'],
    });
    expect(res.status, res.text).toBe(201);
    await fleet.waitForTargets('shop', (t) => t.ready === 'True', 1);

    // The same input through the real tools.
    const dir = join(scratch, 'real');
    for (const [path, content] of Object.entries(appChart(charts.url()))) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), content);
    }
    const home = join(scratch, 'home-real');
    await helm(home, ['dependency', 'build', join(dir, 'apps/shop')]);
    const rendered = await helm(home, [
      'template',
      'shop',
      join(dir, 'apps/shop'),
      '--namespace',
      'apps',
      '--include-crds',
    ]);
    const expected = parseAllDocuments(rendered)
      .map((d) => d.toJS())
      .filter((o) => o !== null);
    expect(expected.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/shop-redis',
      'ConfigMap/shop-shop',
      'CustomResourceDefinition/widgets.example.com',
      'Widget/shop-widget',
    ]);
    for (const want of expected) {
      const namespace = want.kind === 'CustomResourceDefinition' ? undefined : 'apps';
      const got = live(want.apiVersion, want.kind, namespace).find(
        (o) => o.metadata.name === want.metadata.name,
      );
      expect(got, `${want.kind}/${want.metadata.name}`).toBeDefined();
      for (const field of ['data', 'spec'] as const) {
        if (want[field] !== undefined) {
          expect(got[field], `${want.kind}/${want.metadata.name} .${field}`).toMatchObject(
            want[field],
          );
        }
      }
    }
    // The range resolved to the newest 1.x, as helm did, with the parent's values.
    const redis = live('v1', 'ConfigMap', 'apps').find((o) => o.metadata.name === 'shop-redis');
    expect(redis?.data).toEqual({ message: 'from-parent', chart: '1.1.0' });
  });

  it('applies crds/ first, marks them never to be pruned, never upgrades them, and keeps the CRD when the release is deleted', async () => {
    const crd = live('apiextensions.k8s.io/v1', 'CustomResourceDefinition').find(
      (o) => o.metadata.name === 'widgets.example.com',
    );
    expect(crd?.metadata.annotations).toMatchObject({
      'gitfleet.dev/prune': 'disabled',
      'gitfleet.dev/helm-crd': 'crds',
    });
    // Templates are not marked.
    const cm = live('v1', 'ConfigMap', 'apps').find((o) => o.metadata.name === 'shop-shop');
    expect(cm?.metadata.annotations?.['gitfleet.dev/helm-crd']).toBeUndefined();

    // An upgrade (Flux's upgrade.crds default Skip): a changed CRD is not updated, a new one
    // in crds/ is not created; templates still follow the new revision.
    const before = (await fleet.targets('shop'))[0].appliedRevision as string;
    await repo.commit({
      'apps/shop/crds/widgets.yaml': CRD.replace(
        '  name: widgets.example.com',
        '  name: widgets.example.com\n  labels: {edition: two}',
      ),
      'apps/shop/crds/gadgets.yaml': CRD.replace(/widget/g, 'gadget').replace(/Widget/g, 'Gadget'),
      'apps/shop/templates/cm.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-shop\ndata:\n  chart: two\n',
    });
    await fleet.api('POST', tenantPath('/sources/helmdeps/refresh'));
    await fleet.waitForTargets(
      'shop',
      (t) => t.ready === 'True' && t.appliedRevision !== before,
      1,
      60_000,
    );
    expect(
      live('v1', 'ConfigMap', 'apps').find((o) => o.metadata.name === 'shop-shop')?.data,
    ).toEqual({ chart: 'two' });
    const crds = live('apiextensions.k8s.io/v1', 'CustomResourceDefinition');
    expect(crds.map((o) => o.metadata.name)).not.toContain('gadgets.example.com');
    expect(
      crds.find((o) => o.metadata.name === 'widgets.example.com')?.metadata.labels?.edition,
    ).toBeUndefined();

    const res = await fleet.api('DELETE', tenantPath('/releases/shop'));
    expect(res.status, res.text).toBeLessThan(300);
    await fleet.eventually('the release to be gone', async () => {
      const got = await fleet.api('GET', tenantPath('/releases/shop'));
      return got.status === 404 ? true : undefined;
    });
    expect(live('v1', 'ConfigMap', 'apps').map((o) => o.metadata.name)).not.toContain('shop-shop');
    expect(live('example.com/v1', 'Widget', 'apps')).toEqual([]);
    expect(
      live('apiextensions.k8s.io/v1', 'CustomResourceDefinition').map((o) => o.metadata.name),
    ).toContain('widgets.example.com');
  });

  it('pins the version of Chart.lock, and refuses a lock out of sync with Chart.yaml in helm words', async () => {
    // A lock written for another Chart.yaml (the exact "1.0.0" constraint): helm refuses it.
    await repo.commit({ 'apps/shop/Chart.lock': lockText });
    await fleet.api('POST', tenantPath('/sources/helmdeps/refresh'));
    const res = await fleet.api('POST', tenantPath('/releases'), {
      name: 'locked',
      source: 'helmdeps',
      path: 'apps/shop',
      targetNamespace: 'apps',
      clusterNames: ['deps-a'],
    });
    expect(res.status, res.text).toBe(201);
    const target = await settled('locked', 'BuildFailed');
    expect(target.lastError).toContain(
      'the lock file (Chart.lock) is out of sync with the dependencies file (Chart.yaml)',
    );

    // Chart.yaml as the lock was made for: the pinned 1.0.0 is used, not the newest 1.1.0.
    await repo.commit({
      'apps/shop/Chart.yaml': appChart(charts.url())['apps/shop/Chart.yaml'].replace(
        '">=1.0.0 <2.0.0"',
        '"1.0.0"',
      ),
    });
    await fleet.api('POST', tenantPath('/sources/helmdeps/refresh'));
    await fleet.waitForTargets('locked', (t) => t.ready === 'True', 1, 60_000);
    const redis = live('v1', 'ConfigMap', 'apps').find((o) => o.metadata.name === 'locked-redis');
    expect(redis?.data?.chart).toBe('1.0.0');
    // Cached by digest: another render of the same dependency downloads nothing.
    const downloads = charts.count('/redis-1.0.0.tgz');
    expect(downloads).toBe(helmDownloads + 1);
    // A new generation: a fresh render, not the render cache.
    const put = await fleet.api('PUT', tenantPath('/releases/locked'), {
      source: 'helmdeps',
      path: 'apps/shop',
      targetNamespace: 'apps',
      clusterNames: ['deps-a'],
      variables: { bump: '1' },
    });
    expect(put.status, put.text).toBe(200);
    await fleet.waitForTargets('locked', (t) => t.ready === 'True' && t.observedGeneration > 1, 1);
    expect(charts.count('/redis-1.0.0.tgz')).toBe(downloads);
  });

  it('names the dependency and the cause when its repository cannot be reached', async () => {
    await repo.commit({
      'broken/Chart.yaml': [
        'apiVersion: v2',
        'name: broken',
        'version: 0.1.0',
        'dependencies:',
        '  - name: cache',
        '    version: 1.0.0',
        '    repository: http://127.0.0.1:9/charts',
        '',
      ].join('\n'),
      'broken/templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\n',
    });
    await fleet.api('POST', tenantPath('/sources/helmdeps/refresh'));
    const res = await fleet.api('POST', tenantPath('/releases'), {
      name: 'broken',
      source: 'helmdeps',
      path: 'broken',
      targetNamespace: 'apps',
      clusterNames: ['deps-a'],
    });
    expect(res.status, res.text).toBe(201);
    const target = await settled('broken', 'ChartDependencyFetchFailed');
    expect(target.lastError).toMatch(
      /chart dependency "cache" from http:\/\/127\.0\.0\.1:9\/charts could not be fetched: .+/,
    );
    expect(live('v1', 'ConfigMap', 'apps').map((o) => o.metadata.name)).not.toContain('broken');
  });

  it("fetches from a private repository with the credentials of the tenant's helm source of that URL, never showing them", async () => {
    const auth = { username: 'deps-bot', password: 'Canary-Helm-Dep-9c1e' };
    const privateCharts = await HelmRepoServer.start({ auth });
    try {
      await privateCharts.addChart('vault', '0.5.0');
      await privateCharts.reindex();
      await repo.commit({
        'private/Chart.yaml': [
          'apiVersion: v2',
          'name: private',
          'version: 0.1.0',
          'dependencies:',
          '  - name: vault',
          '    version: 0.5.0',
          `    repository: "${privateCharts.url()}"`,
          '',
        ].join('\n'),
      });
      await fleet.api('POST', tenantPath('/sources/helmdeps/refresh'));
      const created = await fleet.api('POST', tenantPath('/releases'), {
        name: 'private',
        source: 'helmdeps',
        path: 'private',
        targetNamespace: 'apps',
        clusterNames: ['deps-a'],
      });
      expect(created.status, created.text).toBe(201);
      // Without a matching helm source the request is anonymous and refused.
      const refused = await settled('private', 'ChartDependencyFetchFailed');
      expect(refused.lastError).toContain('chart dependency "vault"');

      const source = await fleet.api('POST', tenantPath('/sources'), {
        name: 'private-charts',
        kind: 'helm',
        url: privateCharts.url(),
        intervalSeconds: 600,
        timeoutSeconds: 30,
        credentials: { kind: 'basic', ...auth },
      });
      expect(source.status, source.text).toBe(201);
      await fleet.api('POST', tenantPath('/releases/private/reconcile'));
      await fleet.waitForTargets('private', (t) => t.ready === 'True', 1, 60_000);
      expect(live('v1', 'ConfigMap', 'apps').map((o) => o.metadata.name)).toContain('private');

      const everything = JSON.stringify([
        refused,
        (await fleet.api('GET', tenantPath('/releases/private/targets/deps-a'))).body,
        (await fleet.api('GET', tenantPath('/events?limit=500'))).body,
      ]);
      expect(everything).not.toContain(auth.password);
    } finally {
      await privateCharts.close();
    }
  });
});
