import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetHarness } from 'test/support/fleet/fleet-harness';
import { HelmRepoServer } from 'test/support/helm-repo/helm-repo-server';

const sha256 = async (file: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

describe('helm releases from a Helm repository source', () => {
  const fleet = new FleetHarness({
    clusters: [{ name: 'charts-a', labels: { fleet: 'charts' } }],
    appEnv: { SOURCE_ALLOW_HTTP: 'true' },
  });
  let repo: HelmRepoServer;
  const tenantPath = (path: string): string => `/tenants/${fleet.tenant}${path}`;

  beforeAll(async () => {
    repo = await HelmRepoServer.start();
    await repo.addChart('web', '1.0.0');
    await repo.addChart('web', '1.2.0');
    await repo.addChart('shop', '2.0.0', {
      files: {
        'values-prod.yaml': 'message: from-values-prod\n',
        'templates/configmap.yaml': [
          'apiVersion: v1',
          'kind: ConfigMap',
          'metadata:',
          '  name: {{ .Release.Name }}',
          'data:',
          '  message: {{ .Values.message | quote }}',
          '  tier: {{ .Values.tier | default "none" | quote }}',
          '',
        ].join('\n'),
      },
    });
    await repo.reindex();
    await fleet.start();
  });

  afterAll(async () => {
    await fleet.stop();
    await repo?.close();
  });

  const configMap = (name: string): Record<string, string> | undefined =>
    fleet
      .cluster('charts-a')
      .listObjects('v1', 'ConfigMap', 'apps')
      .find((o) => o.metadata.name === name)?.data as Record<string, string> | undefined;

  async function source(): Promise<any> {
    const res = await fleet.api('GET', tenantPath('/sources/charts'));
    expect(res.status, res.text).toBe(200);
    return res.body;
  }

  async function target(): Promise<any> {
    const res = await fleet.api('GET', tenantPath('/releases/web/targets/charts-a'));
    expect(res.status, res.text).toBe(200);
    return res.body;
  }

  it('fetches the repository index: the source is Ready with the index digest as revision', async () => {
    const res = await fleet.api('POST', tenantPath('/sources'), {
      name: 'charts',
      kind: 'helm',
      url: repo.url(),
      intervalSeconds: 600,
      timeoutSeconds: 30,
    });
    expect(res.status, res.text).toBe(201);
    const ready = await fleet.eventually('the helm source to be Ready', async () => {
      const body = await source();
      const condition = (body.status.conditions as any[]).find((c) => c.type === 'Ready');
      return condition?.status === 'True' ? body : undefined;
    });
    expect(ready.status.revision).toBe(`sha256:${await sha256(join(repo.dir, 'index.yaml'))}`);
    expect(repo.count('/index.yaml', 200)).toBe(1);
  });

  it('deploys the highest chart version matching the range, with the chart revision', async () => {
    const res = await fleet.api('POST', tenantPath('/releases'), {
      name: 'web',
      source: 'charts',
      kind: 'helm',
      helm: { chart: 'web', version: '^1.0.0', values: { message: 'from-gitfleet' } },
      targetNamespace: 'apps',
      clusterNames: ['charts-a'],
    });
    expect(res.status, res.text).toBe(201);
    await fleet.waitForTargets('web', (t) => t.ready === 'True', 1);
    expect(configMap('web')).toEqual({ chart: '1.2.0', message: 'from-gitfleet' });
    const t = await target();
    expect(t.appliedRevision).toBe(`1.2.0@sha256:${await sha256(join(repo.dir, 'web-1.2.0.tgz'))}`);
    expect(repo.count('/web-1.2.0.tgz', 200)).toBe(1);
    expect(repo.count('/web-1.0.0.tgz')).toBe(0);
  });

  it('sends a conditional request when refreshed: 304, still Ready, nothing downloaded again', async () => {
    const before = (await source()).status;
    const downloads = repo.count('/index.yaml', 200);
    const notModified = repo.count('/index.yaml', 304);
    const refreshed = await fleet.api('POST', tenantPath('/sources/charts/refresh'));
    expect(refreshed.status, refreshed.text).toBeLessThan(300);
    await fleet.eventually('a 304 for index.yaml', () =>
      Promise.resolve(repo.count('/index.yaml', 304) > notModified ? true : undefined),
    );
    const after = await fleet.eventually('the refresh to be recorded', async () => {
      const body = await source();
      return body.status.lastFetchAt !== before.lastFetchAt ? body.status : undefined;
    });
    expect(after.revision).toBe(before.revision);
    expect((after.conditions as any[]).find((c) => c.type === 'Ready')?.status).toBe('True');

    const reconciledAt = (await target()).lastReconciledAt as string;
    await fleet.api('POST', tenantPath('/releases/web/reconcile'));
    const again = await fleet.eventually('another reconcile of the target', async () => {
      const t = await target();
      return t.lastReconciledAt !== reconciledAt && t.ready === 'True' ? t : undefined;
    });
    expect(again.appliedRevision).toMatch(/^1\.2\.0@sha256:/);
    expect(repo.count('/index.yaml', 200)).toBe(downloads);
    expect(repo.count('/web-1.2.0.tgz')).toBe(1);
  });

  it('rolls out a new chart version once the index is refreshed', async () => {
    await repo.addChart('web', '1.3.0');
    await repo.reindex();
    await fleet.api('POST', tenantPath('/sources/charts/refresh'));
    await fleet.eventually('the target to apply 1.3.0', async () => {
      const t = await target();
      return t.ready === 'True' && String(t.appliedRevision).startsWith('1.3.0@') ? t : undefined;
    });
    expect(configMap('web')).toEqual({ chart: '1.3.0', message: 'from-gitfleet' });
    expect((await source()).status.revision).toBe(
      `sha256:${await sha256(join(repo.dir, 'index.yaml'))}`,
    );
    expect(repo.count('/web-1.3.0.tgz', 200)).toBe(1);
  });

  it('merges values files shipped inside the chart before the inline values', async () => {
    const res = await fleet.api('POST', tenantPath('/releases'), {
      name: 'shop',
      source: 'charts',
      kind: 'helm',
      helm: { chart: 'shop', valuesFiles: ['values-prod.yaml'], values: { tier: 'gold' } },
      targetNamespace: 'apps',
      clusterNames: ['charts-a'],
    });
    expect(res.status, res.text).toBe(201);
    await fleet.waitForTargets('shop', (t) => t.ready === 'True', 1);
    expect(configMap('shop')).toEqual({ message: 'from-values-prod', tier: 'gold' });
  });

  it('reports a values file the chart does not ship on the target, applying nothing', async () => {
    const res = await fleet.api('POST', tenantPath('/releases'), {
      name: 'shop-staging',
      source: 'charts',
      kind: 'helm',
      helm: { chart: 'shop', valuesFiles: ['values-staging.yaml'] },
      targetNamespace: 'apps',
      clusterNames: ['charts-a'],
    });
    expect(res.status, res.text).toBe(201);
    const [failed] = await fleet.waitForTargets(
      'shop-staging',
      (t) => t.ready === 'False' && t.lastError !== null,
      1,
    );
    expect(failed.lastError).toMatch(
      /values file "values-staging\.yaml" does not exist in chart shop-2\.0\.0\.tgz/,
    );
    expect(configMap('shop-staging')).toBeUndefined();
  });

  it('refuses a chart whose archive does not match the index digest: nothing applied or pruned', async () => {
    await repo.addChart('web', '1.4.0');
    await repo.reindex();
    await repo.tamperChart('web', '1.4.0');
    await fleet.api('POST', tenantPath('/sources/charts/refresh'));
    const failed = await fleet.eventually('the target to report the digest mismatch', async () => {
      const t = await target();
      const ready = (t.conditions as any[]).find((c) => c.type === 'Ready');
      return ready?.reason === 'ArtifactFailed' ? t : undefined;
    });
    expect(failed.ready).toBe('False');
    expect(failed.lastError).toMatch(/web 1\.4\.0.*does not match the index digest/);
    expect(failed.appliedRevision).toMatch(/^1\.3\.0@sha256:/);
    expect(configMap('web')).toEqual({ chart: '1.3.0', message: 'from-gitfleet' });
    // The index itself is fine: the source stays Ready.
    const ready = ((await source()).status.conditions as any[]).find((c) => c.type === 'Ready');
    expect(ready?.status).toBe('True');
  });
});
