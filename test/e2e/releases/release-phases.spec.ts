import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetHarness } from 'test/support/fleet/fleet-harness';
import type { TestRepository } from 'test/support/git-server/git-repositories';
import { simWatch, type WatchEvent } from 'test/support/kube-sim/http-client';
import { ANNOTATIONS } from 'test/support/kube-sim/index';
import { HELM_PATH } from 'test/support/tools';

const run = promisify(execFile);

/** A chart with Helm hooks of several weights and delete policies, and a test hook. */
function chart(opts: { failPostInstall?: boolean } = {}): Record<string, string> {
  const hookJob = (meta: string, hook: string, weight: string, extra: string[] = []): string =>
    [
      'apiVersion: batch/v1',
      'kind: Job',
      'metadata:',
      `  ${meta}`,
      '  annotations:',
      `    "helm.sh/hook": ${hook}`,
      `    "helm.sh/hook-weight": "${weight}"`,
      ...extra.map((e) => `    ${e}`),
      'spec:',
      '  backoffLimit: 0',
      '  template:',
      '    spec:',
      '      restartPolicy: Never',
      '      containers:',
      '        - name: run',
      '          image: busybox:1.36',
      '          command: ["true"]',
      '',
    ].join('\n');
  return {
    'charts/shop/Chart.yaml': 'apiVersion: v2\nname: shop\nversion: 0.1.0\n',
    'charts/shop/values.yaml': 'replicas: 2\ngreeting: hello\n',
    'charts/shop/templates/configmap.yaml':
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\n  labels:\n    app: shop\ndata:\n  greeting: {{ .Values.greeting | quote }}\n',
    'charts/shop/templates/service.yaml':
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}-web\nspec:\n  selector:\n    app: shop\n  ports:\n    - port: 80\n      targetPort: 8080\n',
    'charts/shop/templates/deployment.yaml': [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: {{ .Release.Name }}-web',
      '  annotations:',
      `    ${ANNOTATIONS.readyAfterMs}: "1500"`,
      'spec:',
      '  replicas: {{ .Values.replicas }}',
      '  selector:',
      '    matchLabels:',
      '      app: shop',
      '  template:',
      '    metadata:',
      '      labels:',
      '        app: shop',
      '    spec:',
      '      containers:',
      '        - name: web',
      '          image: nginx:1.27',
      '          ports:',
      '            - containerPort: 8080',
      '',
    ].join('\n'),
    // Weight -5 first; hook-succeeded: gone once the pre-install hooks all succeeded.
    'charts/shop/templates/db-init.yaml': hookJob(
      'generateName: {{ .Release.Name }}-db-init-',
      'pre-install',
      '-5',
      ['"helm.sh/hook-delete-policy": hook-succeeded'],
    ),
    // Weight 0, default policy (before-hook-creation): stays after it ran.
    'charts/shop/templates/schema.yaml':
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-schema\n  annotations:\n    "helm.sh/hook": pre-install\n    "helm.sh/hook-weight": "0"\ndata:\n  version: "1"\n',
    'charts/shop/templates/smoke.yaml': hookJob(
      'name: {{ .Release.Name }}-smoke',
      'post-install,post-upgrade',
      '1',
      opts.failPostInstall === true ? [`${ANNOTATIONS.fail}: "true"`] : [],
    ),
    'charts/shop/templates/migrate.yaml': hookJob(
      'name: {{ .Release.Name }}-migrate',
      'pre-upgrade',
      '0',
    ),
    // Runs only when the release leaves the cluster.
    'charts/shop/templates/drain.yaml': hookJob(
      'name: {{ .Release.Name }}-drain',
      'pre-delete',
      '0',
      ['"helm.sh/hook-delete-policy": hook-succeeded'],
    ),
    // Runs once the release's objects are gone.
    'charts/shop/templates/cleanup.yaml': hookJob(
      'name: {{ .Release.Name }}-cleanup',
      'post-delete',
      '0',
      ['"helm.sh/hook-delete-policy": hook-succeeded'],
    ),
    'charts/shop/templates/tests/connection.yaml':
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-test\n  annotations:\n    "helm.sh/hook": test\nspec:\n  restartPolicy: Never\n  containers:\n    - name: t\n      image: busybox:1.36\n',
  };
}

