import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createTestDatabase } from 'test/support/database/test-database';
import { kubeconfigFixture, kubeconfigObject } from 'test/support/registry/kubeconfig-fixtures';
import { startTestApp, TestApp } from 'test/support/registry/test-app';

const KUBE_TOKEN = 'kube-token-canary-7f3a9c1e';

describe('tenant API tokens and self-service on PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let t: TestApp;
  let ownerToken = '';
  let viewerToken = '';
  const minted: string[] = [];

  const as = (token: string) => ({
    get: (path: string) => t.request('GET', `/api/v1${path}`, undefined, token),
    post: (path: string, body: unknown) => t.request('POST', `/api/v1${path}`, body, token),
    del: (path: string) => t.request('DELETE', `/api/v1${path}`, undefined, token),
  });
  const admin = () => as(t.adminToken);
  const mint = async (name: string, role: string, by = t.adminToken): Promise<string> => {
    const res = await as(by).post('/tenants/team-a/api-tokens', { name, role, expiresInDays: 30 });
    expect(res.status, res.text).toBe(201);
    minted.push(res.body.token);
    return res.body.token as string;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    t = await startTestApp(db.url, {
      AUTH_FAILURES_PER_MINUTE: '100000',
      CLUSTER_PROBE_TIMEOUT_SECONDS: '1',
    });
    for (const name of ['team-a', 'team-b']) {
      expect((await admin().post('/tenants', { name })).status).toBe(201);
    }
    ownerToken = await mint('automation', 'owner');
    viewerToken = await mint('dashboard', 'viewer');
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('shows a token once, lists it without the secret and stores only its SHA-256', async () => {
    expect(ownerToken).toMatch(/^gft_[A-Za-z0-9_-]{43}$/);
    const list = await as(ownerToken).get('/tenants/team-a/api-tokens');
    expect(list.status).toBe(200);
    expect(list.body.items.map((i: { name: string }) => i.name)).toEqual([
      'automation',
      'dashboard',
    ]);
    expect(Object.keys(list.body.items[0]).sort()).toEqual(
      ['createdAt', 'createdBy', 'expiresAt', 'lastUsedAt', 'name', 'role', 'tokenPrefix'].sort(),
    );
    expect(list.body.items[0].createdBy).toBe('admin:admin-token');
    const rows = await db.dataSource.query<{ token_hash: string }[]>(
      'SELECT token_hash FROM tenant_api_token ORDER BY name',
    );
    expect(rows.map((r) => r.token_hash)).toEqual(
      [ownerToken, viewerToken].map((x) => createHash('sha256').update(x).digest('hex')),
    );
  });

  it('authenticates as its tenant and role only', async () => {
    const me = await as(ownerToken).get('/me');
    expect(me.body).toEqual({
      kind: 'token',
      name: 'team-a/automation',
      groups: [],
      platformAdmin: false,
      tenants: [{ tenant: 'team-a', role: 'owner' }],
    });
    expect((await as(ownerToken).get('/tenants/team-a')).status).toBe(200);
    expect((await as(ownerToken).get('/tenants/team-b')).body.code).toBe('TenantNotFound');
    expect((await as(ownerToken).get('/clusters')).status).toBe(403);
    expect((await as(viewerToken).get('/tenants/team-a/role-bindings')).status).toBe(200);
    expect((await as(viewerToken).get('/tenants/team-a/api-tokens')).status).toBe(403);
    expect((await as(viewerToken).post('/tenants/team-a/sources', {})).status).toBe(403);
  });

  it('refuses tokens minted by tokens, bad lifetimes and duplicate names', async () => {
    const byToken = await as(ownerToken).post('/tenants/team-a/api-tokens', {
      name: 'child',
      role: 'viewer',
      expiresInDays: 1,
    });
    expect([byToken.status, byToken.body.code]).toEqual([403, 'TokensCannotMintTokens']);
    for (const expiresInDays of [0, 366, 1.5]) {
      const res = await admin().post('/tenants/team-a/api-tokens', {
        name: 'x',
        role: 'viewer',
        expiresInDays,
      });
      expect(res.status).toBe(400);
    }
    const dup = await admin().post('/tenants/team-a/api-tokens', {
      name: 'automation',
      role: 'viewer',
      expiresInDays: 1,
    });
    expect([dup.status, dup.body.code]).toEqual([409, 'ApiTokenNameTaken']);
  });

  it('stops accepting a token once it expired or was revoked', async () => {
    const expiring = await mint('expiring', 'viewer');
    const revoked = await mint('revoked', 'viewer');
    expect((await as(expiring).get('/me')).status).toBe(200);
    await db.dataSource.query(
      `UPDATE tenant_api_token SET expires_at = now() - interval '1 second' WHERE name = 'expiring'`,
    );
    expect((await as(expiring).get('/me')).status).toBe(401);

    expect((await as(revoked).get('/me')).status).toBe(200);
    expect((await as(ownerToken).del('/tenants/team-a/api-tokens/revoked')).status).toBe(204);
    expect((await as(revoked).get('/me')).status).toBe(401);
    expect((await as(ownerToken).del('/tenants/team-a/api-tokens/revoked')).body.code).toBe(
      'ApiTokenNotFound',
    );
    // A token of another tenant cannot be revoked through this one.
    expect((await as(ownerToken).del('/tenants/team-b/api-tokens/automation')).status).toBe(404);
  });

  it('lets owners register clusters only when the tenant is allowed, never at private addresses', async () => {
    const f = await kubeconfigFixture();
    const kubeconfig = (server: string): string =>
      stringify(kubeconfigObject(f, { server, token: KUBE_TOKEN }));
    const register = (body: Record<string, unknown>) =>
      as(ownerToken).post('/tenants/team-a/clusters', body);

    const refused = await register({
      name: 'self-1',
      kubeconfig: kubeconfig('https://203.0.113.10:6443'),
    });
    expect([refused.status, refused.body.code]).toEqual([403, 'ClusterRegistrationNotAllowed']);
    expect(
      (await t.request('PATCH', '/api/v1/tenants/team-a', { allowClusterRegistration: true }))
        .status,
    ).toBe(200);

    for (const server of [
      'https://10.1.2.3:6443',
      'https://127.0.0.1:6443',
      'https://localhost:6443',
      'https://169.254.169.254',
      'https://[::1]:6443',
    ]) {
      const res = await register({ name: 'self-1', kubeconfig: kubeconfig(server) });
      expect({ server, status: res.status, code: res.body.code }).toEqual({
        server,
        status: 400,
        code: 'KubeconfigRejected',
      });
    }
    // The owner comes from the path: no body field may name another tenant or relax TLS.
    for (const extra of [
      { ownerTenant: 'team-b' },
      { insecureSkipTlsVerify: true },
      { source: 'capi' },
    ]) {
      const res = await register({
        name: 'self-1',
        kubeconfig: kubeconfig('https://203.0.113.10:6443'),
        ...extra,
      });
      expect(res.status).toBe(400);
    }
    const ok = await register({
      name: 'self-1',
      kubeconfig: kubeconfig('https://203.0.113.10:6443'),
      labels: { env: 'dev' },
    });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.body).toMatchObject({
      name: 'self-1',
      ownerTenant: 'team-a',
      labels: { env: 'dev' },
    });
    const listed = await as(viewerToken).get('/tenants/team-a/clusters');
    expect(listed.body.items.map((c: { name: string }) => c.name)).toEqual(['self-1']);
    expect((await as(viewerToken).post('/tenants/team-a/clusters', {})).status).toBe(403);
  });

  it('keeps every token and credential out of responses and logs (canary)', () => {
    const creations = t.responses.filter((r) => r.includes('"token":"gft_'));
    expect(creations).toHaveLength(minted.length);
    for (const secret of [...minted, KUBE_TOKEN]) {
      expect(t.logs.filter((l) => l.includes(secret))).toEqual([]);
      const leaks = t.responses.filter(
        (r) => r.includes(secret) && !(creations.includes(r) && minted.includes(secret)),
      );
      expect(leaks).toEqual([]);
    }
    // And each minted token shows up in exactly its own creation response.
    for (const token of minted) {
      expect(creations.filter((r) => r.includes(token))).toHaveLength(1);
    }
  });
});
