import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetHarness } from 'test/support/fleet/fleet-harness';
import type { TestRepository } from 'test/support/git-server/git-repositories';
import { configMap, deployment, service } from './manifests';

const OWNER_LABELS = (tenant: string, release: string) => ({
  'gitfleet.dev/tenant': tenant,
  'gitfleet.dev/release': release,
});

describe('a release across three clusters: apply, update, prune, drift, re-selection', () => {
  const fleet = new FleetHarness({
    clusters: [
      { name: 'prod-eu', labels: { env: 'prod', region: 'eu' } },
      { name: 'prod-us', labels: { env: 'prod', region: 'us' } },
      { name: 'prod-ap', labels: { env: 'prod', region: 'ap' } },
    ],
  });
  let repo: TestRepository;
  const clusters = ['prod-eu', 'prod-us', 'prod-ap'];

  beforeAll(async () => {
    await fleet.start();
    repo = await fleet.repos.createRepository('fleet-config');
    await repo.commit({
      'apps/web/configmap.json': configMap('web-config', {
        color: 'blue',
        cluster: '${cluster_name}',
      }),
      'apps/web/service.yaml': service('web'),
      'apps/web/deployment.json': deployment('web'),
    });
    await fleet.createGitSource('config', repo);
  });

  afterAll(async () => {
    await fleet.stop();
  });

  const live = (cluster: string, kind: string, apiVersion: string, name: string) =>
    fleet
      .cluster(cluster)
      .listObjects(apiVersion, kind, 'apps')
      .find((o) => o.metadata.name === name);

  const sourceRevision = async (): Promise<string> =>
    fleet.eventually('source revision', async () => {
      const res = await fleet.api('GET', `/tenants/${fleet.tenant}/sources/config`);
      return (res.body?.status?.revision as string | null) ?? undefined;
    });

  it('applies to every selected cluster with ownership labels and per-cluster variables', async () => {
    const created = await fleet.api('POST', `/tenants/${fleet.tenant}/releases`, {
      name: 'web',
      source: 'config',
      path: 'apps/web',
      targetNamespace: 'apps',
      clusterSelector: { matchLabels: { env: 'prod' } },
      timeoutSeconds: 30,
      postBuild: {},
    });
    expect(created.status).toBe(201);
    expect(created.body.targets.total).toBe(3);

    const revision = await sourceRevision();
    const targets = await fleet.waitForTargets('web', (t) => t.ready === 'True', 3);
    expect(targets.map((t) => t.cluster).sort()).toEqual([...clusters].sort());
    for (const t of targets) {
      expect(t.appliedRevision).toBe(revision);
      expect(t.counts.applied).toBe(3);
    }
    for (const c of clusters) {
      const cm = live(c, 'ConfigMap', 'v1', 'web-config');
      expect(cm?.metadata.labels).toMatchObject(OWNER_LABELS(fleet.tenant, 'web'));
      expect(cm?.data).toEqual({ color: 'blue', cluster: c });
      expect(live(c, 'Service', 'v1', 'web')).toBeDefined();
      expect(live(c, 'Deployment', 'apps/v1', 'web')?.metadata.labels).toMatchObject(
        OWNER_LABELS(fleet.tenant, 'web'),
      );
    }
    // Applied as the tenant's service account, not as gitfleet itself.
    const writes = fleet
      .cluster('prod-eu')
      .requestLog.filter((e) => e.verb === 'patch' && e.resource === 'configmaps');
    expect(writes.length).toBeGreaterThan(0);
    for (const w of writes) {
      expect(w.impersonatedUser).toBe(`system:serviceaccount:apps:${fleet.serviceAccountName}`);
    }
    const release = await fleet.api('GET', `/tenants/${fleet.tenant}/releases/web`);
    expect(release.body.targets).toEqual({ total: 3, ready: 3 });
    const events = await fleet.api('GET', `/tenants/${fleet.tenant}/events?objectKind=Target`);
    const succeeded = (events.body.items as any[]).filter(
      (e) => e.reason === 'ReconciliationSucceeded',
    );
    expect(succeeded.map((e) => e.objectName).sort()).toEqual(
      clusters.map((c) => `web/${c}`).sort(),
    );
  });

  it('rolls a pushed commit out everywhere and prunes a removed file', async () => {
    const head = await repo.commit({
      'apps/web/configmap.json': configMap('web-config', {
        color: 'green',
        cluster: '${cluster_name}',
      }),
      'apps/web/service.yaml': null,
    });
    expect(
      (await fleet.api('POST', `/tenants/${fleet.tenant}/sources/config/refresh`)).status,
    ).toBe(202);
    const targets = await fleet.waitForTargets(
      'web',
      (t) => t.ready === 'True' && t.appliedRevision === `main@sha1:${head}`,
      3,
    );
    expect(targets.every((t) => t.counts.pruned === 1)).toBe(true);
    for (const c of clusters) {
      expect(
        (live(c, 'ConfigMap', 'v1', 'web-config')?.data as Record<string, string> | undefined)
          ?.color,
      ).toBe('green');
      expect(live(c, 'Service', 'v1', 'web')).toBeUndefined();
      expect(live(c, 'Deployment', 'apps/v1', 'web')).toBeDefined();
    }
    const inventory = await fleet.api(
      'GET',
      `/tenants/${fleet.tenant}/releases/web/targets/prod-eu/inventory`,
    );
    expect(inventory.body.entries.map((e: { kind: string }) => e.kind).sort()).toEqual([
      'ConfigMap',
      'Deployment',
    ]);
  });

  it('corrects drift made by another field manager and reports it', async () => {
    const cluster = fleet.cluster('prod-us');
    const cm = live('prod-us', 'ConfigMap', 'v1', 'web-config')!;
    cluster.seed({ ...cm, data: { ...(cm.data as Record<string, string>), color: 'red' } });
    expect(
      (live('prod-us', 'ConfigMap', 'v1', 'web-config')?.data as Record<string, string> | undefined)
        ?.color,
    ).toBe('red');

    expect(
      (await fleet.api('POST', `/tenants/${fleet.tenant}/releases/web/targets/prod-us/reconcile`))
        .status,
    ).toBe(202);
    const run = await fleet.eventually('a drift report', async () => {
      const history = await fleet.api(
        'GET',
        `/tenants/${fleet.tenant}/releases/web/targets/prod-us/history`,
      );
      return (history.body.items as any[]).find((r) => r.drift.length > 0);
    });
    expect(run.drift[0].object).toContain('web-config');
    expect(run.drift[0].fields).toContain('.data.color');
    expect(JSON.stringify(run)).not.toContain('red');
    const events = await fleet.api('GET', `/tenants/${fleet.tenant}/events?reason=DriftCorrected`);
    expect(events.status).toBe(200);
    expect(events.body.items).toHaveLength(1);
    expect(events.body.items[0]).toMatchObject({ objectKind: 'Target', objectName: 'web/prod-us' });
    expect(events.body.items[0].metadata.objects[0].fields).toContain('.data.color');
    expect(events.text).not.toContain('red');
    expect(
      (live('prod-us', 'ConfigMap', 'v1', 'web-config')?.data as Record<string, string> | undefined)
        ?.color,
    ).toBe('green');
  });

  it('shows what a reconcile would change without changing it', async () => {
    const cluster = fleet.cluster('prod-eu');
    const cm = live('prod-eu', 'ConfigMap', 'v1', 'web-config')!;
    cluster.seed({
      ...cm,
      data: { ...(cm.data as Record<string, string>), color: 'purple-secret' },
    });
    const res = await fleet.api(
      'GET',
      `/tenants/${fleet.tenant}/releases/web/diff?cluster=prod-eu`,
    );
    expect(res.status, res.text).toBe(200);
    const [plan] = res.body.items as any[];
    expect(plan.cluster).toBe('prod-eu');
    const change = (plan.changes as any[]).find((c) => c.object.includes('web-config'));
    expect(change).toEqual({
      object: expect.stringContaining('web-config'),
      action: 'update',
      fields: ['.data.color'],
    });
    expect((plan.changes as any[]).find((c) => c.object.includes('Deployment'))?.action).toBe(
      'unchanged',
    );
    expect(res.text).not.toContain('purple-secret');
    // Without a cluster: every target, whole (a partial one fails to plan), in cluster order.
    const all = await fleet.api('GET', `/tenants/${fleet.tenant}/releases/web/diff`);
    expect(all.status, all.text).toBe(200);
    const plans = all.body.items as any[];
    expect(plans.map((p) => p.cluster)).toEqual(['prod-ap', 'prod-eu', 'prod-us']);
    for (const p of plans) {
      expect(p.error).toBeUndefined();
      expect(p.revision).toBe(plan.revision);
      expect((p.changes as any[]).find((c) => c.object.includes('web-config'))?.action).toBe(
        p.cluster === 'prod-eu' ? 'update' : 'unchanged',
      );
    }
    expect(all.text).not.toContain('purple-secret');
    // Nothing was changed by looking.
    expect(
      (live('prod-eu', 'ConfigMap', 'v1', 'web-config')?.data as Record<string, string>).color,
    ).toBe('purple-secret');
    await fleet.api('POST', `/tenants/${fleet.tenant}/releases/web/targets/prod-eu/reconcile`);
    await fleet.eventually('drift on prod-eu corrected', () =>
      Promise.resolve(
        (live('prod-eu', 'ConfigMap', 'v1', 'web-config')?.data as Record<string, string>).color ===
          'green'
          ? true
          : undefined,
      ),
    );
  });

  it('makes no writes when nothing changed', async () => {
    const cluster = fleet.cluster('prod-ap');
    const before = cluster.requestLog.length;
    await fleet.api('POST', `/tenants/${fleet.tenant}/releases/web/targets/prod-ap/reconcile`);
    await fleet.eventually('a second quiet reconcile', async () => {
      const history = await fleet.api(
        'GET',
        `/tenants/${fleet.tenant}/releases/web/targets/prod-ap/history`,
      );
      const [latest] = history.body.items as any[];
      return latest?.counts?.unchanged === 2 && latest.counts.applied === 0 ? latest : undefined;
    });
    const writes = cluster.requestLog
      .slice(before)
      .filter(
        (e) =>
          ['create', 'update', 'patch', 'delete'].includes(e.verb) && !e.query.includes('dryRun'),
      );
    expect(writes.map((w) => `${w.verb} ${w.resource} ${w.name} ${w.query}`)).toEqual([]);
  });

  it('exposes reconcile metrics with bounded labels', async () => {
    const text = await (await fetch(`${fleet.app.baseUrl}/metrics`)).text();
    expect(text).toMatch(/gitfleet_kube_api_requests_total\{cluster="prod-eu",verb="patch"\} \d+/);
    expect(text).toMatch(
      new RegExp(`gitfleet_reconcile_total\\{tenant="${fleet.tenant}",result="Succeeded"\\} \\d+`),
    );
    expect(text).toMatch(
      new RegExp(
        `gitfleet_target_condition\\{tenant="${fleet.tenant}",cluster="prod-us",release="web",status="True"\\} 1`,
      ),
    );
    expect(text).toContain('gitfleet_reconcile_duration_seconds_bucket');
    expect(text).toContain('gitfleet_reconcile_queue_depth');
  });

  it('prunes only on the cluster that stops matching', async () => {
    expect(
      (await fleet.api('PATCH', '/clusters/prod-ap', { labels: { env: 'retired' } })).status,
    ).toBe(200);
    await fleet.eventually('the target on prod-ap to go', async () => {
      const targets = await fleet.targets('web');
      return targets.length === 2 ? targets : undefined;
    });
    await fleet.eventually('objects pruned on prod-ap', () =>
      Promise.resolve(
        live('prod-ap', 'ConfigMap', 'v1', 'web-config') === undefined ? true : undefined,
      ),
    );
    expect(live('prod-ap', 'Deployment', 'apps/v1', 'web')).toBeUndefined();
    expect(live('prod-eu', 'ConfigMap', 'v1', 'web-config')).toBeDefined();
    expect(live('prod-us', 'Deployment', 'apps/v1', 'web')).toBeDefined();
  });
});
