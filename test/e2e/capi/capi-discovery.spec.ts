import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetHarness } from 'test/support/fleet/fleet-harness';
import type { TestRepository } from 'test/support/git-server/git-repositories';
import { installClusterApiCrd, type SimCluster } from 'test/support/kube-sim';
import { simRequest } from 'test/support/kube-sim/http-client';
import { configMap } from 'test/e2e/releases/manifests';
import {
  CAPI_NS,
  capiCluster,
  clusterPath,
  execKubeconfig,
  kubeconfigSecret,
  patchCluster,
  PLATFORM_NS,
} from './capi-fixtures';

const WRITE_VERBS = ['create', 'update', 'patch', 'delete', 'deletecollection'];
const NAME_A = `${CAPI_NS}.wl-a`;
const NAME_B = `${CAPI_NS}.wl-b`;

describe('Cluster API discovery: register, rotate, pause, retire', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gitfleet-capi-'));
  let mgmt!: SimCluster;
  const fleet = new FleetHarness({
    clusters: [],
    appEnvFromSim: async (sim) => {
      mgmt = await sim.addCluster({ name: 'management', historySize: 50 });
      await installClusterApiCrd(mgmt);
      const file = join(dir, 'management.kubeconfig');
      writeFileSync(file, mgmt.kubeconfig(), { mode: 0o600 });
      return {
        MANAGEMENT_KUBECONFIG: file,
        CAPI_LEASE_SECONDS: '3',
        CAPI_STARTUP_SPREAD_SECONDS: '0',
        CAPI_RESYNC_SECONDS: '3600',
      };
    },
  });
  let wlA!: SimCluster;
  let wlB!: SimCluster;
  let tokenA1 = '';
  let repo!: TestRepository;

  beforeAll(async () => {
    await fleet.start();
    mgmt.seed(
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: CAPI_NS, labels: { 'gitfleet.dev/tenant': fleet.tenant } },
      },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: PLATFORM_NS } },
    );
    wlA = await fleet.prepareCluster('wl-a');
    wlB = await fleet.prepareCluster('wl-b');
    tokenA1 = wlA.createToken({ user: 'capi-admin-a1', groups: ['system:masters'] });
    repo = await fleet.repos.createRepository('capi-config');
    await repo.commit({
      'apps/web/configmap.json': configMap('web-config', { cluster: '${cluster_name}' }),
    });
    await fleet.createGitSource('config', repo);
  });

  afterAll(async () => {
    await fleet.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const getCluster = async (name: string): Promise<any> => {
    const res = await fleet.api('GET', `/clusters/${name}`);
    return res.status === 200 ? res.body : undefined;
  };
  const capiStatus = async (namespace: string, name: string): Promise<any> => {
    const res = await fleet.api('GET', '/capi/clusters');
    return (res.body.items as any[]).find((c) => c.namespace === namespace && c.name === name);
  };
  const writesTo = (cluster: SimCluster, from: number) =>
    cluster.requestLog
      .slice(from)
      .filter((e) => WRITE_VERBS.includes(e.verb) && !e.query.includes('dryRun'));
  const liveConfigMap = (cluster: SimCluster) =>
    cluster.listObjects('v1', 'ConfigMap', 'apps').find((o) => o.metadata.name === 'web-config') as
      { data?: Record<string, string> } | undefined;
  // A Secret's type is immutable: planting another one means replacing it.
  const deleteSecret = async (namespace: string, name: string): Promise<void> => {
    const res = await simRequest(mgmt, 'DELETE', `/api/v1/namespaces/${namespace}/secrets/${name}`);
    expect(res.status).toBe(200);
  };
  const reconcile = (cluster: string) =>
    fleet.api('POST', `/tenants/${fleet.tenant}/releases/web/targets/${cluster}/reconcile`);

  it('registers a v1beta1 and a v1beta2 Cluster within seconds, with labels, owner, phase and conditions', async () => {
    const started = Date.now();
    mgmt.seed(
      capiCluster('v1beta1', CAPI_NS, 'wl-a', { labels: { fleet: 'capi', flavour: 'old' } }),
      kubeconfigSecret(CAPI_NS, 'wl-a', wlA.kubeconfig({ token: tokenA1 })),
      capiCluster('v1beta2', CAPI_NS, 'wl-b', { labels: { fleet: 'capi', flavour: 'new' } }),
      kubeconfigSecret(CAPI_NS, 'wl-b', wlB.kubeconfig()),
    );
    const registered = async (name: string): Promise<any> => {
      const c = await getCluster(name);
      return c?.capi !== null && c?.capi !== undefined ? c : undefined;
    };
    const [a, b] = await Promise.all([
      fleet.eventually('wl-a registered', () => registered(NAME_A), 10_000),
      fleet.eventually('wl-b registered', () => registered(NAME_B), 10_000),
    ]);
    expect(Date.now() - started).toBeLessThan(10_000);
    for (const c of [a, b]) {
      expect(c.source).toBe('capi');
      expect(c.labels.fleet).toBe('capi');
      expect(c.ownerTenant).toBe(fleet.tenant);
      expect(c.capi).toMatchObject({ namespace: CAPI_NS, phase: 'Provisioned', paused: false });
      expect(c.capi.uid).toMatch(/.+/);
      // gitfleet's own conditions next to Cluster API's.
      expect(c.conditions.map((x: any) => x.type)).toContain('Reachable');
      expect(c.capi.conditions.length).toBeGreaterThan(0);
    }
    expect(a.capi.name).toBe('wl-a');
    expect(b.capi.conditions.map((x: any) => x.type)).toContain('ControlPlaneInitialized');
    expect(JSON.stringify([a, b])).not.toContain(tokenA1);
  });

  it('deploys a release selecting the Cluster labels to both', async () => {
    await fleet.grant(NAME_A);
    await fleet.grant(NAME_B);
    const created = await fleet.api('POST', `/tenants/${fleet.tenant}/releases`, {
      name: 'web',
      source: 'config',
      path: 'apps/web',
      targetNamespace: 'apps',
      clusterSelector: { matchLabels: { fleet: 'capi' } },
      timeoutSeconds: 30,
      postBuild: {},
    });
    expect(created.status).toBe(201);
    const targets = await fleet.waitForTargets('web', (t) => t.ready === 'True', 2);
    expect(targets.map((t) => t.cluster).sort()).toEqual([NAME_A, NAME_B]);
    expect(liveConfigMap(wlA)?.data).toEqual({ cluster: NAME_A });
    expect(liveConfigMap(wlB)?.data).toEqual({ cluster: NAME_B });
    // Applied with the Secret's credentials.
    expect(wlA.requestLog.some((e) => e.user === 'capi-admin-a1' && e.verb === 'patch')).toBe(true);
  });

  it('uses a rotated kubeconfig Secret on the next request and never the old token again', async () => {
    const tokenA2 = wlA.createToken({ user: 'capi-admin-a2', groups: ['system:masters'] });
    mgmt.seed(kubeconfigSecret(CAPI_NS, 'wl-a', wlA.kubeconfig({ token: tokenA2 })));
    await fleet.eventually('credentials rotated', async () => {
      const c = await getCluster(NAME_A);
      return c?.credentialsVersion === 2 ? c : undefined;
    });
    const mark = wlA.requestLog.length;
    expect((await reconcile(NAME_A)).status).toBe(202);
    await fleet.eventually('a reconcile with the new token', () =>
      Promise.resolve(
        wlA.requestLog.slice(mark).some((e) => e.user === 'capi-admin-a2') ? true : undefined,
      ),
    );
    // The old token is revoked: any use of it would now be a 401.
    wlA.revokeToken(tokenA1);
    const afterRevoke = wlA.requestLog.length;
    expect((await reconcile(NAME_A)).status).toBe(202);
    await fleet.eventually('another reconcile and probes', () =>
      Promise.resolve(
        wlA.requestLog.slice(afterRevoke).filter((e) => e.user === 'capi-admin-a2').length >= 3
          ? true
          : undefined,
      ),
    );
    await new Promise((r) => setTimeout(r, 1500));
    const since = wlA.requestLog.slice(mark);
    expect(since.filter((e) => e.user === 'capi-admin-a1')).toEqual([]);
    expect(wlA.requestLog.slice(afterRevoke).filter((e) => e.code === 401)).toEqual([]);
  });

  it('holds the targets of a paused Cluster: no writes, status says why, resumes after', async () => {
    await patchCluster(mgmt, CAPI_NS, 'wl-b', { spec: { paused: true } });
    await fleet.eventually('pause seen', async () =>
      (await getCluster(NAME_B))?.capi?.paused === true ? true : undefined,
    );
    const mark = wlB.requestLog.length;
    const head = await repo.commit({
      'apps/web/configmap.json': configMap('web-config', {
        cluster: '${cluster_name}',
        rev: 'two',
      }),
    });
    await fleet.api('POST', `/tenants/${fleet.tenant}/sources/config/refresh`);
    const targets = await fleet.eventually('a updated, b held', async () => {
      const ts = await fleet.targets('web');
      const a = ts.find((t) => t.cluster === NAME_A);
      const b = ts.find((t) => t.cluster === NAME_B);
      return a?.appliedRevision === `main@sha1:${head}` &&
        b?.conditions?.some((c: any) => c.type === 'Ready' && c.reason === 'ClusterPaused')
        ? ts
        : undefined;
    });
    const held = targets.find((t) => t.cluster === NAME_B);
    expect(held.ready).toBe('False');
    expect(JSON.stringify(held.conditions)).toContain('paused');
    expect(writesTo(wlB, mark)).toEqual([]);
    expect(liveConfigMap(wlB)?.data?.rev).toBeUndefined();

    await patchCluster(mgmt, CAPI_NS, 'wl-b', { spec: { paused: false } });
    await fleet.eventually('b resumed', async () => {
      const b = (await fleet.targets('web')).find((t) => t.cluster === NAME_B);
      return b?.ready === 'True' && b.appliedRevision === `main@sha1:${head}` ? b : undefined;
    });
    expect(liveConfigMap(wlB)?.data?.rev).toBe('two');
  });

  it('ignores a planted Secret without the Cluster API type or label, saying why', async () => {
    const wlC = await fleet.prepareCluster('wl-c');
    mgmt.seed(
      capiCluster('v1beta2', PLATFORM_NS, 'wl-c', { labels: { fleet: 'other' } }),
      kubeconfigSecret(PLATFORM_NS, 'wl-c', wlC.kubeconfig(), { type: 'Opaque' }),
    );
    const status = await fleet.eventually('wl-c refused', async () => {
      const s = await capiStatus(PLATFORM_NS, 'wl-c');
      return s?.registration?.reason === 'KubeconfigSecretIgnored' ? s : undefined;
    });
    expect(status.cluster).toBeNull();
    expect(status.registration.message).toContain('type');
    expect(await getCluster(`${PLATFORM_NS}.wl-c`)).toBeUndefined();
    expect(fleet.app.output()).toContain('KubeconfigSecretIgnored');

    // Right type, label naming another Cluster: still not Cluster API's Secret.
    await deleteSecret(PLATFORM_NS, 'wl-c-kubeconfig');
    mgmt.seed(
      kubeconfigSecret(PLATFORM_NS, 'wl-c', wlC.kubeconfig(), {
        labels: { 'cluster.x-k8s.io/cluster-name': 'someone-else' },
      }),
    );
    await patchCluster(mgmt, PLATFORM_NS, 'wl-c', { metadata: { labels: { touched: 'yes' } } });
    await fleet.eventually('label mismatch reported', async () => {
      const s = await capiStatus(PLATFORM_NS, 'wl-c');
      return s?.registration?.message?.includes('label') === true ? s : undefined;
    });
    expect(wlC.requestLog).toEqual([]);

    // A genuine Secret: registered as a platform cluster (the namespace maps to no tenant).
    await deleteSecret(PLATFORM_NS, 'wl-c-kubeconfig');
    mgmt.seed(kubeconfigSecret(PLATFORM_NS, 'wl-c', wlC.kubeconfig()));
    const c = await fleet.eventually('wl-c registered', () => getCluster(`${PLATFORM_NS}.wl-c`));
    expect(c.ownerTenant).toBeNull();
  });

  it('refuses a kubeconfig Secret with an exec plugin, naming the field', async () => {
    mgmt.seed(
      capiCluster('v1beta1', PLATFORM_NS, 'wl-exec'),
      kubeconfigSecret(PLATFORM_NS, 'wl-exec', execKubeconfig(wlA.url)),
    );
    const status = await fleet.eventually('wl-exec refused', async () => {
      const s = await capiStatus(PLATFORM_NS, 'wl-exec');
      return s?.registration?.reason === 'KubeconfigRefused' ? s : undefined;
    });
    expect(status.registration.message).toContain('exec');
    expect(status.cluster).toBeNull();
    expect(fleet.app.output()).toMatch(/KubeconfigRefused/);
  });

  it('resumes a cut watch without missing changes, and relists after 410 Expired', async () => {
    // Streams are ended every 300 ms: changes between them are replayed from the last resourceVersion.
    await mgmt.faults.set({ closeWatchesAfterMs: 300 });
    for (let i = 1; i <= 5; i++) {
      await patchCluster(mgmt, CAPI_NS, 'wl-a', { metadata: { labels: { step: String(i) } } });
      await new Promise((r) => setTimeout(r, 120));
    }
    await fleet.eventually('last label change seen', async () =>
      (await getCluster(NAME_A))?.labels?.step === '5' ? true : undefined,
    );
    await mgmt.faults.set({ closeWatchesAfterMs: undefined });

    // Unreachable: changes made meanwhile arrive after it comes back.
    await mgmt.faults.set({ unreachable: true });
    const seedLabels = (labels: Record<string, string>): void => {
      const obj = mgmt.getObject('cluster.x-k8s.io/v1beta2', 'Cluster', 'wl-a', CAPI_NS)!;
      mgmt.seed({ ...obj, metadata: { ...obj.metadata, labels } });
    };
    seedLabels({ fleet: 'capi', flavour: 'old', step: '6' });
    await new Promise((r) => setTimeout(r, 1500));
    await mgmt.faults.set({ unreachable: false });
    await fleet.eventually(
      'change made while unreachable seen',
      async () => ((await getCluster(NAME_A))?.labels?.step === '6' ? true : undefined),
      40_000,
    );

    // History compacted while the watch is down: resuming gets 410 Expired, the watch relists.
    await mgmt.faults.set({ unreachable: true });
    for (let i = 0; i < 60; i++) {
      mgmt.seed({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `noise-${i}` } });
    }
    seedLabels({ fleet: 'capi', flavour: 'old', step: '7' });
    mgmt.compactHistory();
    await mgmt.faults.set({ unreachable: false });
    await fleet.eventually(
      'change made before the 410 seen',
      async () => ((await getCluster(NAME_A))?.labels?.step === '7' ? true : undefined),
      40_000,
    );
    expect(fleet.app.output()).toContain('relisting');
  });

  it('stops the targets of a deleting Cluster without pruning, and removes it once gone', async () => {
    const mark = wlB.requestLog.length;
    const del = await simRequest(mgmt, 'DELETE', clusterPath(CAPI_NS, 'wl-b'));
    expect([200, 202]).toContain(del.status);
    await fleet.eventually('deletion seen', async () =>
      (await getCluster(NAME_B))?.capi?.deleting === true ? true : undefined,
    );
    await reconcile(NAME_B);
    await fleet.eventually('target held as deleting', async () => {
      const b = (await fleet.targets('web')).find((t) => t.cluster === NAME_B);
      return b?.conditions?.some((c: any) => c.reason === 'ClusterDeleting') === true
        ? b
        : undefined;
    });

    // Cluster API's controller finishes: the finalizer goes and the object with it.
    await patchCluster(mgmt, CAPI_NS, 'wl-b', { metadata: { finalizers: null } });
    await fleet.eventually('registration removed', async () =>
      (await getCluster(NAME_B)) === undefined ? true : undefined,
    );
    const targets = await fleet.targets('web');
    expect(targets.map((t) => t.cluster)).toEqual([NAME_A]);
    expect(writesTo(wlB, mark)).toEqual([]);
    expect(liveConfigMap(wlB)).toBeDefined();
    expect(await capiStatus(CAPI_NS, 'wl-b')).toBeUndefined();
  });

  it('keeps one watcher: another replica takes over when the watcher dies', async () => {
    const second = await fleet.startReplica();
    // The first replica holds the lease and renews it; the second only waits.
    await new Promise((r) => setTimeout(r, 2000));
    expect(fleet.app.output()).toContain('Cluster API discovery lease acquired');
    expect(second.output()).not.toContain('Cluster API discovery lease acquired');

    await fleet.app.stop('SIGKILL');
    const wlD = await fleet.prepareCluster('wl-d');
    mgmt.seed(
      capiCluster('v1beta2', PLATFORM_NS, 'wl-d'),
      kubeconfigSecret(PLATFORM_NS, 'wl-d', wlD.kubeconfig()),
    );
    const c = await fleet.eventually(
      'wl-d registered by the second replica',
      async () => {
        const res = await fleet.api('GET', `/clusters/${PLATFORM_NS}.wl-d`, undefined, second);
        return res.status === 200 && res.body.capi !== null ? res.body : undefined;
      },
      20_000,
    );
    expect(c.source).toBe('capi');
    expect(second.output()).toContain('Cluster API discovery lease acquired');
  });
});
