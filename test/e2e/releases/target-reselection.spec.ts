import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetHarness } from 'test/support/fleet/fleet-harness';
import { configMap } from './manifests';

/** Within this, a change re-selects through its domain event, not the (hour-long) periodic resync. */
const WITHIN_MS = 2_000;

describe('targets re-selected at once when a cluster, grant or release changes', () => {
  const fleet = new FleetHarness({
    clusters: [
      { name: 'sel-a', labels: { env: 'prod' } },
      { name: 'sel-b', labels: { env: 'staging' } },
    ],
    appEnv: { RECONCILE_RESYNC_SECONDS: '3600' },
  });
  const releaseSpec = (matchLabels: Record<string, string>) => ({
    source: 'config',
    path: 'apps/web',
    targetNamespace: 'apps',
    clusterSelector: { matchLabels },
    timeoutSeconds: 30,
  });
  /** Cluster names of the release's targets that are not being removed. */
  const selected = async (): Promise<string[]> =>
    (await fleet.targets('web'))
      .filter((t) => t.removing !== true)
      .map((t) => t.cluster as string)
      .sort();
  const selectedWithin = async (expected: string[]): Promise<void> => {
    const started = Date.now();
    await fleet.eventually(
      `targets on ${expected.join(', ') || 'no cluster'}`,
      async () => {
        const now = await selected();
        return JSON.stringify(now) === JSON.stringify(expected) ? now : undefined;
      },
      WITHIN_MS,
    );
    expect(Date.now() - started).toBeLessThan(WITHIN_MS);
  };

  beforeAll(async () => {
    await fleet.start();
    const repo = await fleet.repos.createRepository('reselection-config');
    await repo.commit({ 'apps/web/configmap.json': configMap('web-config', { a: '1' }) });
    await fleet.createGitSource('config', repo);
    const created = await fleet.api('POST', `/tenants/${fleet.tenant}/releases`, {
      name: 'web',
      ...releaseSpec({ tier: 'web' }),
    });
    expect(created.status).toBe(201);
  });

  afterAll(async () => {
    await fleet.stop();
  });

  it('re-selects when a release changes', async () => {
    expect(await selected()).toEqual([]);
    const updated = await fleet.api(
      'PUT',
      `/tenants/${fleet.tenant}/releases/web`,
      releaseSpec({ env: 'prod' }),
    );
    expect(updated.status).toBe(200);
    await selectedWithin(['sel-a']);
  });

  it('re-selects when a cluster’s labels are patched', async () => {
    const patched = await fleet.api('PATCH', '/clusters/sel-b', { labels: { env: 'prod' } });
    expect(patched.status).toBe(200);
    await selectedWithin(['sel-a', 'sel-b']);

    const unpatched = await fleet.api('PATCH', '/clusters/sel-a', { labels: { env: null } });
    expect(unpatched.status).toBe(200);
    await selectedWithin(['sel-b']);
  });

  it('re-selects when a grant is created, and when it is deleted', async () => {
    const cluster = await fleet.prepareCluster('sel-c');
    const registered = await fleet.api('POST', '/clusters', {
      name: 'sel-c',
      kubeconfig: cluster.kubeconfig(),
      labels: { env: 'prod' },
    });
    expect(registered.status).toBe(201);
    // Selected by its labels, but not granted to the tenant yet.
    expect(await selected()).toEqual(['sel-b']);

    await fleet.grant('sel-c');
    await selectedWithin(['sel-b', 'sel-c']);

    const revoked = await fleet.api('DELETE', `/clusters/sel-c/grants/${fleet.tenant}`);
    expect(revoked.status).toBe(204);
    await selectedWithin(['sel-b']);
  });

  it('drops a deleted cluster’s connection and its request series', async () => {
    await fleet.waitForTargets('web', (t) => t.lastResult !== null, 1);
    const kubeSeries = async (): Promise<boolean> =>
      /gitfleet_kube_api_requests_total\{cluster="sel-b",/.test(
        await (await fetch(`${fleet.app.baseUrl}/metrics`)).text(),
      );
    expect(await kubeSeries()).toBe(true);
    expect((await fleet.api('DELETE', '/clusters/sel-b')).status).toBe(204);
    await fleet.eventually(
      'no request series of sel-b',
      async () => ((await kubeSeries()) ? undefined : true),
      WITHIN_MS,
    );
    expect(await selected()).toEqual([]);
  });
});
