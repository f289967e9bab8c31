import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetHarness } from 'test/support/fleet/fleet-harness';
import type { TestRepository } from 'test/support/git-server/git-repositories';
import { configMap, deployment } from './manifests';

const READY_AFTER_MS = 'kube-sim.gitfleet.dev/ready-after-ms';

describe('target status: Reconciling while it runs, Suspended when suspended, series gone with it', () => {
  const fleet = new FleetHarness({ clusters: [{ name: 'stat-a', labels: { env: 'stat' } }] });
  let repo: TestRepository;

  beforeAll(async () => {
    await fleet.start();
    repo = await fleet.repos.createRepository('status');
    await repo.commit({
      'slow/deploy.json': deployment('slow-app', { [READY_AFTER_MS]: '6000' }),
      'quick/cm.json': configMap('quick-config', { a: '1' }),
    });
    await fleet.createGitSource('status', repo);
  });

  afterAll(async () => {
    await fleet.stop();
  });

  const tenantPath = (p: string): string => `/tenants/${fleet.tenant}${p}`;
  const condition = (target: any, type: string): any =>
    (target?.conditions as any[] | undefined)?.find((c) => c.type === type);
  const target = async (release: string): Promise<any> =>
    (await fleet.api('GET', tenantPath(`/releases/${release}/targets/stat-a`))).body;

  async function createRelease(name: string, path: string): Promise<void> {
    const res = await fleet.api('POST', tenantPath('/releases'), {
      name,
      source: 'status',
      path,
      targetNamespace: 'apps',
      clusterSelector: { matchLabels: { env: 'stat' } },
      timeoutSeconds: 30,
    });
    expect(res.status, res.text).toBe(201);
  }

  it('shows Reconciling during a slow health wait, and drops it when the run ends', async () => {
    await createRelease('slow', 'slow');

    const during = await fleet.eventually('the target to show Reconciling', async () => {
      const t = await target('slow');
      return condition(t, 'Reconciling')?.status === 'True' ? t : undefined;
    });
    expect(condition(during, 'Reconciling')).toMatchObject({ reason: 'Progressing' });

    const after = await fleet.eventually(
      'the run to end Ready',
      async () => {
        const t = await target('slow');
        return t?.ready === 'True' ? t : undefined;
      },
      45_000,
    );
    expect(condition(after, 'Ready')).toMatchObject({ reason: 'ReconciliationSucceeded' });
    expect(condition(after, 'Reconciling')).toBeUndefined();
  });

  it('shows a suspended target as Suspended and refuses to reconcile it with 409', async () => {
    await createRelease('quick', 'quick');
    await fleet.waitForTargets('quick', (t) => t.ready === 'True', 1);

    const suspended = await fleet.api('POST', tenantPath('/releases/quick/targets/stat-a/suspend'));
    expect(suspended.status, suspended.text).toBe(201);
    const shown = await fleet.eventually('the target to show Suspended', async () => {
      const t = await target('quick');
      return condition(t, 'Ready')?.reason === 'Suspended' ? t : undefined;
    });
    expect(shown.ready).not.toBe('True');
    expect(condition(shown, 'Ready').status).not.toBe('True');

    const refused = await fleet.api('POST', tenantPath('/releases/quick/targets/stat-a/reconcile'));
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('TargetSuspended');

    await fleet.api('POST', tenantPath('/releases/quick/targets/stat-a/resume'));
    await fleet.api('POST', tenantPath('/releases/quick/suspend'));
    const release = await fleet.api('POST', tenantPath('/releases/quick/reconcile'));
    expect(release.status).toBe(409);
    expect(release.body.code).toBe('ReleaseSuspended');
    const target409 = await fleet.api(
      'POST',
      tenantPath('/releases/quick/targets/stat-a/reconcile'),
    );
    expect(target409.status).toBe(409);

    await fleet.api('POST', tenantPath('/releases/quick/resume'));
    const resumed = await fleet.api('POST', tenantPath('/releases/quick/reconcile'));
    expect(resumed.status).toBe(202);
    await fleet.waitForTargets(
      'quick',
      (t) => t.ready === 'True' && condition(t, 'Ready')?.reason === 'ReconciliationSucceeded',
      1,
    );
  });

  it("removes a deleted release's target series from /metrics", async () => {
    const series = async (): Promise<string[]> =>
      (await (await fetch(`${fleet.app.baseUrl}/metrics`)).text())
        .split('\n')
        .filter((l) => l.startsWith('gitfleet_target_condition{') && l.includes('release="quick"'));
    expect(await series()).not.toEqual([]);

    expect((await fleet.api('DELETE', tenantPath('/releases/quick'))).status).toBeLessThan(300);
    await fleet.eventually('the release to be gone', async () =>
      (await fleet.api('GET', tenantPath('/releases/quick'))).status === 404 ? true : undefined,
    );

    expect(await series()).toEqual([]);
  });
});
