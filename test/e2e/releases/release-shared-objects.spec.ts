import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetHarness } from 'test/support/fleet/fleet-harness';
import type { TestRepository } from 'test/support/git-server/git-repositories';
import { configMap, deployment } from './manifests';

const CLUSTER = 'shared-1';

const crd = JSON.stringify({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    scope: 'Namespaced',
    names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } },
          },
        },
      },
    ],
  },
});

const widget = (name: string): string =>
  JSON.stringify({
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    metadata: { name, namespace: 'apps' },
    spec: { size: 1 },
  });

const namespaceObject = (name: string): string =>
  JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

describe('pruning shared objects and ownership conflicts between releases on one cluster', () => {
  const fleet = new FleetHarness({
    clusters: [{ name: CLUSTER, labels: { env: 'shared' } }],
    namespaces: ['apps', 'team-space'],
  });
  let repo: TestRepository;
  const tenantPath = (p: string): string => `/tenants/${fleet.tenant}${p}`;

  beforeAll(async () => {
    await fleet.start();
    // CRDs are cluster-scoped: the platform team lets the tenant apply them here.
    const sa = fleet.serviceAccountName;
    fleet.cluster(CLUSTER).seed(
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'tenant-cluster-scoped' },
        rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'tenant-cluster-scoped' },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'tenant-cluster-scoped',
        },
        subjects: [{ kind: 'ServiceAccount', name: sa, namespace: 'apps' }],
      },
    );
    const patched = await fleet.api('PATCH', `/clusters/${CLUSTER}/grants/${fleet.tenant}`, {
      clusterScopedKinds: ['apiextensions.k8s.io/CustomResourceDefinition'],
    });
    expect(patched.status, patched.text).toBe(200);
    repo = await fleet.repos.createRepository('shared');
    await repo.commit({
      'crds/widgets.json': crd,
      'widgets/w1.json': widget('w1'),
      'space/namespace.json': namespaceObject('team-space'),
      'space/config.json': JSON.stringify({
        ...JSON.parse(configMap('space-config', { a: '1' })),
        metadata: { name: 'space-config', namespace: 'team-space' },
      }),
      'web-a/deployment.json': deployment('shared-web'),
      'web-b/deployment.json': deployment('shared-web'),
      'web-b/config.json': configMap('web-b-config', { b: '1' }),
    });
    await fleet.createGitSource('shared', repo);
  });

  afterAll(async () => {
    await fleet.stop();
  });

  async function createRelease(name: string, extra: Record<string, unknown>): Promise<void> {
    const res = await fleet.api('POST', tenantPath('/releases'), {
      name,
      source: 'shared',
      targetNamespace: 'apps',
      clusterSelector: { matchLabels: { env: 'shared' } },
      timeoutSeconds: 20,
      retryIntervalSeconds: 5,
      ...extra,
    });
    expect(res.status, res.text).toBe(201);
  }

  async function deleteRelease(name: string): Promise<void> {
    const res = await fleet.api('DELETE', tenantPath(`/releases/${name}`));
    expect(res.status, res.text).toBe(202);
    await fleet.eventually(`release ${name} to be gone`, async () => {
      const got = await fleet.api('GET', tenantPath(`/releases/${name}`));
      return got.status === 404 ? true : undefined;
    });
  }

  async function targetEvents(release: string): Promise<any[]> {
    const res = await fleet.api(
      'GET',
      tenantPath(`/events?objectKind=Target&objectName=${release}/${CLUSTER}&limit=100`),
    );
    expect(res.status, res.text).toBe(200);
    return res.body.items as any[];
  }

  const live = (apiVersion: string, kind: string, name: string, namespace?: string): any =>
    fleet.cluster(CLUSTER).getObject(apiVersion, kind, name, namespace);

  it("deleting a release that applied a CRD deletes no custom resource of another release's, and says why", async () => {
    await createRelease('crds', { path: 'crds', pruneCustomResourceDefinitions: true });
    await fleet.waitForTargets('crds', (t) => t.ready === 'True', 1);
    await createRelease('widgets', { path: 'widgets' });
    await fleet.waitForTargets('widgets', (t) => t.ready === 'True', 1);
    const before = live('example.com/v1', 'Widget', 'w1', 'apps');
    expect(before?.metadata.labels['gitfleet.dev/release']).toBe('widgets');

    await deleteRelease('crds');

    expect(
      live('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'widgets.example.com'),
    ).toBeDefined();
    const after = live('example.com/v1', 'Widget', 'w1', 'apps');
    expect(after?.metadata.uid).toBe(before.metadata.uid);
    expect(after?.metadata.deletionTimestamp).toBeUndefined();
    const kept = (await targetEvents('crds')).find((e) => e.reason === 'PruneSkipped');
    expect(kept).toMatchObject({
      metadata: {
        object: 'CustomResourceDefinition.apiextensions.k8s.io/widgets.example.com',
        why: 'CustomResourcesRemain',
      },
    });
    expect(kept.message).toContain('Widget/w1: release "widgets"');
  });

  it("keeps a Namespace that holds another tenant's objects when its release goes", async () => {
    // Another tenant's release put an object into the namespace.
    fleet.cluster(CLUSTER).seed({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'their-config',
        namespace: 'team-space',
        labels: { 'gitfleet.dev/tenant': 'team-elsewhere', 'gitfleet.dev/release': 'theirs' },
      },
      data: { x: '1' },
    });
    await createRelease('space', { path: 'space' });
    await fleet.waitForTargets('space', (t) => t.ready === 'True', 1);
    expect(live('v1', 'Namespace', 'team-space')?.metadata.labels['gitfleet.dev/release']).toBe(
      'space',
    );

    await deleteRelease('space');

    const ns = live('v1', 'Namespace', 'team-space');
    expect(ns?.metadata.deletionTimestamp).toBeUndefined();
    expect(live('v1', 'ConfigMap', 'their-config', 'team-space')).toBeDefined();
    // The release's own object in it was pruned.
    expect(live('v1', 'ConfigMap', 'space-config', 'team-space')).toBeUndefined();
    const events = await targetEvents('space');
    expect(events.map((e) => e.reason)).toEqual(
      expect.arrayContaining(['ObjectPruned', 'PruneSkipped']),
    );
    const kept = events.find((e) => e.reason === 'PruneSkipped');
    expect(kept).toMatchObject({
      metadata: { object: 'Namespace/team-space', why: 'NamespaceInUse' },
    });
    expect(kept.message).toContain('objects of another tenant');
    expect(JSON.stringify(events)).not.toMatch(/team-elsewhere|their-config|theirs/);
  });

  it('refuses a Deployment another release owns with Conflict, leaving it untouched, then takes it over in place', async () => {
    await createRelease('web-a', { path: 'web-a' });
    await fleet.waitForTargets('web-a', (t) => t.ready === 'True', 1);
    const first = live('apps/v1', 'Deployment', 'shared-web', 'apps');
    expect(first?.metadata.labels['gitfleet.dev/release']).toBe('web-a');

    // Retries only every 10 minutes: taking the Deployment over below comes from being woken.
    await createRelease('web-b', {
      path: 'web-b',
      intervalSeconds: 600,
      retryIntervalSeconds: 600,
    });
    const [conflicted] = await fleet.waitForTargets(
      'web-b',
      (t) => t.conditions?.find((c: any) => c.type === 'Ready')?.reason === 'Conflict',
      1,
    );
    expect(conflicted.ready).toBe('False');
    expect(conflicted.lastError).toContain(
      'Deployment.apps/apps/shared-web owned by release "web-a" on this cluster',
    );
    const untouched = live('apps/v1', 'Deployment', 'shared-web', 'apps');
    expect(untouched.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
    expect(untouched.metadata.labels['gitfleet.dev/release']).toBe('web-a');
    // Nothing else of the refused run was applied either.
    expect(live('v1', 'ConfigMap', 'web-b-config', 'apps')).toBeUndefined();

    // web-a goes while web-b renders the same Deployment: handed over, never re-created,
    // and web-b is re-checked at once rather than at its next retry.
    await deleteRelease('web-a');
    await fleet.waitForTargets('web-b', (t) => t.ready === 'True', 1);
    const handedOver = live('apps/v1', 'Deployment', 'shared-web', 'apps');
    expect(handedOver.metadata.uid).toBe(first.metadata.uid);
    expect(handedOver.metadata.labels['gitfleet.dev/release']).toBe('web-b');
    expect(live('v1', 'ConfigMap', 'web-b-config', 'apps')).toBeDefined();
    const kept = (await targetEvents('web-a')).find((e) => e.reason === 'PruneSkipped');
    expect(kept?.metadata.object).toBe('Deployment.apps/apps/shared-web');
    expect(['HandedOver', 'NotOwned']).toContain(kept?.metadata.why);
  });

  it('with adopt: Always takes a Deployment over in place, and the previous owner then shows Conflict', async () => {
    const before = live('apps/v1', 'Deployment', 'shared-web', 'apps');
    expect(before.metadata.labels['gitfleet.dev/release']).toBe('web-b');
    await repo.commit({ 'web-c/deployment.json': deployment('shared-web') });
    await fleet.api('POST', tenantPath('/sources/shared/refresh'));
    await createRelease('web-c', { path: 'web-c', adopt: 'Always' });
    await fleet.waitForTargets('web-c', (t) => t.ready === 'True', 1);
    const taken = live('apps/v1', 'Deployment', 'shared-web', 'apps');
    expect(taken.metadata.uid).toBe(before.metadata.uid);
    expect(taken.metadata.labels['gitfleet.dev/release']).toBe('web-c');

    // web-b does not silently take it back: it reports who holds it now.
    const asked = await fleet.api(
      'POST',
      tenantPath(`/releases/web-b/targets/${CLUSTER}/reconcile`),
    );
    expect(asked.status, asked.text).toBeLessThan(300);
    const [conflicted] = await fleet.waitForTargets(
      'web-b',
      (t) => t.conditions?.find((c: any) => c.type === 'Ready')?.reason === 'Conflict',
      1,
    );
    expect(conflicted.lastError).toContain('owned by release "web-c" on this cluster');
    expect(
      live('apps/v1', 'Deployment', 'shared-web', 'apps').metadata.labels['gitfleet.dev/release'],
    ).toBe('web-c');
  });
});