/** A chart with a post-install hook and a Helm test Pod, which fails when `failTest` is set. */
function testedChart(): Record<string, string> {
  return {
    'charts/tested/Chart.yaml': 'apiVersion: v2\nname: tested\nversion: 0.1.0\n',
    'charts/tested/values.yaml': 'failTest: false\n',
    'charts/tested/templates/configmap.yaml':
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  a: "1"\n',
    'charts/tested/templates/tests/check.yaml': [
      'apiVersion: v1',
      'kind: Pod',
      'metadata:',
      '  name: {{ .Release.Name }}-check',
      '  annotations:',
      '    "helm.sh/hook": test',
      '    {{- if .Values.failTest }}',
      `    ${ANNOTATIONS.fail}: "true"`,
      '    {{- end }}',
      'spec:',
      '  restartPolicy: Never',
      '  containers:',
      '    - name: check',
      '      image: busybox:1.36',
      '      command: ["true"]',
      '',
    ].join('\n'),
  };
}

/** An Argo CD style kustomize app: sync waves, a PreSync and a PostSync hook. */
function argoApp(greeting: string): Record<string, string> {
  return {
    'argo/kustomization.yaml':
      'resources:\n  - presync.yaml\n  - config.yaml\n  - service.yaml\n  - deployment.yaml\n  - postsync.yaml\n',
    // Named: kustomize refuses objects without metadata.name, so Argo CD apps built
    // with kustomize name their hooks.
    'argo/presync.yaml':
      'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: presync-migrate\n  annotations:\n    argocd.argoproj.io/hook: PreSync\n    argocd.argoproj.io/hook-delete-policy: HookSucceeded\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: run\n          image: busybox:1.36\n',
    'argo/config.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argo-config\n  annotations:\n    argocd.argoproj.io/sync-wave: "-1"\ndata:\n  greeting: ${greeting}\n`,
    'argo/service.yaml':
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: argo-web\nspec:\n  selector:\n    app: argo-web\n  ports:\n    - port: 80\n',
    'argo/deployment.yaml': `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: argo-web\n  annotations:\n    argocd.argoproj.io/sync-wave: "1"\n    ${ANNOTATIONS.readyAfterMs}: "1200"\nspec:\n  selector:\n    matchLabels:\n      app: argo-web\n  template:\n    metadata:\n      labels:\n        app: argo-web\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.27\n`,
    'argo/postsync.yaml':
      'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: postsync\n  annotations:\n    argocd.argoproj.io/hook: PostSync\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: run\n          image: busybox:1.36\n',
  };
}

type Obj = {
  metadata: { name?: string; uid?: string; resourceVersion?: string };
  status?: unknown;
};

function rv(e: WatchEvent): number {
  return Number((e.object as unknown as Obj).metadata.resourceVersion);
}

function nameOf(e: WatchEvent): string {
  return (e.object as unknown as Obj).metadata.name ?? '';
}

function available(e: WatchEvent): boolean {
  const conditions = ((e.object as unknown as { status?: { conditions?: unknown[] } }).status
    ?.conditions ?? []) as { type: string; status: string }[];
  return conditions.some((c) => c.type === 'Available' && c.status === 'True');
}

/** Every field the rendered object sets has the same value live (live adds defaults). */
function expectFieldsLive(rendered: unknown, live: unknown, path: string): void {
  if (Array.isArray(rendered)) {
    expect(Array.isArray(live), path).toBe(true);
    const items = live as unknown[];
    expect(items.length, path).toBe(rendered.length);
    rendered.forEach((r, i) => expectFieldsLive(r, items[i], `${path}[${i}]`));
    return;
  }
  if (typeof rendered === 'object' && rendered !== null) {
    expect(typeof live, path).toBe('object');
    for (const [k, v] of Object.entries(rendered)) {
      expectFieldsLive(v, (live as Record<string, unknown>)[k], `${path}.${k}`);
    }
    return;
  }
  expect(live, path).toEqual(rendered);
}

