import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configMap } from 'test/e2e/releases/manifests';
import { FleetHarness } from 'test/support/fleet/fleet-harness';
import type { TestRepository } from 'test/support/git-server/git-repositories';
import type { SimCluster } from 'test/support/kube-sim';

const RBAC = 'rbac.authorization.k8s.io/v1';
/** Where the releases go (`tier=del`); the tenants also hold a grant on SPARE, with nothing applied there. */
const CLUSTERS = ['del-1', 'del-2'];
const SPARE = 'del-3';

describe('deleting a tenant with cascade cleans up what it put in its clusters', () => {
  const fleet = new FleetHarness({
    clusters: [
      ...CLUSTERS.map((name) => ({ name, labels: { tier: 'del' } })),
      { name: SPARE, labels: { tier: 'spare' } },
    ],
    // The default GITFLEET_TENANT_CLUSTER_ROLE: the clusters' aggregated bootstrap `admin`.
    namespaces: ['apps-a'],
  });
  let repo: TestRepository;
  let db: Client;

  beforeAll(async () => {
    await fleet.start();
    repo = await fleet.repos.createRepository('del');
    await repo.commit({
      'a/cm.json': configMap('a-config', { team: 'a' }),
      'a/cm2.json': configMap('a-extra', { team: 'a' }),
      'b/cm.json': configMap('b-config', { team: 'b' }),
    });
    db = new Client({ connectionString: fleet.databaseUrl });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await fleet.stop();
  });

  const api = fleet.api.bind(fleet);
  const ok = (res: { status: number; text: string }, status: number): void => {
    expect(res.status, res.text).toBe(status);
  };

  /** A source and a release of `tenant` on every `tier=del` cluster, Ready everywhere. */
  async function deployRelease(tenant: string, name: string, path: string, namespace: string) {
    ok(
      await api('POST', `/tenants/${tenant}/sources`, {
        name: 'cfg',
        kind: 'git',
        url: fleet.git.url(repo.path),
        reference: { branch: 'main' },
        intervalSeconds: 600,
        timeoutSeconds: 30,
        caCertificate: fleet.git.caCertificate,
      }),
      201,
    );
    ok(
      await api('POST', `/tenants/${tenant}/releases`, {
        name,
        source: 'cfg',
        path,
        targetNamespace: namespace,
        clusterSelector: { matchLabels: { tier: 'del' } },
        retryIntervalSeconds: 5,
      }),
      201,
    );
    await fleet.eventually(`release ${name} of ${tenant} Ready on every cluster`, async () => {
      const res = await api('GET', `/tenants/${tenant}/releases/${name}/targets`);
      const items = (res.body?.items ?? []) as { ready: string }[];
      return items.length === CLUSTERS.length && items.every((t) => t.ready === 'True')
        ? true
        : undefined;
    });
  }

  /** What onboarding created for the tenant in a cluster, found by its labels. */
  const onboarded = (cluster: SimCluster, tenant: string): string[] =>
    (
      [
        ['v1', 'ServiceAccount'],
        [RBAC, 'RoleBinding'],
        [RBAC, 'ClusterRole'],
        [RBAC, 'ClusterRoleBinding'],
      ] as const
    ).flatMap(([apiVersion, kind]) =>
      cluster
        .listObjects(apiVersion, kind)
        .filter((o) => o.metadata.labels?.['gitfleet.dev/onboarded-tenant'] === tenant)
        .map((o) => `${kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`),
    );

  const configMaps = (cluster: SimCluster, namespace: string): string[] =>
    cluster.listObjects('v1', 'ConfigMap', namespace).map((o) => o.metadata.name!);

  async function rowsOf(tenantId: string): Promise<Record<string, number>> {
    const { rows } = await db.query<Record<string, number>>(
      `SELECT (SELECT count(*)::int FROM tenant WHERE id = $1) AS tenant,
              (SELECT count(*)::int FROM "grant" WHERE tenant_id = $1) AS grants,
              (SELECT count(*)::int FROM release WHERE tenant_id = $1) AS releases,
              (SELECT count(*)::int FROM target WHERE tenant_id = $1) AS targets,
              (SELECT count(*)::int FROM source WHERE tenant_id = $1) AS sources`,
      [tenantId],
    );
    return rows[0];
  }

  it('prunes the releases as the tenant, then offboards its grants, then the tenant is gone', async () => {
    const tenant = fleet.tenant;
    // Cluster-scoped rights on one cluster, so offboarding has a ClusterRole and binding to remove.
    ok(
      await api('PATCH', `/clusters/del-1/grants/${tenant}`, {
        clusterScopedKinds: ['rbac.authorization.k8s.io/ClusterRole'],
      }),
      200,
    );
    await deployRelease(tenant, 'web', 'a', 'apps-a');
    for (const c of CLUSTERS) {
      expect(configMaps(fleet.cluster(c), 'apps-a')).toEqual(
        expect.arrayContaining(['a-config', 'a-extra']),
      );
    }
    for (const c of [...CLUSTERS, SPARE]) {
      const cluster = fleet.cluster(c);
      await fleet.eventually(`${tenant} onboarded on ${c}`, () =>
        Promise.resolve(
          onboarded(cluster, tenant).length >= (c === 'del-1' ? 4 : 2) ? true : undefined,
        ),
      );
    }
    const tenantId = (await api('GET', `/tenants/${tenant}`)).body.id as string;
    const since = Date.now();

    const deleted = await api('DELETE', `/tenants/${tenant}?cascade=true`);
    ok(deleted, 202);
    expect(deleted.body).toMatchObject({ name: tenant, status: 'deleting' });
    expect(deleted.body.deletionRequestedAt).toEqual(expect.any(String));

    await fleet.eventually(
      'the tenant to be gone',
      async () => ((await api('GET', `/tenants/${tenant}`)).status === 404 ? true : undefined),
      60_000,
    );
    expect(await rowsOf(tenantId)).toEqual({
      tenant: 0,
      grants: 0,
      releases: 0,
      targets: 0,
      sources: 0,
    });
    const sa = `system:serviceaccount:apps-a:${fleet.serviceAccountName}`;
    for (const c of [...CLUSTERS, SPARE]) {
      const cluster = fleet.cluster(c);
      expect(onboarded(cluster, tenant)).toEqual([]);
    }
    for (const c of CLUSTERS) {
      const cluster = fleet.cluster(c);
      expect(configMaps(cluster, 'apps-a').filter((n) => n.startsWith('a-'))).toEqual([]);
      expect(cluster.getObject('v1', 'ServiceAccount', fleet.serviceAccountName, 'apps-a')).toBe(
        undefined,
      );
      // Namespaces hold data and stay; what gitfleet did not create stays too.
      expect(cluster.getObject('v1', 'Namespace', 'apps-a')).toBeDefined();
      expect(cluster.getObject(RBAC, 'RoleBinding', 'gitfleet-tenant', 'apps-a')).toBeDefined();
      // Pruned as the tenant's service account, before onboarding removed it.
      const log = cluster.requestLog.filter((e) => e.time >= since && e.verb === 'delete');
      const prunes = log.filter((e) => e.resource === 'configmaps');
      expect(prunes.map((e) => e.name).sort()).toEqual(['a-config', 'a-extra']);
      expect(new Set(prunes.map((e) => e.impersonatedUser))).toEqual(new Set([sa]));
      const offboarding = log.find((e) => e.resource === 'serviceaccounts');
      expect(offboarding).toBeDefined();
      expect(Math.max(...prunes.map((e) => e.time))).toBeLessThanOrEqual(offboarding!.time);
    }
    // Gone means gone: the name is free again and nothing old comes back with it.
    ok(await api('POST', '/tenants', { name: tenant }), 201);
    ok(await api('DELETE', `/tenants/${tenant}`), 204);
  });

  it('waits for unreachable clusters instead of dropping their clean-up, then finishes by itself', async () => {
    const tenant = `team-b-${randomBytes(3).toString('hex')}`;
    ok(await api('POST', '/tenants', { name: tenant }), 201);
    for (const c of [...CLUSTERS, SPARE]) {
      ok(await api('POST', `/clusters/${c}/grants`, { tenant, namespaces: ['apps-b'] }), 201);
    }
    await deployRelease(tenant, 'api', 'b', 'apps-b');
    // `broken` holds an applied release to prune; `spare` only onboarding objects.
    const [reachable, broken] = CLUSTERS.map((c) => fleet.cluster(c));
    const spare = fleet.cluster(SPARE);
    for (const cluster of [reachable, broken]) {
      expect(configMaps(cluster, 'apps-b')).toContain('b-config');
    }
    for (const cluster of [reachable, broken, spare]) {
      await fleet.eventually(`${tenant} onboarded on ${cluster.name}`, () =>
        Promise.resolve(onboarded(cluster, tenant).length >= 2 ? true : undefined),
      );
    }

    await broken.faults.set({ unreachable: true });
    await spare.faults.set({ unreachable: true });
    ok(await api('DELETE', `/tenants/${tenant}?cascade=true`), 202);

    // The reachable cluster is cleaned up meanwhile ...
    await fleet.eventually('the reachable cluster cleaned up', () =>
      Promise.resolve(
        !configMaps(reachable, 'apps-b').includes('b-config') &&
          onboarded(reachable, tenant).length === 0
          ? true
          : undefined,
      ),
    );
    // ... while the tenant, its grants and its target on the unreachable ones stay, through many passes.
    await new Promise((r) => setTimeout(r, 4_000));
    const waiting = await api('GET', `/tenants/${tenant}`);
    ok(waiting, 200);
    expect(waiting.body.status).toBe('deleting');
    ok(await api('GET', `/clusters/del-2/grants/${tenant}`), 200);
    ok(await api('GET', `/clusters/${SPARE}/grants/${tenant}`), 200);
    expect((await api('GET', `/clusters/del-1/grants/${tenant}`)).status).toBe(404);
    const targets = (await api('GET', `/tenants/${tenant}/releases/api/targets`)).body.items;
    expect(targets).toEqual([
      expect.objectContaining({ cluster: 'del-2', lastError: expect.stringMatching(/pruning/) }),
    ]);
    // A tenant being deleted takes nothing new.
    const release = await api('POST', `/tenants/${tenant}/releases`, {
      name: 'late',
      source: 'cfg',
      path: 'b',
      targetNamespace: 'apps-b',
      clusterNames: ['del-1'],
    });
    expect([release.status, release.body.code]).toEqual([409, 'TenantDeleting']);
    const grant = await api('PATCH', `/clusters/del-2/grants/${tenant}`, {
      namespaces: ['apps-b', 'more'],
    });
    expect([grant.status, grant.body.code]).toEqual([409, 'TenantDeleting']);
    const owned = await api('POST', '/clusters', {
      name: 'late-owned',
      kubeconfig: spare.kubeconfig(),
      ownerTenant: tenant,
    });
    expect([owned.status, owned.body.code]).toEqual([409, 'TenantDeleting']);

    await broken.faults.set({ unreachable: false });
    await spare.faults.set({ unreachable: false });
    await fleet.eventually(
      'the tenant to be gone once the clusters are back',
      async () => ((await api('GET', `/tenants/${tenant}`)).status === 404 ? true : undefined),
      90_000,
    );
    expect(configMaps(broken, 'apps-b')).not.toContain('b-config');
    for (const cluster of [broken, spare]) {
      expect(onboarded(cluster, tenant)).toEqual([]);
      expect(cluster.getObject('v1', 'Namespace', 'apps-b')).toBeDefined();
    }
  });
});
