import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Applier } from 'src/modules/reconciler/kube/applier.service';
import { KubeApiClient } from 'src/common/kube/kube-api.client';
import { SystemKubeClock } from 'src/modules/reconciler/kube/kube-clock';
import type { KubeObject } from 'src/modules/reconciler/kube/kube.types';
import { LiveReader } from 'src/modules/reconciler/kube/live-reader';
import { FleetHarness } from 'test/support/fleet/fleet-harness';
import type { SimCluster } from 'test/support/kube-sim';

const RBAC = 'rbac.authorization.k8s.io/v1';
const configMap = (name: string, namespace?: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...(namespace === undefined ? {} : { namespace }) },
  data: { a: '1' },
});
const clusterRoleBinding = (name: string, sa: string, ns: string): KubeObject => ({
  apiVersion: RBAC,
  kind: 'ClusterRoleBinding',
  metadata: { name },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
  subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
});

describe('tenant onboarding in workload clusters and the two layers of isolation', () => {
  const fleet = new FleetHarness({
    clusters: [{ name: 'onb-1', labels: { tier: 'onb' } }],
    // The default GITFLEET_TENANT_CLUSTER_ROLE: the cluster's aggregated bootstrap `admin`.
    namespaces: ['apps-a'],
  });
  const tenantB = `team-b-${randomBytes(3).toString('hex')}`;
  const saB = `gitfleet-${tenantB}`;
  let cluster: SimCluster;
  let admin: KubeApiClient;
  const applier = new Applier(new SystemKubeClock(), new LiveReader());
  const saUser = (ns: string, name: string): string => `system:serviceaccount:${ns}:${name}`;
  const now =
    <T>(read: () => T) =>
    (): Promise<T> =>
      Promise.resolve(read());

  beforeAll(async () => {
    await fleet.start();
    cluster = fleet.cluster('onb-1');
    // gitfleet's own identity in the cluster (what the registry's kubeconfig holds).
    admin = new KubeApiClient({
      server: cluster.url,
      caData: cluster.ca.certPem,
      token: cluster.adminToken,
    });
    expect((await fleet.api('POST', '/tenants', { name: tenantB })).status).toBe(201);
    const granted = await fleet.api('POST', '/clusters/onb-1/grants', {
      tenant: tenantB,
      namespaces: ['apps-b', 'apps-b2'],
    });
    expect(granted.status, granted.text).toBe(201);
    const repo = await fleet.repos.createRepository('onb');
    await repo.commit({
      'own/cm.json': JSON.stringify(configMap('own')),
      'cross/cm.json': JSON.stringify(configMap('intruder', 'apps-b')),
      'crb/crb.json': JSON.stringify(
        clusterRoleBinding('escalate', fleet.serviceAccountName, 'apps-a'),
      ),
    });
    await fleet.createGitSource('onb', repo);
  });

  afterAll(async () => {
    admin?.close();
    await fleet.stop();
  });

  const release = (name: string, path: string, extra: Record<string, unknown> = {}) =>
    fleet.api('POST', `/tenants/${fleet.tenant}/releases`, {
      name,
      source: 'onb',
      path,
      targetNamespace: 'apps-a',
      clusterSelector: { matchLabels: { tier: 'onb' } },
      retryIntervalSeconds: 5,
      ...extra,
    });

  it('onboards a granted tenant: namespaces, its service account and RoleBindings, labelled and applied by gitfleet', async () => {
    const sa = await fleet.eventually(
      'tenant B service account',
      now(() => cluster.getObject('v1', 'ServiceAccount', saB, 'apps-b')),
    );
    expect(sa.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'gitfleet',
      'gitfleet.dev/onboarded-tenant': tenantB,
    });
    for (const ns of ['apps-b', 'apps-b2']) {
      expect(cluster.getObject('v1', 'Namespace', ns)).toBeDefined();
      const rb = await fleet.eventually(
        `RoleBinding in ${ns}`,
        now(() => cluster.getObject(RBAC, 'RoleBinding', `gitfleet-${tenantB}`, ns)),
      );
      expect(rb.roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'admin',
      });
      expect(rb.subjects).toEqual([{ kind: 'ServiceAccount', name: saB, namespace: 'apps-b' }]);
      const managers = (rb.metadata.managedFields as { manager: string }[]).map((m) => m.manager);
      expect(managers).toEqual(['gitfleet-onboarding']);
    }
    // No cluster-scoped rights without allowClusterScoped.
    expect(
      cluster
        .listObjects(RBAC, 'ClusterRoleBinding')
        .filter((o) => o.metadata.name?.includes(tenantB)),
    ).toEqual([]);
    // The bindings work: tenant B's identity may write in its namespaces, nowhere else.
    await admin.apply(configMap('hello', 'apps-b2'), {
      fieldManager: 'gitfleet',
      force: true,
      impersonate: saUser('apps-b', saB),
    });
    await expect(
      admin.apply(configMap('hello', 'apps-a'), {
        fieldManager: 'gitfleet',
        force: true,
        impersonate: saUser('apps-b', saB),
      }),
    ).rejects.toMatchObject({ code: 'Forbidden' });
  });

  it("refuses, by gitfleet's policy, tenant A's objects in tenant B's namespace and a ClusterRoleBinding", async () => {
    expect((await release('cross', 'cross')).status).toBe(201);
    expect((await release('crb', 'crb')).status).toBe(201);
    for (const name of ['cross', 'crb']) {
      const [target] = await fleet.waitForTargets(
        name,
        (t) =>
          t.ready === 'False' &&
          t.conditions.some((c: { reason: string }) => c.reason === 'PolicyViolation'),
        1,
      );
      expect(target.lastError).toMatch(
        name === 'cross' ? /namespace "apps-b" is not granted/ : /cluster-scoped/,
      );
    }
    expect(cluster.getObject('v1', 'ConfigMap', 'intruder', 'apps-b')).toBeUndefined();
    expect(cluster.getObject(RBAC, 'ClusterRoleBinding', 'escalate')).toBeUndefined();
  });

  it("refuses the same objects by the cluster's RBAC when the policy is bypassed (403 under impersonation)", async () => {
    const serviceAccount = { namespace: 'apps-a', name: fleet.serviceAccountName };
    const owner = { tenant: fleet.tenant, release: 'bypass' };
    const before = cluster.requestLog.length;
    for (const obj of [
      configMap('intruder', 'apps-b'),
      clusterRoleBinding('escalate', fleet.serviceAccountName, 'apps-a'),
    ]) {
      const result = await applier.apply(admin, [obj], { owner, serviceAccount });
      expect(result.ok).toBe(false);
      expect(result.errors.map((e) => e.code)).toEqual(['Forbidden']);
    }
    const refused = cluster.requestLog.slice(before).filter((e) => e.code === 403);
    expect(refused.length).toBeGreaterThanOrEqual(2);
    expect(new Set(refused.map((e) => e.impersonatedUser))).toEqual(
      new Set([saUser('apps-a', fleet.serviceAccountName)]),
    );
    expect(cluster.getObject('v1', 'ConfigMap', 'intruder', 'apps-b')).toBeUndefined();
    expect(cluster.getObject(RBAC, 'ClusterRoleBinding', 'escalate')).toBeUndefined();
  });

  it('applies as the tenant service account from the grant only; no field of a release steers impersonation', async () => {
    for (const field of [
      { serviceAccountName: 'cluster-admin' },
      { serviceAccount: { namespace: 'kube-system', name: 'admin' } },
      { impersonate: 'system:admin' },
      { tenant: tenantB },
    ]) {
      const res = await release(`steer-${randomBytes(2).toString('hex')}`, 'own', field);
      expect({ field, status: res.status }).toEqual({ field, status: 400 });
    }
    const before = cluster.requestLog.length;
    expect((await release('own', 'own')).status).toBe(201);
    await fleet.waitForTargets('own', (t) => t.ready === 'True', 1);
    const writes = cluster.requestLog
      .slice(before)
      .filter(
        (e) =>
          ['PATCH', 'POST', 'PUT', 'DELETE'].includes(e.method) && e.path.includes('configmaps'),
      );
    expect(writes.length).toBeGreaterThan(0);
    expect(new Set(writes.map((e) => e.impersonatedUser))).toEqual(
      new Set([saUser('apps-a', fleet.serviceAccountName)]),
    );
  });

  it('adds cluster-scoped rights only while the grant allows them', async () => {
    const name = `gitfleet-${fleet.tenant}-cluster-scoped`;
    const on = await fleet.api('PATCH', `/clusters/onb-1/grants/${fleet.tenant}`, {
      clusterScopedKinds: ['rbac.authorization.k8s.io/ClusterRole'],
    });
    expect(on.status, on.text).toBe(200);
    const crb = await fleet.eventually(
      'cluster-scoped binding',
      now(() => cluster.getObject(RBAC, 'ClusterRoleBinding', name)),
    );
    expect(crb.subjects).toEqual([
      { kind: 'ServiceAccount', name: fleet.serviceAccountName, namespace: 'apps-a' },
    ]);
    expect(
      (
        await fleet.api('PATCH', `/clusters/onb-1/grants/${fleet.tenant}`, {
          allowClusterScoped: false,
        })
      ).status,
    ).toBe(200);
    await fleet.eventually(
      'cluster-scoped binding removed',
      now(() =>
        cluster.getObject(RBAC, 'ClusterRoleBinding', name) === undefined &&
        cluster.getObject(RBAC, 'ClusterRole', name) === undefined
          ? true
          : undefined,
      ),
    );
  });

  it('revoking a grant removes the bindings and the service account; namespaces stay', async () => {
    expect((await fleet.api('DELETE', `/clusters/onb-1/grants/${tenantB}`)).status).toBe(204);
    await fleet.eventually(
      'tenant B offboarded',
      now(() =>
        cluster.getObject('v1', 'ServiceAccount', saB, 'apps-b') === undefined &&
        cluster.getObject(RBAC, 'RoleBinding', `gitfleet-${tenantB}`, 'apps-b') === undefined &&
        cluster.getObject(RBAC, 'RoleBinding', `gitfleet-${tenantB}`, 'apps-b2') === undefined
          ? true
          : undefined,
      ),
    );
    expect(cluster.getObject('v1', 'Namespace', 'apps-b')).toBeDefined();
    await expect(
      admin.apply(configMap('again', 'apps-b'), {
        fieldManager: 'gitfleet',
        force: true,
        impersonate: saUser('apps-b', saB),
      }),
    ).rejects.toMatchObject({ code: 'Forbidden' });
    // Tenant A, whose grant stays, is untouched.
    expect(
      cluster.getObject(RBAC, 'RoleBinding', `gitfleet-${fleet.tenant}`, 'apps-a'),
    ).toBeDefined();
  });
});
