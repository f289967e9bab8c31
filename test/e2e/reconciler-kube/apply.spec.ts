import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeSim, type SimCluster } from 'test/support/kube-sim/index';
import { simRequest } from 'test/support/kube-sim/http-client';
import { refKey } from 'src/modules/reconciler/kube/kube-objects';
import type { KubeApiClient } from 'src/common/kube/kube-api.client';
import type { KubeObject } from 'src/modules/reconciler/kube/kube.types';
import {
  clientFor,
  configMap,
  deployment,
  inventoryOf,
  namespace,
  OWNER,
  service,
  services,
  simWrites,
} from './kube-fixtures';

describe('Applier against the Kubernetes API test server', () => {
  let sim: KubeSim;
  let cluster: SimCluster;
  let api: KubeApiClient;
  const { applier, health } = services();

  beforeAll(async () => {
    sim = await KubeSim.start({ readyAfterMs: 50 });
    cluster = await sim.addCluster();
    api = clientFor(cluster);
  });
  afterAll(async () => {
    api.close();
    await sim.stop();
  });

  it('creates objects with ownership labels, then re-applies an unchanged set with zero writes', async () => {
    const set: KubeObject[] = [
      namespace('steady'),
      configMap('c1', 'steady'),
      configMap('c2', 'steady'),
      configMap('c3', 'steady'),
      service('web', 'steady'),
      deployment('web', 'steady'),
    ];
    const first = await applier.apply(api, set, { owner: OWNER });
    expect(first.errors).toEqual([]);
    expect(first.ok).toBe(true);
    expect(first.counts.created).toBe(6);
    const cm = cluster.getObject('v1', 'ConfigMap', 'c1', 'steady');
    expect(cm?.metadata.labels).toMatchObject({
      'gitfleet.dev/tenant': 'team-a',
      'gitfleet.dev/release': 'web',
    });
    expect(cm?.metadata.managedFields?.[0]).toMatchObject({
      manager: 'gitfleet',
      operation: 'Apply',
    });

    // Health moves the Deployment's resourceVersion (status writes); its last RV goes to the inventory.
    const healthy = await health.waitForHealthy(api, set, {
      timeoutMs: 10_000,
      initial: first.objects.flatMap((o) => (o.live ? [o.live] : [])),
    });
    expect(healthy.healthy).toBe(true);
    const inventory = inventoryOf(first, healthy.resourceVersions);

    cluster.resetCounters();
    const second = await applier.apply(api, set, { owner: OWNER, previous: inventory });
    expect(second.ok).toBe(true);
    expect(second.counts).toEqual({ created: 0, configured: 0, unchanged: 6, recreated: 0 });
    expect(second.drift).toEqual([]);
    expect(simWrites(cluster)).toBe(0);
    expect(cluster.requestLog.filter((e) => /dryRun/.test(e.query))).toEqual([]);
    // Namespace (GET), ConfigMaps (1 LIST), Service (GET), Deployment (GET).
    expect(cluster.counters().byVerb).toEqual({ get: 3, list: 1 });

    // With a caller-provided live snapshot (one LIST per kind for the whole cluster) it costs nothing.
    const live = new Map(second.objects.map((o) => [refKey(o.ref), o.live ?? null]));
    cluster.resetCounters();
    const third = await applier.apply(api, set, {
      owner: OWNER,
      previous: inventoryOf(second),
      live,
    });
    expect(third.counts.unchanged).toBe(6);
    expect(cluster.counters().total).toBe(0);
  });

  it('detects an edit by another field manager, corrects it and reports the field paths only', async () => {
    const set = [namespace('drift'), configMap('settings', 'drift', { mode: 'safe', level: '1' })];
    const first = await applier.apply(api, set, { owner: OWNER });
    expect(first.ok).toBe(true);
    const edited = await simRequest(
      cluster,
      'PATCH',
      '/api/v1/namespaces/drift/configmaps/settings?fieldManager=kubectl-edit',
      {
        body: { data: { mode: 'very-secret-value' } },
        contentType: 'application/merge-patch+json',
      },
    );
    expect(edited.status).toBe(200);

    cluster.resetCounters();
    const second = await applier.apply(api, set, { owner: OWNER, previous: inventoryOf(first) });
    expect(second.ok).toBe(true);
    expect(second.drift).toEqual([
      {
        ref: { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'drift', name: 'settings' },
        type: 'Modified',
        fields: ['.data.mode'],
      },
    ]);
    expect(JSON.stringify(second.drift)).not.toContain('very-secret-value');
    expect(second.objects.find((o) => o.ref.name === 'settings')?.action).toBe('configured');
    expect(cluster.getObject('v1', 'ConfigMap', 'settings', 'drift')?.data).toEqual({
      mode: 'safe',
      level: '1',
    });
    // One dry-run and one apply for the drifted object only; the Namespace stays untouched.
    expect(simWrites(cluster)).toBe(1);

    // A status-only or foreign-field change moves the RV but is not drift: dry-run, no write.
    await simRequest(
      cluster,
      'PATCH',
      '/api/v1/namespaces/drift/configmaps/settings?fieldManager=other',
      {
        body: { metadata: { annotations: { 'example.com/note': 'x' } } },
        contentType: 'application/merge-patch+json',
      },
    );
    cluster.resetCounters();
    const third = await applier.apply(api, set, { owner: OWNER, previous: inventoryOf(second) });
    expect(third.drift).toEqual([]);
    expect(third.counts.unchanged).toBe(2);
    expect(simWrites(cluster)).toBe(0);
    const settings = third.objects.find((o) => o.ref.name === 'settings');
    expect(settings?.resourceVersion).toBe(
      cluster.getObject('v1', 'ConfigMap', 'settings', 'drift')?.metadata.resourceVersion,
    );
  });

  it('recreates an applied object someone deleted and reports it as drift', async () => {
    const set = [namespace('gone'), configMap('c', 'gone')];
    const first = await applier.apply(api, set, { owner: OWNER });
    await simRequest(cluster, 'DELETE', '/api/v1/namespaces/gone/configmaps/c');
    const second = await applier.apply(api, set, { owner: OWNER, previous: inventoryOf(first) });
    expect(second.ok).toBe(true);
    expect(second.drift).toEqual([expect.objectContaining({ type: 'Deleted', fields: [] })]);
    expect(second.objects.find((o) => o.ref.name === 'c')?.action).toBe('created');
  });

  it('applies nothing when one object among 20 is invalid', async () => {
    await applier.apply(api, [namespace('batch')], { owner: OWNER });
    const set = Array.from({ length: 19 }, (_, i) => configMap(`ok-${i}`, 'batch'));
    set.splice(7, 0, configMap('Bad_Name', 'batch'));
    cluster.resetCounters();
    const result = await applier.apply(api, set, { owner: OWNER });
    expect(result.ok).toBe(false);
    expect(result.failedPhase).toBe('validation');
    expect(result.objects).toEqual([]);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ code: 'Invalid', ref: { name: 'Bad_Name' } });
    expect(result.errors[0].message).toContain('metadata.name');
    expect(simWrites(cluster)).toBe(0);
    expect(
      cluster
        .listObjects('v1', 'ConfigMap', 'batch')
        .filter((o) => o.metadata.name?.startsWith('ok-')),
    ).toEqual([]);
  });

  it('applies a CRD, a new Namespace and custom resources in one set, in stages', async () => {
    const crd: KubeObject = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } },
              },
            },
          },
        ],
      },
    };
    const widget = (name: string, size: number): KubeObject => ({
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name, namespace: 'crs' },
      spec: { size },
    });
    // Render order puts the CRs first: the applier stages them after the CRD anyway.
    const set = [widget('w1', 1), widget('w2', 2), configMap('c', 'crs'), namespace('crs'), crd];
    const result = await applier.apply(api, set, { owner: OWNER });
    expect(result.errors).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.objects.map((o) => `${o.ref.kind}/${o.ref.name}:${o.action}`)).toEqual([
      'CustomResourceDefinition/widgets.example.com:created',
      'Namespace/crs:created',
      'Widget/w1:created',
      'Widget/w2:created',
      'ConfigMap/c:created',
    ]);
    expect(cluster.getObject('example.com/v1', 'Widget', 'w2', 'crs')?.spec).toEqual({ size: 2 });

    // An invalid CR is found by the deferred dry-run: the CRD stage exists, no CR is written.
    const bad = widget('w3', 3);
    (bad.spec as Record<string, unknown>).size = 'three';
    const again = await applier.apply(api, [crd, widget('w4', 4), bad], {
      owner: OWNER,
      previous: inventoryOf(result),
    });
    expect(again.ok).toBe(false);
    expect(again.errors[0]).toMatchObject({ code: 'Invalid', ref: { name: 'w3' } });
    expect(cluster.getObject('example.com/v1', 'Widget', 'w4', 'crs')).toBeUndefined();
  });

  it('refuses an immutable-field change without force and recreates the object with force', async () => {
    await applier.apply(api, [namespace('imm')], { owner: OWNER });
    const first = await applier.apply(api, [deployment('app', 'imm')], { owner: OWNER });
    expect(first.ok).toBe(true);
    const uid = cluster.getObject('apps/v1', 'Deployment', 'app', 'imm')?.metadata.uid;
    const changed = deployment('app', 'imm');
    const spec = changed.spec as {
      selector: { matchLabels: Record<string, string> };
      template: { metadata: { labels: Record<string, string> } };
    };
    spec.selector.matchLabels = { app: 'app', tier: 'web' };
    spec.template.metadata.labels = { app: 'app', tier: 'web' };

    const refused = await applier.apply(api, [changed], {
      owner: OWNER,
      previous: inventoryOf(first),
    });
    expect(refused.ok).toBe(false);
    expect(refused.errors[0]).toMatchObject({ code: 'ImmutableField', ref: { name: 'app' } });
    expect(cluster.getObject('apps/v1', 'Deployment', 'app', 'imm')?.metadata.uid).toBe(uid);

    const forced = await applier.apply(api, [changed], {
      owner: OWNER,
      previous: inventoryOf(first),
      force: true,
    });
    expect(forced.errors).toEqual([]);
    expect(forced.objects[0].action).toBe('recreated');
    const live = cluster.getObject('apps/v1', 'Deployment', 'app', 'imm');
    expect(live?.metadata.uid).not.toBe(uid);
    expect((live?.spec as typeof spec).selector.matchLabels).toEqual({ app: 'app', tier: 'web' });
  });
});
