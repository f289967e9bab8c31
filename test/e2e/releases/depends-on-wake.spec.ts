import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetHarness } from 'test/support/fleet/fleet-harness';
import type { TestRepository } from 'test/support/git-server/git-repositories';
import { configMap, deployment } from './manifests';

const NEVER_READY = 'kube-sim.gitfleet.dev/never-ready';
const HOUR_MS = 3_600_000;
/** The dependent's next retry is an hour away: within this only the wake explains it. */
const WITHIN_MS = 6_000;

describe('dependsOn re-evaluated the moment a dependency turns Ready', () => {
  const fleet = new FleetHarness({
    clusters: [{ name: 'dep-a', labels: { env: 'dep' } }],
    appEnv: { RECONCILE_RESYNC_SECONDS: '3600' },
  });
  /** The dependency's own source: its new revision must not wake the others by itself. */
  let dbRepo: TestRepository;
  const tenantPath = (p: string): string => `/tenants/${fleet.tenant}${p}`;

  const createRelease = async (name: string, extra: Record<string, unknown>): Promise<void> => {
    const res = await fleet.api('POST', tenantPath('/releases'), {
      name,
      source: 'dep',
      targetNamespace: 'apps',
      clusterSelector: { matchLabels: { env: 'dep' } },
      timeoutSeconds: 5,
      retryIntervalSeconds: 600,
      intervalSeconds: 3600,
      ...extra,
    });
    expect(res.status, res.text).toBe(201);
  };
  const target = async (release: string): Promise<any> =>
    (await fleet.api('GET', tenantPath(`/releases/${release}/targets/dep-a`))).body;
  const waiting = (release: string) =>
    fleet.eventually(`${release} waiting for its dependency`, async () => {
      const t = await target(release);
      return t?.lastResult === 'Skipped' &&
        (t.conditions as any[]).some((c) => c.reason === 'DependencyNotReady')
        ? t
        : undefined;
    });
  /** Moves a target's next run an hour out, as a long backoff would, once no run holds it. */
  const postpone = async (release: string): Promise<void> => {
    const db = new Client({ connectionString: fleet.databaseUrl });
    await db.connect();
    try {
      await fleet.eventually(`${release} postponed`, async () => {
        const res = await db.query(
          `UPDATE target SET next_run_at = now() + interval '1 hour'
           WHERE release_id = (SELECT id FROM release WHERE name = $1) AND lease_owner IS NULL`,
          [release],
        );
        return res.rowCount === 1 ? true : undefined;
      });
    } finally {
      await db.end();
    }
    const t = await target(release);
    expect(Date.parse(t.nextRunAt), JSON.stringify(t)).toBeGreaterThan(Date.now() + HOUR_MS / 2);
  };

  beforeAll(async () => {
    await fleet.start();
    dbRepo = await fleet.repos.createRepository('dep-db');
    await dbRepo.commit({ 'db/deploy.json': deployment('db', { [NEVER_READY]: 'true' }) });
    await fleet.createGitSource('db', dbRepo);
    const repo = await fleet.repos.createRepository('dep');
    await repo.commit({
      'app/cm.json': configMap('app-config', { a: '1' }),
      'other/cm.json': configMap('other-config', { b: '1' }),
    });
    await fleet.createGitSource('dep', repo);
    // Fetched before any release exists: a first revision would make every target due.
    for (const source of ['db', 'dep']) {
      await fleet.eventually(`source ${source} fetched`, async () => {
        const res = await fleet.api('GET', tenantPath(`/sources/${source}`));
        return typeof res.body?.status?.revision === 'string' ? true : undefined;
      });
    }
  });

  afterAll(async () => {
    await fleet.stop();
  });

  it('runs a waiting dependent as soon as its dependency is Ready, not at its retry, and no other', async () => {
    await createRelease('db', { source: 'db', path: 'db', wait: true });
    await createRelease('app', { path: 'app', dependsOn: ['db'] });
    await createRelease('other', { path: 'other', dependsOn: ['not-yet'] });
    await waiting('app');
    await waiting('other');
    await fleet.waitForTargets('db', (t) => t.ready === 'False', 1);
    await postpone('app');
    await postpone('other');
    expect(
      fleet.cluster('dep-a').getObject('v1', 'ConfigMap', 'app-config', 'apps'),
    ).toBeUndefined();

    // The dependency turns Ready (a new revision without the annotation that kept it unready).
    await dbRepo.commit({ 'db/deploy.json': deployment('db') });
    expect((await fleet.api('POST', tenantPath('/sources/db/refresh'))).status).toBeLessThan(300);
    await fleet.waitForTargets('db', (t) => t.ready === 'True', 1);
    const started = Date.now();
    await fleet.waitForTargets('app', (t) => t.ready === 'True', 1, WITHIN_MS);
    expect(Date.now() - started).toBeLessThan(WITHIN_MS);
    expect(fleet.cluster('dep-a').getObject('v1', 'ConfigMap', 'app-config', 'apps')).toBeDefined();

    // A release waiting for something else keeps its schedule.
    const other = await target('other');
    expect(other.ready).not.toBe('True');
    expect(Date.parse(other.nextRunAt), JSON.stringify(other)).toBeGreaterThan(
      Date.now() + HOUR_MS / 2,
    );
  });
});
