import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'pg';
import { FleetHarness } from 'test/support/fleet/fleet-harness';
import type { TestRepository } from 'test/support/git-server/git-repositories';
import { configMap, deployment } from './manifests';

const READY_AFTER = 'kube-sim.gitfleet.dev/ready-after-ms';

describe('isolation and replicas: one broken cluster breaks only itself; two replicas never collide', () => {
  const fleet = new FleetHarness({
    clusters: [
      { name: 'iso-1', labels: { tier: 'iso' } },
      { name: 'iso-2', labels: { tier: 'iso' } },
      { name: 'iso-3', labels: { tier: 'iso' } },
    ],
    // Few slots per replica, so that two replicas really share the work.
    appEnv: { RECONCILE_CONCURRENCY: '3' },
  });
  let repo: TestRepository;
  const tenantPath = (p: string): string => `/tenants/${fleet.tenant}${p}`;

  beforeAll(async () => {
    await fleet.start();
    repo = await fleet.repos.createRepository('iso');
    const files: Record<string, string> = {};
    for (let r = 0; r < 10; r++) {
      files[`r${r}/cm.json`] = configMap(`r${r}-config`, { release: String(r) });
      if (r > 0) {
        // Slow to become ready, so one replica alone cannot drain the queue at once.
        files[`r${r}/deploy.json`] = deployment(`r${r}-app`, { [READY_AFTER]: '800' });
      }
    }
    await repo.commit(files);
    await fleet.createGitSource('iso', repo);
  });

  afterAll(async () => {
    await fleet.stop();
  });

  it('converges the reachable clusters while one is unreachable, and recovers it without a restart', async () => {
    await fleet.cluster('iso-3').faults.set({ unreachable: true });
    const created = await fleet.api('POST', tenantPath('/releases'), {
      name: 'iso',
      source: 'iso',
      path: 'r0',
      targetNamespace: 'apps',
      clusterSelector: { matchLabels: { tier: 'iso' } },
      retryIntervalSeconds: 5,
    });
    expect(created.status, created.text).toBe(201);
    const started = Date.now();
    await fleet.eventually('reachable targets Ready, unreachable one failed', async () => {
      const targets = await fleet.targets('iso');
      const byCluster = new Map(targets.map((t) => [t.cluster, t]));
      const ok =
        byCluster.get('iso-1')?.ready === 'True' &&
        byCluster.get('iso-2')?.ready === 'True' &&
        byCluster.get('iso-3')?.ready === 'False';
      return ok ? targets : undefined;
    });
    expect(Date.now() - started).toBeLessThan(20_000);
    const broken = await fleet.api('GET', tenantPath('/releases/iso/targets/iso-3'));
    expect(broken.body.conditions.find((c: any) => c.type === 'Ready').reason).toBe(
      'ClusterUnreachable',
    );

    await fleet.cluster('iso-3').faults.set({ unreachable: false });
    await fleet.waitForTargets('iso', (t) => t.ready === 'True', 3, 60_000);
    expect(
      fleet
        .cluster('iso-3')
        .listObjects('v1', 'ConfigMap', 'apps')
        .map((o) => o.metadata.name),
    ).toContain('r0-config');
  });

  it('shares 30 targets between two replicas without reconciling one target twice at once, and survives losing one', async () => {
    const second = await fleet.startReplica();
    for (let r = 1; r < 10; r++) {
      const res = await fleet.api('POST', tenantPath('/releases'), {
        name: `multi-${r}`,
        source: 'iso',
        path: `r${r}`,
        targetNamespace: 'apps',
        clusterSelector: { matchLabels: { tier: 'iso' } },
        intervalSeconds: 10,
        retryIntervalSeconds: 5,
      });
      expect(res.status, res.text).toBe(201);
    }
    // Let the second replica finish some work, then kill it while it runs more.
    await fleet.eventually(
      'the second replica to reconcile a target',
      () =>
        Promise.resolve(second.output().includes('"msg":"target reconciled"') ? true : undefined),
      60_000,
    );
    await second.stop('SIGKILL');

    for (let r = 1; r < 10; r++) {
      await fleet.waitForTargets(`multi-${r}`, (t) => t.ready === 'True', 3, 60_000);
    }
    // 27 new targets + the first release's 3 = 30.
    const all = await fleet.api('GET', tenantPath('/targets?limit=100'));
    expect(all.body.items).toHaveLength(30);

    // No two runs of one target overlap in time, across both replicas.
    const db = new Client({ connectionString: fleet.databaseUrl });
    await db.connect();
    try {
      const runs = await db.query<{ target_id: string; started_at: Date; duration_ms: number }>(
        'SELECT target_id, started_at, duration_ms FROM target_run ORDER BY target_id, started_at',
      );
      let overlaps = 0;
      for (let i = 1; i < runs.rows.length; i++) {
        const prev = runs.rows[i - 1];
        const cur = runs.rows[i];
        if (
          prev.target_id === cur.target_id &&
          prev.started_at.getTime() + prev.duration_ms > cur.started_at.getTime()
        ) {
          overlaps++;
        }
      }
      expect(runs.rows.length).toBeGreaterThanOrEqual(30);
      expect(overlaps).toBe(0);
    } finally {
      await db.end();
    }
    // Both replicas really worked: each one's reconciles reached the clusters.
    const agents = new Set(
      ['iso-1', 'iso-2', 'iso-3'].flatMap((c) =>
        fleet
          .cluster(c)
          .requestLog.filter((e) => e.verb === 'patch')
          .map((e) => e.userAgent),
      ),
    );
    expect(agents.size).toBe(2);
  });
});
