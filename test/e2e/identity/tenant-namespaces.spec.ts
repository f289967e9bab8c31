import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiClient } from 'src/common/kube/kube-api.client';
import { FleetHarness } from 'test/support/fleet/fleet-harness';
import type { SimCluster } from 'test/support/kube-sim';

const namespace = (name: string, labels: Record<string, string>, annotations = {}) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels, annotations } });

describe('namespaces a tenant declares in its release', () => {
  const fleet = new FleetHarness({
    clusters: [{ name: 'ns-1', labels: { tier: 'ns' } }],
    namespaces: ['apps', 'apps-jobs'],
  });
  let cluster: SimCluster;
  let admin: KubeApiClient;
  const tenantPath = (p: string): string => `/tenants/${fleet.tenant}${p}`;
  const tenantUser = (): string => `system:serviceaccount:apps:${fleet.serviceAccountName}`;

  beforeAll(async () => {
    await fleet.start();
    cluster = fleet.cluster('ns-1');
    admin = new KubeApiClient({
      server: cluster.url,
      caData: cluster.ca.certPem,
      token: cluster.adminToken,
    });
    const repo = await fleet.repos.createRepository('ns');
    await repo.commit({
      'own/ns.json': namespace(
        'apps-jobs',
        { 'pod-security.kubernetes.io/enforce': 'restricted', team: 'jobs' },
        { 'example.com/owner': 'jobs-team' },
      ),
      'own/cm.json': JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'jobs-config', namespace: 'apps-jobs' },
        data: { a: '1' },
      }),
      'foreign/ns.json': namespace('kube-public-ish', { team: 'x' }),
    });
    await fleet.createGitSource('ns', repo);
  });

  afterAll(async () => {
    admin?.close();
    await fleet.stop();
  });

  const release = (name: string, path: string) =>
    fleet.api('POST', tenantPath('/releases'), {
      name,
      source: 'ns',
      path,
      targetNamespace: 'apps',
      clusterSelector: { matchLabels: { tier: 'ns' } },
      retryIntervalSeconds: 5,
    });

  it("applies a granted namespace's manifest with gitfleet's identity, labels and annotations included", async () => {
    expect((await release('own', 'own')).status).toBe(201);
    await fleet.waitForTargets('own', (t) => t.ready === 'True', 1);
    const ns = cluster.getObject('v1', 'Namespace', 'apps-jobs');
    expect(ns?.metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      team: 'jobs',
      'gitfleet.dev/tenant': fleet.tenant,
      'gitfleet.dev/release': 'own',
      // Onboarding's labels stay: another field manager owns them.
      'gitfleet.dev/onboarded-tenant': fleet.tenant,
    });
    expect(ns?.metadata.annotations).toMatchObject({ 'example.com/owner': 'jobs-team' });
    const nsWrites = cluster.requestLog.filter(
      (e) => e.resource === 'namespaces' && e.name === 'apps-jobs' && e.method === 'PATCH',
    );
    expect(nsWrites.length).toBeGreaterThan(0);
    // Not as the tenant: no impersonation on the Namespace writes; the ConfigMap is the tenant's.
    expect(nsWrites.every((e) => e.impersonatedUser === undefined)).toBe(true);
    const cmWrites = cluster.requestLog.filter(
      (e) => e.resource === 'configmaps' && e.name === 'jobs-config' && e.method === 'PATCH',
    );
    expect(cmWrites.map((e) => e.impersonatedUser)).toContain(tenantUser());
    expect(cluster.getObject('v1', 'ConfigMap', 'jobs-config', 'apps-jobs')).toBeDefined();
  });

  it("leaves the tenant's service account without the right to create namespaces", async () => {
    await expect(
      admin.apply(
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sneaky' } },
        { fieldManager: 'probe', force: true, impersonate: tenantUser() },
      ),
    ).rejects.toMatchObject({ code: 'Forbidden' });
    expect(cluster.getObject('v1', 'Namespace', 'sneaky')).toBeUndefined();
    expect(
      cluster
        .listObjects('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding')
        .filter((o) => JSON.stringify(o.subjects ?? []).includes(fleet.serviceAccountName)),
    ).toEqual([]);
  });

  it('refuses a namespace not granted, naming it and the granted ones', async () => {
    expect((await release('foreign', 'foreign')).status).toBe(201);
    const [target] = await fleet.waitForTargets(
      'foreign',
      (t) =>
        t.ready === 'False' &&
        t.conditions.some((c: { reason: string }) => c.reason === 'PolicyViolation'),
      1,
    );
    expect(target.lastError).toContain(
      'namespace "kube-public-ish" is not granted to the tenant on this cluster',
    );
    expect(target.lastError).toContain('"apps", "apps-jobs"');
    expect(cluster.getObject('v1', 'Namespace', 'kube-public-ish')).toBeUndefined();
  });
});
