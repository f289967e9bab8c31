import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetHarness } from 'test/support/fleet/fleet-harness';
import type { TestRepository } from 'test/support/git-server/git-repositories';

describe('kustomize and helm releases rendered with the real binaries and per-cluster variables', () => {
  const fleet = new FleetHarness({
    clusters: [
      { name: 'edge-north', labels: { fleet: 'edge', region: 'north' } },
      { name: 'edge-south', labels: { fleet: 'edge', region: 'south' } },
    ],
  });
  let repo: TestRepository;

  beforeAll(async () => {
    await fleet.start();
    repo = await fleet.repos.createRepository('rendered');
    await repo.commit({
      'kustomize/base/kustomization.yaml': 'resources:\n  - configmap.yaml\n',
      'kustomize/base/configmap.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  region: "${cluster_label_region}"\n  tier: base\n',
      'kustomize/overlays/edge/kustomization.yaml':
        'resources:\n  - ../../base\nnamePrefix: edge-\ncommonLabels:\n  layer: overlay\npatches:\n  - target:\n      kind: ConfigMap\n    patch: |-\n      - op: replace\n        path: /data/tier\n        value: overlay\n',
      'charts/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.1.0\n',
      'charts/web/values.yaml': 'replicas: 1\ngreeting: hello\n',
      'charts/web/templates/configmap.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-greeting\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  cluster: "${cluster_name}"\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n',
      'charts/web/values-edge.yaml': 'greeting: hello-edge\n',
    });
    await fleet.createGitSource('rendered', repo);
  });

  afterAll(async () => {
    await fleet.stop();
  });

  const data = (cluster: string, name: string): Record<string, string> | undefined =>
    fleet
      .cluster(cluster)
      .listObjects('v1', 'ConfigMap', 'apps')
      .find((o) => o.metadata.name === name)?.data as Record<string, string> | undefined;

  it('renders a kustomize overlay with cluster label variables', async () => {
    const res = await fleet.api('POST', `/tenants/${fleet.tenant}/releases`, {
      name: 'settings',
      source: 'rendered',
      path: 'kustomize/overlays/edge',
      targetNamespace: 'apps',
      clusterSelector: { matchLabels: { fleet: 'edge' } },
      postBuild: {},
    });
    expect(res.status, res.text).toBe(201);
    await fleet.waitForTargets('settings', (t) => t.ready === 'True', 2);
    expect(data('edge-north', 'edge-settings')).toEqual({ region: 'north', tier: 'overlay' });
    expect(data('edge-south', 'edge-settings')).toEqual({ region: 'south', tier: 'overlay' });
    const labels = fleet
      .cluster('edge-north')
      .listObjects('v1', 'ConfigMap', 'apps')
      .find((o) => o.metadata.name === 'edge-settings')?.metadata.labels;
    expect(labels).toMatchObject({ layer: 'overlay', 'gitfleet.dev/release': 'settings' });
  });

  it('renders a helm chart from the repository with values files, inline values and variables', async () => {
    const res = await fleet.api('POST', `/tenants/${fleet.tenant}/releases`, {
      name: 'web',
      source: 'rendered',
      kind: 'helm',
      helm: {
        chart: 'charts/web',
        releaseName: 'frontend',
        valuesFiles: ['charts/web/values-edge.yaml'],
        values: { replicas: 2 },
      },
      targetNamespace: 'apps',
      clusterNames: ['edge-south'],
      // Helm output is substituted only when the release asks.
      postBuild: {},
    });
    expect(res.status, res.text).toBe(201);
    await fleet.waitForTargets('web', (t) => t.ready === 'True', 1);
    const cm = data('edge-south', 'frontend-greeting');
    expect(cm?.greeting).toBe('hello-edge');
    expect(cm?.cluster).toBe('edge-south');
    expect(cm?.kube).toMatch(/^v1\.\d+\.\d+/);
    expect(data('edge-north', 'frontend-greeting')).toBeUndefined();
  });

  it('refuses a values file outside the source', async () => {
    const res = await fleet.api('POST', `/tenants/${fleet.tenant}/releases`, {
      name: 'escape',
      source: 'rendered',
      kind: 'helm',
      helm: { chart: 'charts/web', valuesFiles: ['../../../etc/passwd'] },
      targetNamespace: 'apps',
      clusterNames: ['edge-south'],
    });
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual([expect.objectContaining({ field: 'helm.valuesFiles.0' })]);
  });
});
