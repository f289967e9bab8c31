import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { ANNOTATIONS, KubeSim, type SimCluster } from 'test/support/kube-sim/index';
import { healthFailureMessage } from 'src/modules/reconciler/kube/health-checker.service';
import { KubeApiClient } from 'src/common/kube/kube-api.client';
import { KubeError } from 'src/common/kube/kube.errors';
import { clientFor, configMap, deployment, namespace, OWNER, services } from './kube-fixtures';

async function rejection(p: Promise<unknown>): Promise<KubeError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KubeError) {
      return e;
    }
    throw e;
  }
  throw new Error('expected a KubeError');
}

describe('health waiting and cluster faults against the Kubernetes API test server', () => {
  let sim: KubeSim;
  let cluster: SimCluster;
  let api: KubeApiClient;
  const { applier, health } = services();

  beforeAll(async () => {
    sim = await KubeSim.start({ readyAfterMs: 100 });
    cluster = await sim.addCluster();
    api = clientFor(cluster);
    await applier.apply(api, [namespace('apps')], { owner: OWNER });
  });
  afterAll(async () => {
    api.close();
    await sim.stop();
  });

  it('times out naming a Deployment that never becomes ready, with bounded polling', async () => {
    const stuck = deployment('stuck', 'apps', { [ANNOTATIONS.neverReady]: 'true' });
    const applied = await applier.apply(api, [stuck, configMap('cfg', 'apps')], { owner: OWNER });
    expect(applied.ok).toBe(true);
    cluster.resetCounters();
    const started = Date.now();
    const result = await health.waitForHealthy(api, [stuck, configMap('cfg', 'apps')], {
      timeoutMs: 1_500,
      initial: applied.objects.flatMap((o) => (o.live ? [o.live] : [])),
    });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(result.healthy).toBe(false);
    expect(result.timedOut).toBe(true);
    expect(result.failing.map((f) => f.ref.name)).toEqual(['stuck']);
    expect(healthFailureMessage(result)).toMatch(
      /^timeout waiting for: Deployment\.apps\/apps\/stuck: InProgress/,
    );
    // Only the stuck object is polled, with backoff: a handful of GETs, nothing else.
    expect(cluster.counters().byVerb).toEqual({ get: result.polls });
    expect(result.polls).toBeLessThanOrEqual(6);
  });

  it('reports a Deployment that becomes ready after a delay as Current', async () => {
    const slow = deployment('slow', 'apps', { [ANNOTATIONS.readyAfterMs]: '600' });
    const applied = await applier.apply(api, [slow], { owner: OWNER });
    const result = await health.waitForHealthy(api, [slow], {
      timeoutMs: 10_000,
      initial: applied.objects.flatMap((o) => (o.live ? [o.live] : [])),
    });
    expect(result.healthy).toBe(true);
    expect(result.objects[0]).toMatchObject({ status: 'Current' });
    expect(Object.values(result.resourceVersions)).toHaveLength(1);
  });

  it('reports a Failed Deployment without waiting for the timeout', async () => {
    const broken = deployment('broken', 'apps', {
      [ANNOTATIONS.fail]: 'true',
      [ANNOTATIONS.readyAfterMs]: '50',
    });
    await applier.apply(api, [broken], { owner: OWNER });
    const started = Date.now();
    const result = await health.waitForHealthy(api, [broken], { timeoutMs: 20_000 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.timedOut).toBe(false);
    expect(result.failing[0]).toMatchObject({ status: 'Failed' });
    expect(result.failing[0].message).toContain('Progress deadline exceeded');
  });

  it('fails fast with Unreachable when the cluster is down, and recovers without a new client', async () => {
    const other = await sim.addCluster();
    const client = clientFor(other, { connectTimeoutMs: 1_000 });
    await client.get({ group: '', version: 'v1', kind: 'Namespace', name: 'default' });
    await other.faults.set({ unreachable: true });
    const started = Date.now();
    const e = await rejection(
      client.get({ group: '', version: 'v1', kind: 'Namespace', name: 'default' }),
    );
    expect(e.code).toBe('Unreachable');
    expect(e.retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(e.message).not.toContain(other.adminToken);
    const applied = await applier.apply(client, [configMap('x', 'default')], { owner: OWNER });
    expect(applied.ok).toBe(false);
    expect(applied.clusterError?.code).toBe('Unreachable');
    await other.faults.clear();
    expect(
      await client.get({ group: '', version: 'v1', kind: 'Namespace', name: 'default' }),
    ).toBeDefined();
    client.close();
  });

  it('gives up connecting to a server that accepts TCP but never answers within the connect timeout', async () => {
    const sockets: net.Socket[] = [];
    const blackhole = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
    const port = (blackhole.address() as net.AddressInfo).port;
    const client = new KubeApiClient(
      {
        server: `https://127.0.0.1:${port}`,
        caData: cluster.ca.certPem,
        token: 'secret-token-value',
      },
      { connectTimeoutMs: 300 },
    );
    const started = Date.now();
    const e = await rejection(
      client.get({ group: '', version: 'v1', kind: 'Namespace', name: 'default' }),
    );
    expect(e.code).toBe('Unreachable');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(e.message).not.toContain('secret-token-value');
    client.close();
    sockets.forEach((s) => s.destroy());
    await new Promise<void>((r) => blackhole.close(() => r()));
  });

  it('turns 429 with Retry-After into RateLimited carrying the delay', async () => {
    const limited = await sim.addCluster();
    const client = clientFor(limited);
    await limited.faults.set({ errorRate: { code: 429, rate: 1, retryAfterSeconds: 7 } });
    const e = await rejection(client.list('v1', 'ConfigMap', 'default'));
    expect(e.code).toBe('RateLimited');
    expect(e.retryAfterMs).toBe(7_000);
    expect(e.httpStatus).toBe(429);
    await limited.faults.clear();
    client.close();
  });

  it('builds a client from a KubeConfig loaded with loadFromOptions and reuses its connection', async () => {
    const kc = new KubeConfig();
    const raw = cluster.kubeconfigObject() as {
      clusters: {
        name: string;
        cluster: { server: string; 'certificate-authority-data': string };
      }[];
      users: { name: string; user: { token: string } }[];
    };
    kc.loadFromOptions({
      clusters: [
        {
          name: 'c',
          server: raw.clusters[0].cluster.server,
          caData: raw.clusters[0].cluster['certificate-authority-data'],
          skipTLSVerify: false,
        },
      ],
      users: [{ name: 'u', token: raw.users[0].user.token }],
      contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
      currentContext: 'ctx',
    });
    const client = await KubeApiClient.fromKubeConfig(kc, { maxSockets: 2 });
    const ports = new Set<number>();
    for (let i = 0; i < 20; i++) {
      await client.get({ group: '', version: 'v1', kind: 'Namespace', name: 'default' });
    }
    for (const s of Object.values(
      (client as unknown as { agent: { freeSockets: Record<string, { localPort?: number }[]> } })
        .agent.freeSockets,
    ).flat()) {
      ports.add(s.localPort ?? 0);
    }
    expect(ports.size).toBe(1);
    expect(client.counters.byVerb).toEqual({ discovery: 1, get: 20 });
    client.close();
  });
});