describe('Helm hooks and Argo CD sync waves and hooks, applied in order', () => {
  const fleet = new FleetHarness({ clusters: [{ name: 'phases', labels: { env: 'test' } }] });
  let repo: TestRepository;
  const cluster = (): ReturnType<FleetHarness['cluster']> => fleet.cluster('phases');
  /** Every event of a kind in `apps` so far, replayed from the start of the cluster's history. */
  const history = async (path: string): Promise<WatchEvent[]> =>
    (await simWatch(cluster(), `${path}?watch=true&resourceVersion=1&timeoutSeconds=1`)).events;
  const refresh = async (): Promise<void> => {
    const res = await fleet.api('POST', `/tenants/${fleet.tenant}/sources/phased/refresh`);
    expect(res.status, res.text).toBe(202);
  };
  const jobPosts = (): number =>
    cluster().requestLog.filter(
      (r) => r.method === 'POST' && r.path === '/apis/batch/v1/namespaces/apps/jobs',
    ).length;

  beforeAll(async () => {
    await fleet.start();
    repo = await fleet.repos.createRepository('phased');
    await repo.commit({ ...chart(), ...argoApp('hello'), ...testedChart() });
    await fleet.createGitSource('phased', repo);
  });

  afterAll(async () => {
    await fleet.stop();
  });

  it('installs a chart: pre-install hooks by weight, then the release, then post-install once it is healthy', async () => {
    const res = await fleet.api('POST', `/tenants/${fleet.tenant}/releases`, {
      name: 'shop',
      source: 'phased',
      kind: 'helm',
      helm: { chart: 'charts/shop', releaseName: 'shop' },
      targetNamespace: 'apps',
      clusterNames: ['phases'],
      wait: true,
    });
    expect(res.status, res.text).toBe(201);
    await fleet.waitForTargets('shop', (t) => t.ready === 'True', 1);

    const jobs = await history('/apis/batch/v1/namespaces/apps/jobs');
    const maps = await history('/api/v1/namespaces/apps/configmaps');
    const deployments = await history('/apis/apps/v1/namespaces/apps/deployments');
    const added = (events: WatchEvent[], name: RegExp): WatchEvent => {
      const e = events.find((x) => x.type === 'ADDED' && name.test(nameOf(x)));
      expect(e, `ADDED ${String(name)}`).toBeDefined();
      return e!;
    };
    const dbInit = added(jobs, /^shop-db-init-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    const schema = added(maps, /^shop-schema$/);
    const settings = added(maps, /^shop-settings$/);
    const web = added(deployments, /^shop-web$/);
    const webReady = deployments.find((e) => e.type === 'MODIFIED' && available(e));
    const smoke = added(jobs, /^shop-smoke$/);
    // Weight -5 before weight 0, both before the release's objects.
    expect(rv(dbInit)).toBeLessThan(rv(schema));
    expect(rv(schema)).toBeLessThan(rv(settings));
    expect(rv(schema)).toBeLessThan(rv(web));
    // post-install only after the Deployment was healthy.
    expect(webReady).toBeDefined();
    expect(rv(webReady!)).toBeLessThan(rv(smoke));
    // hook-succeeded: the db-init Job was deleted once the pre-install hooks succeeded.
    expect(jobs.some((e) => e.type === 'DELETED' && nameOf(e) === nameOf(dbInit))).toBe(true);
    const live = cluster()
      .listObjects('batch/v1', 'Job', 'apps')
      .map((j) => j.metadata.name);
    expect(live).toContain('shop-smoke');
    expect(live).not.toContain(nameOf(dbInit));
    // pre-upgrade hooks do not run on install; test hooks never without the release asking.
    expect(live).not.toContain('shop-migrate');
    expect(live).not.toContain('shop-drain');
    expect(cluster().getObject('v1', 'Pod', 'shop-test', 'apps')).toBeUndefined();
    // The hooks left in the cluster are tracked in the inventory.
    const inventory = await fleet.api(
      'GET',
      `/tenants/${fleet.tenant}/releases/shop/targets/phases/inventory`,
    );
    const names = (inventory.body.entries as { kind: string; name: string }[]).map(
      (e) => `${e.kind}/${e.name}`,
    );
    expect(names).toEqual(
      expect.arrayContaining(['Job/shop-smoke', 'ConfigMap/shop-schema', 'Deployment/shop-web']),
    );
  });

  it('leaves the live release objects equal, field by field, to helm template’s non-hook output', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'phases-chart-'));
    try {
      for (const [path, text] of Object.entries(chart())) {
        await mkdir(dirname(join(dir, path)), { recursive: true });
        await writeFile(join(dir, path), text);
      }
      const { stdout } = await run(HELM_PATH, [
        'template',
        'shop',
        join(dir, 'charts/shop'),
        '--namespace',
        'apps',
        '--skip-tests',
      ]);
      const rendered = parseAllDocuments(stdout)
        .map(
          (d) =>
            d.toJS() as {
              kind: string;
              metadata: { name: string; annotations?: Record<string, string> };
            } | null,
        )
        .filter((o) => o !== null && o.metadata.annotations?.['helm.sh/hook'] === undefined);
      expect(rendered.map((o) => `${o!.kind}/${o!.metadata.name}`).sort()).toEqual([
        'ConfigMap/shop-settings',
        'Deployment/shop-web',
        'Service/shop-web',
      ]);
      for (const o of rendered) {
        const apiVersion = (o as unknown as { apiVersion: string }).apiVersion;
        const live = cluster().getObject(apiVersion, o!.kind, o!.metadata.name, 'apps');
        expect(live, `${o!.kind}/${o!.metadata.name}`).toBeDefined();
        const { metadata, ...body } = o as unknown as Record<string, unknown> & {
          metadata: Record<string, unknown>;
        };
        expectFieldsLive(body, live, o!.kind);
        expectFieldsLive(metadata, live!.metadata, `${o!.kind}.metadata`);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('does not run hooks again when the same render is reconciled', async () => {
    const before = jobPosts();
    const [earlier] = await fleet.targets('shop');
    const res = await fleet.api(
      'POST',
      `/tenants/${fleet.tenant}/releases/shop/targets/phases/reconcile`,
    );
    expect(res.status, res.text).toBe(202);
    await fleet.waitForTargets(
      'shop',
      (t) => t.ready === 'True' && t.lastReconciledAt !== earlier.lastReconciledAt,
      1,
    );
    expect(jobPosts()).toBe(before);
    expect(cluster().getObject('batch/v1', 'Job', 'shop-smoke', 'apps')).toBeDefined();
  });

  it('upgrades: pre-upgrade runs, post-upgrade replaces the earlier hook (before-hook-creation), a failed hook names itself', async () => {
    const smokeBefore = cluster().getObject('batch/v1', 'Job', 'shop-smoke', 'apps');
    const sha = await repo.commit({
      'charts/shop/values.yaml': 'replicas: 3\ngreeting: upgraded\n',
    });
    await refresh();
    await fleet.waitForTargets(
      'shop',
      (t) => t.ready === 'True' && t.appliedRevision === `main@sha1:${sha}`,
      1,
    );
    expect(cluster().getObject('batch/v1', 'Job', 'shop-migrate', 'apps')).toBeDefined();
    const smokeAfter = cluster().getObject('batch/v1', 'Job', 'shop-smoke', 'apps');
    expect(smokeAfter?.metadata.uid).not.toBe(smokeBefore?.metadata.uid);

    await repo.commit(chart({ failPostInstall: true }));
    await refresh();
    const [failed] = await fleet.waitForTargets(
      'shop',
      (t) => t.ready === 'False' && /post-upgrade hook Job/.test(String(t.lastError)),
      1,
    );
    expect(failed.lastError).toMatch(
      /^post-upgrade hook Job\.batch\/apps\/shop-smoke failed: .*backoff limit/,
    );
    const ready = (failed.conditions as { type: string; reason: string }[]).find(
      (c) => c.type === 'Ready',
    );
    expect(ready?.reason).toBe('HookFailed');
  });

  it('applies an Argo CD app: PreSync hook, waves in order each healthy before the next, then PostSync', async () => {
    const res = await fleet.api('POST', `/tenants/${fleet.tenant}/releases`, {
      name: 'argo',
      source: 'phased',
      path: 'argo',
      targetNamespace: 'apps',
      clusterNames: ['phases'],
    });
    expect(res.status, res.text).toBe(201);
    await fleet.waitForTargets('argo', (t) => t.ready === 'True', 1);

    const jobs = await history('/apis/batch/v1/namespaces/apps/jobs');
    const maps = await history('/api/v1/namespaces/apps/configmaps');
    const services = await history('/api/v1/namespaces/apps/services');
    const deployments = await history('/apis/apps/v1/namespaces/apps/deployments');
    const first = (events: WatchEvent[], test: (e: WatchEvent) => boolean): number => {
      const e = events.find(test);
      expect(e).toBeDefined();
      return rv(e!);
    };
    const presync = first(jobs, (e) => e.type === 'ADDED' && nameOf(e) === 'presync-migrate');
    const config = first(maps, (e) => e.type === 'ADDED' && nameOf(e) === 'argo-config');
    const service = first(services, (e) => e.type === 'ADDED' && nameOf(e) === 'argo-web');
    const web = first(deployments, (e) => e.type === 'ADDED' && nameOf(e) === 'argo-web');
    const webReady = first(
      deployments,
      (e) => e.type === 'MODIFIED' && nameOf(e) === 'argo-web' && available(e),
    );
    const postsync = first(jobs, (e) => e.type === 'ADDED' && nameOf(e) === 'postsync');
    expect([presync, config, service, web, webReady, postsync]).toEqual(
      [presync, config, service, web, webReady, postsync].sort((a, b) => a - b),
    );
    // HookSucceeded: the PreSync Job is gone; the PostSync Job (default policy) stays.
    expect(jobs.some((e) => e.type === 'DELETED' && nameOf(e) === 'presync-migrate')).toBe(true);
    expect(cluster().getObject('batch/v1', 'Job', 'presync-migrate', 'apps')).toBeUndefined();
    expect(cluster().getObject('batch/v1', 'Job', 'postsync', 'apps')).toBeDefined();
  });

  it('runs the Argo CD hooks again for a new revision, replacing the PostSync Job (BeforeHookCreation)', async () => {
    const before = cluster().getObject('batch/v1', 'Job', 'postsync', 'apps');
    const sha = await repo.commit(argoApp('bonjour'));
    await refresh();
    await fleet.waitForTargets(
      'argo',
      (t) => t.ready === 'True' && t.appliedRevision === `main@sha1:${sha}`,
      1,
    );
    const after = cluster().getObject('batch/v1', 'Job', 'postsync', 'apps');
    expect(after?.metadata.uid).toBeDefined();
    expect(after?.metadata.uid).not.toBe(before?.metadata.uid);
    const jobs = await history('/apis/batch/v1/namespaces/apps/jobs');
    const presyncRuns = jobs.filter((e) => e.type === 'ADDED' && nameOf(e) === 'presync-migrate');
    expect(presyncRuns).toHaveLength(2);
    expect(cluster().getObject('v1', 'ConfigMap', 'argo-config', 'apps')?.data).toEqual({
      greeting: 'bonjour',
    });
  });

  it('runs Helm test hooks only when the release asks (Flux test.enable), after the release is healthy; a failed test is TestFailed unless ignored', async () => {
    const create = async (name: string, failTest: boolean, ignoreFailures = false) => {
      const res = await fleet.api('POST', `/tenants/${fleet.tenant}/releases`, {
        name,
        source: 'phased',
        kind: 'helm',
        helm: {
          chart: 'charts/tested',
          releaseName: name,
          values: { failTest },
          test: { enable: true, ignoreFailures },
        },
        targetNamespace: 'apps',
        clusterNames: ['phases'],
        wait: true,
        timeoutSeconds: 30,
      });
      expect(res.status, res.text).toBe(201);
    };
    await create('tested', false);
    await create('untrusted', true);
    await create('lenient', true, true);

    const [tested] = await fleet.waitForTargets('tested', (t) => t.ready === 'True', 1);
    const pods = await history('/api/v1/namespaces/apps/pods');
    const maps = await history('/api/v1/namespaces/apps/configmaps');
    const check = pods.find((e) => e.type === 'ADDED' && nameOf(e) === 'tested-check');
    const config = maps.find((e) => e.type === 'ADDED' && nameOf(e) === 'tested-config');
    expect(check).toBeDefined();
    expect(rv(config!)).toBeLessThan(rv(check!));
    expect(cluster().getObject('v1', 'Pod', 'tested-check', 'apps')?.status).toMatchObject({
      phase: 'Succeeded',
    });
    expect(tested.conditions.find((c: { type: string }) => c.type === 'Ready').message).toBe(
      `Applied revision: ${tested.appliedRevision}`,
    );

    const [failed] = await fleet.waitForTargets(
      'untrusted',
      (t) => t.ready === 'False' && t.lastError !== null,
      1,
    );
    const ready = failed.conditions.find((c: { type: string }) => c.type === 'Ready');
    expect(ready.reason).toBe('TestFailed');
    expect(ready.message).toContain('Pod/apps/untrusted-check');
    // The failed test stays for inspection, as `helm test` leaves it.
    expect(cluster().getObject('v1', 'Pod', 'untrusted-check', 'apps')?.status).toMatchObject({
      phase: 'Failed',
    });

    const [lenient] = await fleet.waitForTargets('lenient', (t) => t.ready === 'True', 1);
    expect(lenient.conditions.find((c: { type: string }) => c.type === 'Ready').message).toMatch(
      /^Applied revision: .+; Helm tests failed, ignored \(test\.ignoreFailures\): .*Pod\/apps\/lenient-check/,
    );
    // shop never asked: its test Pod was never created.
    expect(pods.some((e) => nameOf(e) === 'shop-test')).toBe(false);
  });

  it('runs the pre-delete hook before the release’s objects are deleted and the post-delete hook after, when the release goes', async () => {
    const res = await fleet.api('DELETE', `/tenants/${fleet.tenant}/releases/shop`);
    expect(res.status, res.text).toBe(202);
    await fleet.eventually(
      'the release to be gone',
      async () =>
        (await fleet.api('GET', `/tenants/${fleet.tenant}/releases/shop`)).status === 404
          ? true
          : undefined,
      45_000,
    );
    const jobs = await history('/apis/batch/v1/namespaces/apps/jobs');
    const deployments = await history('/apis/apps/v1/namespaces/apps/deployments');
    const drain = jobs.find((e) => e.type === 'ADDED' && nameOf(e) === 'shop-drain');
    const webGone = deployments.find((e) => e.type === 'DELETED' && nameOf(e) === 'shop-web');
    expect(drain).toBeDefined();
    expect(webGone).toBeDefined();
    expect(rv(drain!)).toBeLessThan(rv(webGone!));
    const cleanup = jobs.find((e) => e.type === 'ADDED' && nameOf(e) === 'shop-cleanup');
    expect(cleanup).toBeDefined();
    expect(rv(cleanup!)).toBeGreaterThan(rv(webGone!));
    // Neither ran during install or upgrade.
    expect(jobs.filter((e) => e.type === 'ADDED' && nameOf(e) === 'shop-cleanup')).toHaveLength(1);
    // hook-succeeded, and the release's own hooks went with the release.
    const left = cluster()
      .listObjects('batch/v1', 'Job', 'apps')
      .map((j) => j.metadata.name);
    expect(left.filter((n) => n?.startsWith('shop-'))).toEqual([]);
  });
});
