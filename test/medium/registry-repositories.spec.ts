import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterRepository } from 'src/clusters/cluster.repository';
import { parseLabelSelector } from 'src/common/labels/label-selector';
import { GrantRepository } from 'src/tenants/grants/grant.repository';
import { TenantRepository } from 'src/tenants/tenant.repository';
import { createTestDatabase } from 'test/support/database/test-database';

describe('registry repositories on PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let tenants: TenantRepository;
  let clusters: ClusterRepository;
  let grants: GrantRepository;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    db = await createTestDatabase();
    tenants = new TenantRepository(db.dataSource);
    clusters = new ClusterRepository(db.dataSource);
    grants = new GrantRepository(db.dataSource);
    for (const name of ['alpha', 'beta']) {
      ids[name] = await tenants.transaction((m) => tenants.insert(m, { name }));
    }
    for (const [name, labels, owner] of [
      ['c1', { env: 'prod', tier: 'a' }, 'alpha'],
      ['c2', { env: 'dev' }, null],
      ['c3', { env: 'prod', tier: 'b' }, 'beta'],
    ] as const) {
      const id = crypto.randomUUID();
      ids[name] = id;
      await clusters.transaction((m) =>
        clusters.insert(m, {
          id,
          name,
          labels,
          ownerTenantId: owner === null ? null : ids[owner],
          apiServerUrl: 'https://10.0.0.1',
          source: 'manual',
          insecureSkipTlsVerify: false,
          kubeconfigCiphertext: `gfv1.k1.${randomBytes(8).toString('base64url')}.x`,
          kubeconfigKeyId: 'k1',
        }),
      );
    }
    await grants.insert({
      tenantId: ids.alpha,
      clusterId: ids.c1,
      namespaces: ['a1'],
      serviceAccountName: 'sa',
      clusterScopedKinds: [],
    });
    await grants.insert({
      tenantId: ids.alpha,
      clusterId: ids.c2,
      namespaces: ['a2'],
      serviceAccountName: 'sa',
      clusterScopedKinds: [],
    });
    await grants.insert({
      tenantId: ids.beta,
      clusterId: ids.c2,
      namespaces: ['b2'],
      serviceAccountName: 'sb',
      clusterScopedKinds: ['rbac.authorization.k8s.io/ClusterRole'],
    });
  });

  afterAll(async () => {
    await db?.drop();
  });

  it("grant queries of one tenant never return another tenant's grants", async () => {
    const alpha = await grants.listForTenant(ids.alpha);
    expect(alpha.map((g) => [g.clusterName, g.namespaces])).toEqual([
      ['c1', ['a1']],
      ['c2', ['a2']],
    ]);
    expect(alpha.every((g) => g.tenantId === ids.alpha)).toBe(true);
    const beta = await grants.listForTenant(ids.beta);
    expect(beta.map((g) => g.namespaces)).toEqual([['b2']]);
    expect(await grants.findForTenantOnCluster(ids.beta, ids.c1)).toBeUndefined();
    expect((await grants.findForTenantOnCluster(ids.beta, ids.c2))?.namespaces).toEqual(['b2']);
    // Updates and deletes are tenant-scoped too.
    expect(await grants.update(ids.beta, ids.c1, { namespaces: ['stolen'] })).toBe(false);
    expect(await grants.delete(ids.beta, ids.c1)).toBe(false);
    expect((await grants.findForTenantOnCluster(ids.alpha, ids.c1))?.namespaces).toEqual(['a1']);
  });

  it('lists owned clusters per tenant only', async () => {
    expect((await clusters.listOwnedBy(ids.alpha)).map((c) => c.name)).toEqual(['c1']);
    expect((await clusters.listOwnedBy(ids.beta)).map((c) => c.name)).toEqual(['c3']);
  });

  it('evaluates label selectors in SQL with Kubernetes semantics and keyset pagination', async () => {
    const names = async (s: string, after?: string, limit = 10): Promise<string[]> =>
      (await clusters.list({ selector: parseLabelSelector(s) }, after, limit)).map((c) => c.name);
    expect(await names('env=prod')).toEqual(['c1', 'c3']);
    expect(await names('tier!=a')).toEqual(['c2', 'c3']);
    expect(await names('tier notin (a)')).toEqual(['c2', 'c3']);
    expect(await names('tier in (a,b)')).toEqual(['c1', 'c3']);
    expect(await names('!tier')).toEqual(['c2']);
    expect(await names('env,tier')).toEqual(['c1', 'c3']);
    expect(await names('')).toEqual(['c1', 'c2', 'c3']);
    // limit + 1 rows come back: the extra one says there is another page.
    expect(await names('', undefined, 1)).toEqual(['c1', 'c2']);
    expect(await names('', 'c1', 1)).toEqual(['c2', 'c3']);
    expect(
      (await clusters.list({ ownerTenantId: null }, undefined, 10)).map((c) => c.name),
    ).toEqual(['c2']);
  });

  it('never selects the ciphertext outside loadCredentials', async () => {
    const c = await clusters.findByName('c1');
    expect(JSON.stringify(c)).not.toContain('gfv1.');
    expect((await clusters.loadCredentials(ids.c1))?.ciphertext).toMatch(/^gfv1\./);
  });

  it('refuses a grant with no namespaces at the database too', async () => {
    await expect(
      grants.insert({
        tenantId: ids.beta,
        clusterId: ids.c3,
        namespaces: [],
        serviceAccountName: 's',
        clusterScopedKinds: [],
      }),
    ).rejects.toThrow(/CK_grant_namespaces_not_empty/);
  });

  it('leaves no partial rows when a write fails in the middle of a transaction', async () => {
    await expect(
      tenants.transaction((m) =>
        tenants.insert(m, {
          name: 'half',
          roleBindings: [
            { subjectKind: 'group', subject: 'g', role: 'viewer' },
            { subjectKind: 'group', subject: 'g', role: 'owner' },
          ],
        }),
      ),
    ).rejects.toThrow(/UQ_tenant_role_binding_subject/);
    expect(await tenants.findByName('half')).toBeUndefined();
    const bindings = await db.dataSource.query<unknown[]>(
      `SELECT 1 FROM tenant_role_binding b LEFT JOIN tenant t ON t.id = b.tenant_id WHERE t.id IS NULL`,
    );
    expect(bindings).toEqual([]);
  });

  it('deletes a cluster with its grants; a tenant with grants only with cascade', async () => {
    await tenants
      .transaction((m) => tenants.delete(m, ids.beta, true))
      .then((deleted) => {
        expect(deleted.map((c) => c.name)).toEqual(['c3']);
      });
    expect(await grants.listForTenant(ids.beta)).toEqual([]);
    await expect(tenants.transaction((m) => tenants.delete(m, ids.alpha, false))).rejects.toThrow();
    expect(await tenants.findById(ids.alpha)).toBeDefined();
  });
});
