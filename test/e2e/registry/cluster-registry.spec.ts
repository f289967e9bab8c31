import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  createEmptyDatabase,
  dropDatabase,
  uniqueDatabaseName,
} from 'test/support/database/test-database';
import { KubeSim, SimCluster } from 'test/support/kube-sim';
import { startTestApp, TestApp } from 'test/support/registry/test-app';

interface ClusterView {
  name: string;
  kubernetesVersion: string | null;
  lastProbeTime: string | null;
  credentialsVersion: number;
  conditions: { type: string; status: string; reason: string; message: string }[];
}

const condition = (c: ClusterView, type: string): { status: string; reason: string } | undefined =>
  c.conditions.find((x) => x.type === type);

async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for: ${what}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('cluster registry against the Kubernetes API test server', () => {
  const PROBE_INTERVAL_SECONDS = 1;
  // Seeded secrets: none of them may ever show up outside the vault.
  const tokenCanary1 = `canary-token-one-${randomBytes(12).toString('hex')}`;
  const tokenCanary3 = `canary-token-three-${randomBytes(12).toString('hex')}`;
  const tokenCanaryMoved = `canary-token-moved-${randomBytes(12).toString('hex')}`;
  const kekCanary = randomBytes(32).toString('base64');
  let clientKeyPem = '';
  let clientKeyData = '';

  let sim: KubeSim;
  let clusters: SimCluster[];
  let moved: SimCluster;
  let dbName: string;
  let t: TestApp;

  const get = async (name: string): Promise<ClusterView> => {
    const r = await t.request('GET', `/api/v1/clusters/${name}`);
    expect(r.status).toBe(200);
    return r.body as ClusterView;
  };

  beforeAll(async () => {
    sim = await KubeSim.start();
    clusters = [
      await sim.addCluster({ name: 'reg-1' }),
      await sim.addCluster({ name: 'reg-2' }),
      await sim.addCluster({ name: 'reg-3' }),
    ];
    moved = await sim.addCluster({ name: 'reg-3-moved' });
    dbName = uniqueDatabaseName('gitfleet_e2e_registry');
    const url = await createEmptyDatabase(dbName);
    t = await startTestApp(url, {
      GITFLEET_ENCRYPTION_KEYS: `e2e:${kekCanary}`,
      CLUSTER_PROBE_INTERVAL_SECONDS: String(PROBE_INTERVAL_SECONDS),
      CLUSTER_PROBE_TIMEOUT_SECONDS: '1',
    });
  });

  afterAll(async () => {
    await t?.close();
    await sim?.stop();
    if (dbName !== undefined) {
      await dropDatabase(dbName);
    }
  });

  it('registers three clusters (token and client-certificate users) and sees version and Ready', async () => {
    const admin = { user: 'gitfleet-admin', groups: ['system:masters'] };
    clusters[0].createToken(admin, tokenCanary1);
    clusters[2].createToken(admin, tokenCanary3);
    const cert = await clusters[1].createClientCert({
      user: 'gitfleet',
      groups: ['system:masters'],
    });
    clientKeyPem = cert.keyPem;
    clientKeyData = Buffer.from(cert.keyPem).toString('base64');
    const kubeconfigs = [
      clusters[0].kubeconfig({ token: tokenCanary1 }),
      // JSON is accepted too.
      JSON.stringify(clusters[1].kubeconfigObject({ cert })),
      clusters[2].kubeconfig({ token: tokenCanary3 }),
    ];
    expect((await t.request('POST', '/api/v1/tenants', { name: 'payments' })).status).toBe(201);
    for (const [i, kubeconfig] of kubeconfigs.entries()) {
      const r = await t.request('POST', '/api/v1/clusters', {
        name: `reg-${i + 1}`,
        kubeconfig,
        labels: { env: i === 2 ? 'staging' : 'prod' },
        ...(i === 0 ? { ownerTenant: 'payments' } : {}),
      });
      expect(r.status, r.text).toBe(201);
      const c = r.body as ClusterView;
      expect(c.kubernetesVersion).toMatch(/^v1\.\d+/);
      expect(condition(c, 'Ready')).toMatchObject({ status: 'True' });
      expect(condition(c, 'Reachable')).toMatchObject({
        status: 'True',
        reason: 'VersionRetrieved',
      });
    }
    const grant = await t.request('POST', '/api/v1/clusters/reg-1/grants', {
      tenant: 'payments',
      namespaces: ['payments'],
    });
    expect(grant.status).toBe(201);
    const list = await t.request(
      'GET',
      `/api/v1/clusters?labelSelector=${encodeURIComponent('env in (prod)')}`,
    );
    expect(list.body.items.map((c: ClusterView) => c.name)).toEqual(['reg-1', 'reg-2']);
  });

  it('marks an unreachable cluster false within the probe interval while the others stay true', async () => {
    const before = await Promise.all(['reg-1', 'reg-2'].map(get));
    await clusters[2].faults.set({ unreachable: true });
    const started = Date.now();
    const down = await eventually(
      'reg-3 not reachable',
      async () => {
        const c = await get('reg-3');
        return condition(c, 'Reachable')?.status === 'False' ? c : undefined;
      },
      (PROBE_INTERVAL_SECONDS + 1) * 1000 + 2000,
    );
    expect(Date.now() - started).toBeLessThan((PROBE_INTERVAL_SECONDS * 2 + 1) * 1000);
    expect(condition(down, 'Reachable')?.reason).toBe('ConnectionRefused');
    expect(condition(down, 'Ready')).toMatchObject({ status: 'False', reason: 'Unreachable' });
    // The others kept being probed (their probe time moved) and stayed true.
    await eventually(
      'the others probed again',
      async () => {
        const now = await Promise.all(['reg-1', 'reg-2'].map(get));
        const probedAgain = now.every((c, i) => c.lastProbeTime !== before[i].lastProbeTime);
        return probedAgain ? now : undefined;
      },
      5000,
    );
    for (const name of ['reg-1', 'reg-2']) {
      expect(condition(await get(name), 'Ready')?.status).toBe('True');
    }
    const notReady = await t.request('GET', '/api/v1/clusters?condition=Reachable=False');
    expect(notReady.body.items.map((c: ClusterView) => c.name)).toEqual(['reg-3']);
    const metrics = await fetch(`${t.baseUrl}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/gitfleet_cluster_reachable\{cluster="reg-3"\} 0/);
    expect(metrics).toMatch(/gitfleet_cluster_reachable\{cluster="reg-1"\} 1/);
  });

  it('rotating its kubeconfig makes it reachable again at once (the old client is dropped)', async () => {
    moved.createToken({ user: 'gitfleet-admin', groups: ['system:masters'] }, tokenCanaryMoved);
    const r = await t.request('PUT', '/api/v1/clusters/reg-3/kubeconfig', {
      kubeconfig: moved.kubeconfig({ token: tokenCanaryMoved }),
    });
    expect(r.status, r.text).toBe(200);
    const c = r.body as ClusterView;
    expect(c.credentialsVersion).toBe(2);
    expect(condition(c, 'Reachable')).toMatchObject({ status: 'True', reason: 'VersionRetrieved' });
    expect(condition(c, 'Ready')?.status).toBe('True');
    // Still true on the following probes.
    await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_SECONDS * 1500));
    expect(condition(await get('reg-3'), 'Reachable')?.status).toBe('True');
  });

  it('a revoked credential shows as Unauthorized, not as a healthy cluster', async () => {
    clusters[0].revokeToken(tokenCanary1);
    const c = await eventually(
      'reg-1 unauthorized',
      async () => {
        const v = await get('reg-1');
        return condition(v, 'Reachable')?.reason === 'Unauthorized' ? v : undefined;
      },
      5000,
    );
    expect(condition(c, 'Ready')?.status).toBe('False');
  });

  it('refuses dangerous kubeconfigs with a 400 naming the field and reaches nothing', async () => {
    const base = clusters[1].kubeconfigObject({ token: 'x' });
    const withUser = (user: Record<string, unknown>): string =>
      stringify({ ...base, users: [{ name: 'reg-2', user }] });
    const withCluster = (extra: Record<string, unknown>): string =>
      stringify({
        ...base,
        clusters: [
          {
            name: 'reg-2',
            cluster: { ...(base.clusters as { cluster: object }[])[0].cluster, ...extra },
          },
        ],
      });
    const countersBefore = clusters[1].counters();
    for (const [field, kubeconfig] of [
      ['exec', withUser({ exec: { command: 'sh', args: ['-c', 'id'] } })],
      ['auth-provider', withUser({ 'auth-provider': { name: 'oidc', config: {} } })],
      [
        'token-file',
        withUser({ 'token-file': '/var/run/secrets/kubernetes.io/serviceaccount/token' }),
      ],
      ['client-key', withUser({ 'client-certificate': '/x', 'client-key': '/y' })],
      ['certificate-authority', withCluster({ 'certificate-authority': '/etc/ssl/ca.pem' })],
      ['proxy-url', withCluster({ 'proxy-url': 'http://127.0.0.1:3128' })],
      ['insecure-skip-tls-verify', withCluster({ 'insecure-skip-tls-verify': true })],
      ['server', withCluster({ server: 'https://169.254.169.254' })],
    ] as const) {
      const r = await t.request('POST', '/api/v1/clusters', { name: 'evil', kubeconfig });
      expect(r.status, field).toBe(400);
      expect(r.body.code).toBe('KubeconfigRejected');
      expect(r.body.message).toContain(field);
    }
    expect(clusters[1].counters()).toEqual(countersBefore);
    expect((await t.request('GET', '/api/v1/clusters/evil')).status).toBe(404);
  });

  it('a hanging cluster times out on its own while the others keep being probed', async () => {
    await moved.faults.set({ latencyMs: 10_000 });
    const before = await get('reg-2');
    const hung = await eventually(
      'reg-3 timed out',
      async () => {
        const v = await get('reg-3');
        return condition(v, 'Reachable')?.reason === 'Timeout' ? v : undefined;
      },
      6000,
    );
    expect(condition(hung, 'Ready')?.status).toBe('False');
    const after = await get('reg-2');
    expect(after.lastProbeTime).not.toBe(before.lastProbeTime);
    expect(condition(after, 'Ready')?.status).toBe('True');
    await moved.faults.set({ latencyMs: 0 });
  });

  it('removes the metric series when a cluster is deleted', async () => {
    expect((await t.request('DELETE', '/api/v1/clusters/reg-2')).status).toBe(204);
    const metrics = await fetch(`${t.baseUrl}/metrics`).then((r) => r.text());
    expect(metrics).not.toContain('cluster="reg-2"');
  });

  it('never shows a seeded secret in responses, logs, audit entries or metrics', async () => {
    const audit = await t.request('GET', '/api/v1/audit?limit=500');
    expect(audit.body.items.length).toBeGreaterThan(5);
    const metrics = await fetch(`${t.baseUrl}/metrics`).then((r) => r.text());
    const auditRows = JSON.stringify(
      await t.app
        .get<import('typeorm').DataSource>((await import('typeorm')).DataSource)
        .query('SELECT * FROM audit_entry'),
    );
    const haystacks = {
      responses: t.responses.join('\n'),
      logs: t.logs.join('\n'),
      audit: auditRows,
      metrics,
    };
    const canaries = [
      tokenCanary1,
      tokenCanary3,
      tokenCanaryMoved,
      kekCanary,
      clientKeyData,
      clientKeyPem.split('\n')[1],
    ];
    for (const [where, text] of Object.entries(haystacks)) {
      for (const canary of canaries) {
        expect(text.includes(canary), `${where} contains a seeded secret`).toBe(false);
      }
    }
    expect(t.logs.length).toBeGreaterThan(0);
  });
});
