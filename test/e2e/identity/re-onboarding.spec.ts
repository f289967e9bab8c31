import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiClient } from 'src/common/kube/kube-api.client';
import { FleetHarness } from 'test/support/fleet/fleet-harness';
import type { SimCluster } from 'test/support/kube-sim';
import { configMap } from 'test/e2e/releases/manifests';

const RBAC = 'rbac.authorization.k8s.io/v1';
/** Within this, only the new paths can explain it: both periodic passes are off or an hour away. */
const WITHIN_MS = 8_000;

describe('a cluster replaced or rebuilt empty is onboarded again at once', () => {
  const fleet = new FleetHarness({
    clusters: [{ name: 'wake-1', labels: { tier: 'wake' } }],
    appEnv: {
      GITFLEET_TENANT_CLUSTER_ROLE: 'tenant-e2e',
      RECONCILE_RESYNC_SECONDS: '3600',
      ONBOARDING_RESYNC_ENABLED: 'false',
    },
  });
  const tenantRole = {
    apiVersion: RBAC,
    kind: 'ClusterRole',
    metadata: { name: 'tenant-e2e' },
    rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
  };
  const onboarded = (cluster: SimCluster) => () =>
    Promise.resolve(
      cluster.getObject('v1', 'ServiceAccount', fleet.serviceAccountName, 'apps') !== undefined &&
        cluster.getObject(RBAC, 'RoleBinding', `gitfleet-${fleet.tenant}`, 'apps') !== undefined &&
        cluster.getObject('v1', 'Namespace', 'apps')?.metadata.labels?.[
          'gitfleet.dev/onboarded-tenant'
        ] === fleet.tenant
        ? true
        : undefined,
    );
  const deployed = (cluster: SimCluster) => () =>
    Promise.resolve(cluster.getObject('v1', 'ConfigMap', 'wake-config', 'apps'));

  beforeAll(async () => {
    await fleet.start();
    fleet.cluster('wake-1').seed(tenantRole);
    const repo = await fleet.repos.createRepository('wake-config');
    await repo.commit({ 'app/cm.json': configMap('wake-config', { a: '1' }) });
    await fleet.createGitSource('config', repo);
    const created = await fleet.api('POST', `/tenants/${fleet.tenant}/releases`, {
      name: 'app',
      source: 'config',
      path: 'app',
      targetNamespace: 'apps',
      clusterSelector: { matchLabels: { tier: 'wake' } },
      // Only a trigger can bring it back within the test.
      intervalSeconds: 3600,
    });
    expect(created.status, created.text).toBe(201);
    await fleet.waitForTargets('app', (t) => t.ready === 'True', 1);
    await fleet.eventually('first onboarding', onboarded(fleet.cluster('wake-1')));
  });

  afterAll(async () => {
    await fleet.stop();
  });

  it('onboards the tenant and re-applies its release when the kubeconfig now points to an empty cluster', async () => {
    const fresh = await fleet.sim.addCluster({ name: 'wake-1-rebuilt' });
    // What a new cluster ships with (as the built-in admin role); nothing of the tenant's.
    fresh.seed(tenantRole);
    expect(fresh.getObject('v1', 'Namespace', 'apps')).toBeUndefined();
    const started = Date.now();
    const put = await fleet.api('PUT', '/clusters/wake-1/kubeconfig', {
      kubeconfig: fresh.kubeconfig(),
    });
    expect(put.status, put.text).toBe(200);

    await fleet.eventually('onboarding in the new cluster', onboarded(fresh), WITHIN_MS);
    const rb = fresh.getObject(RBAC, 'RoleBinding', `gitfleet-${fleet.tenant}`, 'apps');
    expect(rb?.roleRef).toMatchObject({ kind: 'ClusterRole', name: 'tenant-e2e' });
    expect(rb?.subjects).toEqual([
      { kind: 'ServiceAccount', name: fleet.serviceAccountName, namespace: 'apps' },
    ]);
    // Then the tenant's targets there run again, not at their hour-long interval.
    await fleet.eventually('the release in the new cluster', deployed(fresh), WITHIN_MS);
    expect(Date.now() - started).toBeLessThan(WITHIN_MS);
  });

  it('onboards again at once a cluster that answers after an outage with its onboarding gone', async () => {
    const cluster = fleet.sim.cluster('wake-1-rebuilt')!;
    const admin = new KubeApiClient({
      server: cluster.url,
      caData: cluster.ca.certPem,
      token: cluster.adminToken,
    });
    try {
      // Rebuilt while away: the tenant's identity, bindings and objects are gone.
      const sa = fleet.serviceAccountName;
      await admin.delete({
        group: '',
        version: 'v1',
        kind: 'ServiceAccount',
        namespace: 'apps',
        name: sa,
      });
      await admin.delete({
        group: 'rbac.authorization.k8s.io',
        version: 'v1',
        kind: 'RoleBinding',
        namespace: 'apps',
        name: `gitfleet-${fleet.tenant}`,
      });
      await admin.delete({
        group: '',
        version: 'v1',
        kind: 'ConfigMap',
        namespace: 'apps',
        name: 'wake-config',
      });
    } finally {
      admin.close();
    }
    await cluster.faults.set({ unreachable: true });
    await fleet.eventually('the cluster seen unreachable', async () => {
      const res = await fleet.api('GET', '/clusters/wake-1');
      const reachable = (res.body.conditions as { type: string; status: string }[]).find(
        (c) => c.type === 'Reachable',
      );
      return reachable?.status === 'False' ? true : undefined;
    });
    expect(
      cluster.getObject('v1', 'ServiceAccount', fleet.serviceAccountName, 'apps'),
    ).toBeUndefined();

    const started = Date.now();
    await cluster.faults.set({ unreachable: false });
    await fleet.eventually('onboarding restored', onboarded(cluster), WITHIN_MS);
    await fleet.eventually('the release restored', deployed(cluster), WITHIN_MS);
    expect(Date.now() - started).toBeLessThan(WITHIN_MS);
  });
});
