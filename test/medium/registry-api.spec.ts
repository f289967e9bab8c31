import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createTestDatabase } from 'test/support/database/test-database';
import {
  kubeconfigFixture,
  KubeconfigFixture,
  kubeconfigObject,
} from 'test/support/registry/kubeconfig-fixtures';
import { startTestApp, TestApp } from 'test/support/registry/test-app';

const TOKEN = 'medium-token-canary-5d1c9a7e';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('registry API on PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let t: TestApp;
  let f: KubeconfigFixture;
  // Nothing listens on a just-released port: probes fail fast with ConnectionRefused.
  let deadServer = '';
  const kubeconfig = (token = TOKEN): string =>
    stringify(kubeconfigObject(f, { server: deadServer, token }));

  beforeAll(async () => {
    db = await createTestDatabase();
    t = await startTestApp(db.url);
    f = await kubeconfigFixture();
    deadServer = `https://127.0.0.1:${await freePort()}`;
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('requires the admin token', async () => {
    expect((await t.request('GET', '/api/v1/tenants', undefined, null)).status).toBe(401);
    expect((await t.request('GET', '/api/v1/clusters', undefined, 'wrong')).status).toBe(401);
  });

  it('creates, reads, updates and lists tenants with pagination', async () => {
    const created = await t.request('POST', '/api/v1/tenants', {
      name: 'team-a',
      displayName: 'Team A',
      roleBindings: [{ subjectKind: 'group', subject: 'team-a-devs', role: 'editor' }],
      quotas: { maxClusters: 2 },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'team-a',
      displayName: 'Team A',
      allowClusterRegistration: false,
      quotas: { maxClusters: 2, maxReleases: null },
      roleBindings: [{ subjectKind: 'group', subject: 'team-a-devs', role: 'editor' }],
    });
    for (const name of ['team-b', 'team-c', 'team-d']) {
      expect((await t.request('POST', '/api/v1/tenants', { name })).status).toBe(201);
    }
    const patched = await t.request('PATCH', '/api/v1/tenants/team-a', {
      description: 'd',
      roleBindings: [{ subjectKind: 'user', subject: 'alice', role: 'owner' }],
    });
    expect(patched.status).toBe(200);
    expect(patched.body.roleBindings).toEqual([
      { subjectKind: 'user', subject: 'alice', role: 'owner' },
    ]);

    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await t.request(
        'GET',
        `/api/v1/tenants?limit=3${token ? `&continue=${token}` : ''}`,
      );
      expect(page.status).toBe(200);
      names.push(...page.body.items.map((x: { name: string }) => x.name));
      token = page.body.continue;
    } while (token !== undefined);
    expect(names).toEqual(['team-a', 'team-b', 'team-c', 'team-d']);
    expect((await t.request('GET', '/api/v1/tenants/nope')).status).toBe(404);
  });

  it('validates names, labels, selectors, namespaces and continue tokens with field details', async () => {
    const bad = await t.request('POST', '/api/v1/tenants', { name: 'Not_A_Label' });
    expect(bad.status).toBe(400);
    expect(bad.body.details).toEqual([expect.objectContaining({ field: 'name' })]);
    const labels = await t.request('POST', '/api/v1/clusters', {
      name: 'c-bad',
      kubeconfig: kubeconfig(),
      labels: { 'bad key!': 'x' },
    });
    expect(labels.status).toBe(400);
    expect(labels.body.code).toBe('InvalidLabels');
    expect(labels.body.details[0].field).toBe('labels.bad key!');
    const selector = await t.request(
      'GET',
      '/api/v1/clusters?labelSelector=' + encodeURIComponent('a in (b'),
    );
    expect(selector.status).toBe(400);
    expect(selector.body.details[0].field).toBe('labelSelector');
    const token = await t.request('GET', '/api/v1/tenants?continue=garbage!');
    expect(token.status).toBe(400);
    const twice = await t.request('POST', '/api/v1/tenants', {
      name: 'twice',
      roleBindings: [
        { subjectKind: 'group', subject: 'g', role: 'viewer' },
        { subjectKind: 'group', subject: 'g', role: 'owner' },
      ],
    });
    expect(twice.status).toBe(400);
    expect(twice.body.details[0].field).toBe('roleBindings.1');
    expect((await t.request('GET', '/api/v1/tenants/twice')).status).toBe(404);
    const unknownField = await t.request('POST', '/api/v1/tenants', { name: 'x', admin: true });
    expect(unknownField.status).toBe(400);
    // No partial rows after refused requests.
    const rows = await db.dataSource.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM cluster WHERE name = 'c-bad'`,
    );
    expect(rows[0].n).toBe(0);
  });

  it('two simultaneous creates of the same tenant or cluster name: exactly one 201 and one 409', async () => {
    const tenants = await Promise.all([
      t.request('POST', '/api/v1/tenants', { name: 'racer' }),
      t.request('POST', '/api/v1/tenants', { name: 'racer' }),
    ]);
    expect(tenants.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(tenants.find((r) => r.status === 409)!.body.code).toBe('TenantNameTaken');
    const clusters = await Promise.all([
      t.request('POST', '/api/v1/clusters', { name: 'race-cluster', kubeconfig: kubeconfig() }),
      t.request('POST', '/api/v1/clusters', { name: 'race-cluster', kubeconfig: kubeconfig() }),
    ]);
    expect(clusters.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(clusters.find((r) => r.status === 409)!.body.code).toBe('ClusterNameTaken');
    const rows = await db.dataSource.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM cluster WHERE name = 'race-cluster'`,
    );
    expect(rows[0].n).toBe(1);
  });

  it('registers an unreachable cluster, marked not reachable, without returning credentials', async () => {
    const res = await t.request('POST', '/api/v1/clusters', {
      name: 'prod-eu',
      kubeconfig: kubeconfig(),
      labels: { env: 'prod', region: 'eu' },
      ownerTenant: 'team-a',
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'prod-eu',
      ownerTenant: 'team-a',
      apiServerUrl: deadServer,
      insecureSkipTlsVerify: false,
      credentialsVersion: 1,
      labels: { env: 'prod', region: 'eu' },
    });
    const reachable = res.body.conditions.find((c: { type: string }) => c.type === 'Reachable');
    expect(reachable).toMatchObject({ status: 'False', reason: 'ConnectionRefused' });
    expect(res.text).not.toContain(TOKEN);
    expect(res.text).not.toContain(f.caData);
  });

  it('filters clusters by label selector, owner and condition', async () => {
    for (const [name, labels] of [
      ['dev-us', { env: 'dev', region: 'us' }],
      ['prod-us', { env: 'prod', region: 'us' }],
    ] as const) {
      expect(
        (await t.request('POST', '/api/v1/clusters', { name, kubeconfig: kubeconfig(), labels }))
          .status,
      ).toBe(201);
    }
    const q = async (query: string): Promise<string[]> => {
      const r = await t.request('GET', `/api/v1/clusters?${query}`);
      expect(r.status).toBe(200);
      return r.body.items.map((c: { name: string }) => c.name);
    };
    expect(await q(`labelSelector=${encodeURIComponent('env=prod')}`)).toEqual([
      'prod-eu',
      'prod-us',
    ]);
    expect(await q(`labelSelector=${encodeURIComponent('env!=prod,region in (us,eu)')}`)).toEqual([
      'dev-us',
    ]);
    expect(await q(`labelSelector=${encodeURIComponent('!env')}`)).toEqual(['race-cluster']);
    expect(await q('owner=team-a')).toEqual(['prod-eu']);
    expect(await q('owner=none&labelSelector=env')).toEqual(['dev-us', 'prod-us']);
    expect(await q('condition=Reachable=False&limit=2')).toEqual(['dev-us', 'prod-eu']);
    expect((await t.request('GET', '/api/v1/clusters?condition=Bogus')).status).toBe(400);
    const patched = await t.request('PATCH', '/api/v1/clusters/dev-us', {
      labels: { env: null, tier: 'gold' },
    });
    expect(patched.body.labels).toEqual({ region: 'us', tier: 'gold' });
  });

  it('manages grants with a default service account and per-tenant uniqueness', async () => {
    const g = await t.request('POST', '/api/v1/clusters/prod-eu/grants', {
      tenant: 'team-b',
      namespaces: ['web', 'api'],
    });
    expect(g.status).toBe(201);
    expect(g.body).toMatchObject({
      cluster: 'prod-eu',
      tenant: 'team-b',
      namespaces: ['web', 'api'],
      serviceAccountName: 'gitfleet-team-b',
      clusterScopedKinds: [],
      allowClusterScoped: false,
    });
    expect(
      (
        await t.request('POST', '/api/v1/clusters/prod-eu/grants', {
          tenant: 'team-b',
          namespaces: ['x'],
        })
      ).status,
    ).toBe(409);
    const empty = await t.request('POST', '/api/v1/clusters/prod-eu/grants', {
      tenant: 'team-c',
      namespaces: [],
    });
    expect(empty.status).toBe(400);
    expect(empty.body.details[0].field).toBe('namespaces');
    const badNs = await t.request('POST', '/api/v1/clusters/prod-eu/grants', {
      tenant: 'team-c',
      namespaces: ['Bad'],
    });
    expect(badNs.status).toBe(400);
    expect(
      (
        await t.request('POST', '/api/v1/clusters/prod-eu/grants', {
          tenant: 'ghost',
          namespaces: ['a'],
        })
      ).body.code,
    ).toBe('UnknownTenant');
    // The old switch granted every cluster-scoped kind; it is refused, naming the field to use.
    const everything = await t.request('PATCH', '/api/v1/clusters/prod-eu/grants/team-b', {
      allowClusterScoped: true,
    });
    expect(everything.status).toBe(400);
    expect(everything.body.details[0]).toMatchObject({ field: 'allowClusterScoped' });
    expect(everything.body.message).toContain('clusterScopedKinds');
    const namespaceKind = await t.request('PATCH', '/api/v1/clusters/prod-eu/grants/team-b', {
      clusterScopedKinds: ['Namespace'],
    });
    expect(namespaceKind.status).toBe(400);
    expect(namespaceKind.body.message).toContain("the grant's namespaces");
    const updated = await t.request('PATCH', '/api/v1/clusters/prod-eu/grants/team-b', {
      clusterScopedKinds: ['rbac.authorization.k8s.io/ClusterRole', 'PersistentVolume'],
    });
    expect(updated.status, updated.text).toBe(200);
    expect(updated.body).toMatchObject({
      clusterScopedKinds: ['rbac.authorization.k8s.io/ClusterRole', 'PersistentVolume'],
      allowClusterScoped: true,
    });
    const list = await t.request('GET', '/api/v1/clusters/prod-eu/grants');
    expect(list.body.items.map((x: { tenant: string }) => x.tenant)).toEqual(['team-b']);
    expect((await t.request('GET', '/api/v1/clusters/prod-eu/grants/team-c')).status).toBe(404);
  });

  it('refuses to delete a tenant that owns anything unless cascade=true, which deletes in the background', async () => {
    const refused = await t.request('DELETE', '/api/v1/tenants/team-a');
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('TenantNotEmpty');
    const refusedB = await t.request('DELETE', '/api/v1/tenants/team-b');
    expect(refusedB.status).toBe(409);
    expect((await t.request('GET', '/api/v1/tenants/team-a')).body.status).toBe('active');
    expect((await t.request('GET', '/api/v1/clusters/prod-eu')).status).toBe(200);
    const accepted = await t.request('DELETE', '/api/v1/tenants/team-a?cascade=true');
    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ name: 'team-a', status: 'deleting' });
    // Nothing of team-a's is in a workload cluster, so the deletion finishes at once.
    const deadline = Date.now() + 10_000;
    while ((await t.request('GET', '/api/v1/tenants/team-a')).status !== 404) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await t.request('GET', '/api/v1/clusters/prod-eu')).status).toBe(404);
    // prod-eu's grants went with it, so team-b owns nothing now.
    expect((await t.request('DELETE', '/api/v1/tenants/team-b')).status).toBe(204);
    expect((await t.request('DELETE', '/api/v1/tenants/team-d')).status).toBe(204);
  });

  it('rotates a kubeconfig (version bump) and deletes clusters', async () => {
    const rotated = await t.request('PUT', '/api/v1/clusters/dev-us/kubeconfig', {
      kubeconfig: kubeconfig('rotated-token-canary-1'),
    });
    expect(rotated.status).toBe(200);
    expect(rotated.body.credentialsVersion).toBe(2);
    const rejected = await t.request('PUT', '/api/v1/clusters/dev-us/kubeconfig', {
      kubeconfig: stringify(kubeconfigObject(f, { user: { exec: { command: 'sh' } } })),
    });
    expect(rejected.status).toBe(400);
    expect(rejected.body.message).toContain('exec');
    expect((await t.request('GET', '/api/v1/clusters/dev-us')).body.credentialsVersion).toBe(2);
    expect((await t.request('DELETE', '/api/v1/clusters/dev-us')).status).toBe(204);
    expect((await t.request('DELETE', '/api/v1/clusters/dev-us')).status).toBe(404);
  });

  it('records every mutating call in the audit log, secrets redacted, with filters and pagination', async () => {
    const all = await t.request('GET', '/api/v1/audit?limit=500');
    expect(all.status).toBe(200);
    const actions = all.body.items.map((e: { action: string }) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'tenant.create',
        'cluster.register',
        'grant.create',
        'tenant.delete',
        'cluster.rotate-kubeconfig',
        'cluster.delete',
      ]),
    );
    const register = all.body.items.find(
      (e: { action: string; objectName: string }) =>
        e.action === 'cluster.register' && e.objectName === 'prod-eu',
    );
    expect(register).toMatchObject({
      actor: 'admin:admin-token',
      outcome: 'success',
      statusCode: 201,
      objectKind: 'Cluster',
    });
    expect(register.changes.kubeconfig).toBe('[REDACTED]');
    expect(register.requestId).toEqual(expect.any(String));
    const failures = await t.request('GET', '/api/v1/audit?outcome=failure&action=tenant.delete');
    expect(failures.body.items[0]).toMatchObject({
      outcome: 'failure',
      statusCode: 409,
      errorCode: 'TenantNotEmpty',
    });
    const page1 = await t.request('GET', '/api/v1/audit?limit=2');
    const page2 = await t.request('GET', `/api/v1/audit?limit=2&continue=${page1.body.continue}`);
    expect(page2.body.items[0].id).not.toBe(page1.body.items[1].id);
    expect(
      (await t.request('GET', `/api/v1/audit?limit=2&action=x&continue=${page1.body.continue}`))
        .status,
    ).toBe(400);
    const rows = await db.dataSource.query<unknown[]>('SELECT * FROM audit_entry');
    expect(JSON.stringify(rows)).not.toContain(TOKEN);
  });

  it('answers 400, not 500, for a value PostgreSQL cannot take (a NUL character)', async () => {
    const res = await t.request('GET', '/api/v1/audit?objectName=web%00x');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, code: 'InvalidValue' });
  });

  it('never leaks a kubeconfig secret into responses, logs or metrics', async () => {
    const metrics = await fetch(`${t.baseUrl}/metrics`).then((r) => r.text());
    expect(metrics).toContain('gitfleet_cluster_reachable');
    for (const secret of [TOKEN, 'rotated-token-canary-1', f.clientKeyData]) {
      expect(t.responses.join('\n')).not.toContain(secret);
      expect(t.logs.join('\n')).not.toContain(secret);
      expect(metrics).not.toContain(secret);
    }
  });
});
