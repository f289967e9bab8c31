import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetHarness } from 'test/support/fleet/fleet-harness';
import { HelmRepoServer } from 'test/support/helm-repo/helm-repo-server';

const AUTH = { username: 'charts', password: 'ca-e2e-canary-Pw-7a1f' };

describe('a helm source behind a private CA', () => {
  // No SOURCE_ALLOW_HTTP: https with the source's CA is the only way in.
  const fleet = new FleetHarness({ clusters: [{ name: 'tls-a', labels: { fleet: 'tls' } }] });
  let repo: HelmRepoServer;
  const tenantPath = (path: string): string => `/tenants/${fleet.tenant}${path}`;

  beforeAll(async () => {
    repo = await HelmRepoServer.start({ auth: AUTH, tls: true });
    await repo.addChart('web', '1.0.0');
    await repo.reindex();
    await fleet.start();
  });

  afterAll(async () => {
    await fleet.stop();
    await repo?.close();
  });

  const ready = async (): Promise<any> => {
    const res = await fleet.api('GET', tenantPath('/sources/charts'));
    expect(res.status, res.text).toBe(200);
    return (res.body.status.conditions as any[]).find((c) => c.type === 'Ready');
  };

  it('without the CA: Ready False with an x509 unknown-authority message, nothing requested', async () => {
    const res = await fleet.api('POST', tenantPath('/sources'), {
      name: 'charts',
      kind: 'helm',
      url: repo.url(),
      intervalSeconds: 600,
      timeoutSeconds: 30,
      credentials: { kind: 'basic', ...AUTH },
    });
    expect(res.status, res.text).toBe(201);
    const failed = await fleet.eventually('the source to fail', async () => {
      const condition = await ready();
      return condition?.status === 'False' ? condition : undefined;
    });
    expect(failed.reason).toBe('CertificateVerificationFailed');
    expect(failed.message).toContain('x509: certificate signed by unknown authority');
    expect(failed.message).toContain(`${repo.url()}index.yaml`);
    const body = JSON.stringify((await fleet.api('GET', tenantPath('/sources/charts'))).body);
    expect(body).not.toContain(AUTH.password);
    expect(repo.requests).toHaveLength(0);
  });

  it('with the CA: the index is fetched and a release deploys the chart downloaded over it', async () => {
    const patched = await fleet.api('PATCH', tenantPath('/sources/charts'), {
      caCertificate: repo.caCertificate,
    });
    expect(patched.status, patched.text).toBe(200);
    await fleet.eventually('the source to be Ready', async () =>
      (await ready())?.status === 'True' ? true : undefined,
    );
    expect(repo.count('/index.yaml', 200)).toBe(1);

    const res = await fleet.api('POST', tenantPath('/releases'), {
      name: 'web',
      source: 'charts',
      kind: 'helm',
      helm: { chart: 'web', values: { message: 'over-tls' } },
      targetNamespace: 'apps',
      clusterNames: ['tls-a'],
    });
    expect(res.status, res.text).toBe(201);
    await fleet.waitForTargets('web', (t) => t.ready === 'True', 1);
    expect(repo.count('/web-1.0.0.tgz', 200)).toBe(1);
    const configMap = fleet
      .cluster('tls-a')
      .listObjects('v1', 'ConfigMap', 'apps')
      .find((o) => o.metadata.name === 'web');
    expect(configMap?.data).toEqual({ chart: '1.0.0', message: 'over-tls' });
  });
});
