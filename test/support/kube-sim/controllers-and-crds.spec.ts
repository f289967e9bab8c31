import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimCluster } from 'test/support/kube-sim/cluster';
import { simApply, simRequest } from 'test/support/kube-sim/http-client';
import { ANNOTATIONS, installClusterApiCrd, KubeSim } from 'test/support/kube-sim/index';
import type { KubeObject } from 'test/support/kube-sim/types';

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) {
      throw new Error('condition not met in time');
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

function deployment(name: string, annotations: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default', annotations },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'c', image: 'x:1' }] },
      },
    },
  };
}

function condition(obj: KubeObject | undefined, type: string): Record<string, unknown> | undefined {
  const conds =
    (obj?.status as { conditions?: Record<string, unknown>[] } | undefined)?.conditions ?? [];
  return conds.find((c) => c.type === type);
}

describe('simulated controllers', () => {
  let sim: KubeSim;
  let sut: SimCluster;

  beforeAll(async () => {
    sim = await KubeSim.start({ readyAfterMs: 30 });
    sut = await sim.addCluster();
  });
  afterAll(async () => {
    await sim.stop();
  });

  const get = (kind: string, name: string, av = 'apps/v1'): KubeObject | undefined =>
    sut.getObject(av, kind, name, 'default');

  it('brings a Deployment to Available with observedGeneration and replica counts', async () => {
    sut.seed(deployment('ready'));
    await until(() => condition(get('Deployment', 'ready'), 'Available')?.status === 'True');
    const d = get('Deployment', 'ready');
    expect(d?.status).toMatchObject({
      observedGeneration: 1,
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
    });
    expect(condition(d, 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'NewReplicaSetAvailable',
    });
  });

  it('honours never-ready and fail annotations', async () => {
    sut.seed(
      deployment('stuck', { [ANNOTATIONS.neverReady]: 'true' }),
      deployment('broken', { [ANNOTATIONS.fail]: 'true' }),
    );
    await until(
      () =>
        condition(get('Deployment', 'broken'), 'Progressing')?.reason ===
        'ProgressDeadlineExceeded',
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(condition(get('Deployment', 'stuck'), 'Available')?.status).toBe('False');
    expect(condition(get('Deployment', 'stuck'), 'Progressing')?.reason).toBe('ReplicaSetUpdated');
  });

  it('runs a pod that is not restarted to its end, and keeps a restarted one running', async () => {
    const pod = (name: string, restartPolicy: string, annotations: Record<string, string> = {}) =>
      ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: 'default', annotations },
        spec: { restartPolicy, containers: [{ name: 'c', image: 'x:1' }] },
      }) as KubeObject;
    sut.seed(
      pod('once', 'Never'),
      pod('once-failing', 'Never', { [ANNOTATIONS.fail]: 'true' }),
      pod('server', 'Always'),
    );
    const phaseOf = (name: string): unknown =>
      (get('Pod', name, 'v1')?.status as { phase?: string } | undefined)?.phase;
    await until(() => phaseOf('once') === 'Succeeded' && phaseOf('once-failing') === 'Failed');
    expect(condition(get('Pod', 'once', 'v1'), 'Ready')).toMatchObject({
      status: 'False',
      reason: 'PodCompleted',
    });
    await until(() => phaseOf('server') === 'Running');
  });

  it('delays readiness per object with ready-after-ms and restarts on a new generation', async () => {
    sut.seed(deployment('slow', { [ANNOTATIONS.readyAfterMs]: '300' }));
    await until(() => get('Deployment', 'slow')?.status !== undefined);
    expect(condition(get('Deployment', 'slow'), 'Available')?.status).toBe('False');
    await until(() => condition(get('Deployment', 'slow'), 'Available')?.status === 'True');
  });

  it('completes Jobs and rolls out StatefulSets and DaemonSets', async () => {
    sut.seed(
      {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'j' },
        spec: {
          template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x' }] } },
        },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 's' },
        spec: {
          serviceName: 's',
          selector: { matchLabels: { a: 's' } },
          template: {
            metadata: { labels: { a: 's' } },
            spec: { containers: [{ name: 'c', image: 'x' }] },
          },
        },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: { name: 'd' },
        spec: {
          selector: { matchLabels: { a: 'd' } },
          template: {
            metadata: { labels: { a: 'd' } },
            spec: { containers: [{ name: 'c', image: 'x' }] },
          },
        },
      },
    );
    await until(() => condition(get('Job', 'j', 'batch/v1'), 'Complete')?.status === 'True');
    await until(
      () =>
        (get('StatefulSet', 's')?.status as { readyReplicas?: number } | undefined)
          ?.readyReplicas === 1,
    );
    await until(
      () =>
        (get('DaemonSet', 'd')?.status as { numberReady?: number } | undefined)?.numberReady === 1,
    );
    const job = get('Job', 'j', 'batch/v1');
    expect(job?.status).toMatchObject({
      succeeded: 1,
      startTime: expect.any(String),
      completionTime: expect.any(String),
    });
  });
});

describe('custom resource definitions', () => {
  let sim: KubeSim;
  let sut: SimCluster;
  const crd = {
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
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: {
                  type: 'object',
                  properties: {
                    size: { type: 'integer', default: 1 },
                    color: { type: 'string', enum: ['red', 'blue'] },
                  },
                },
                status: { type: 'object', properties: { ready: { type: 'boolean' } } },
              },
            },
          },
        },
      ],
    },
  };
  const W = '/apis/example.com/v1/namespaces/default/widgets';

  beforeAll(async () => {
    sim = await KubeSim.start({ crdEstablishDelayMs: 20 });
    sut = await sim.addCluster();
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('serves a CRD only once Established and lists it in discovery', async () => {
    const created = await simRequest(
      sut,
      'POST',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
      { body: crd },
    );
    expect(created.status).toBe(201);
    const slow = await sim.addCluster({ crdEstablishDelayMs: 600_000 });
    await simRequest(slow, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      body: crd,
    });
    expect((await simRequest(slow, 'GET', W)).status).toBe(404);
    expect((await simRequest(slow, 'GET', '/apis/example.com/v1')).status).toBe(404);
    await until(
      () =>
        condition(
          sut.getObject(
            'apiextensions.k8s.io/v1',
            'CustomResourceDefinition',
            'widgets.example.com',
          ),
          'Established',
        )?.status === 'True',
    );
    expect((await simRequest(sut, 'GET', '/apis/example.com/v1')).body.resources[0]).toMatchObject({
      name: 'widgets',
      kind: 'Widget',
      namespaced: true,
    });
    expect((await simRequest(sut, 'GET', W)).status).toBe(200);
  });

  it('prunes unknown fields with a warning, defaults, validates, and bumps generation on spec only', async () => {
    const res = await simRequest(sut, 'POST', W, {
      body: {
        apiVersion: 'example.com/v1',
        kind: 'Widget',
        metadata: { name: 'w' },
        spec: { color: 'red', extra: 1 },
      },
    });
    expect(res.status).toBe(201);
    expect(res.body.spec).toEqual({ color: 'red', size: 1 });
    expect(String(res.headers.warning)).toContain('unknown field \\"spec.extra\\"');
    const strict = await simRequest(sut, 'POST', `${W}?fieldValidation=Strict`, {
      body: {
        apiVersion: 'example.com/v1',
        kind: 'Widget',
        metadata: { name: 'w2' },
        spec: { extra: 1 },
      },
    });
    expect(strict.status).toBe(400);
    const invalid = await simRequest(sut, 'POST', W, {
      body: {
        apiVersion: 'example.com/v1',
        kind: 'Widget',
        metadata: { name: 'w3' },
        spec: { size: 'big' },
      },
    });
    expect(invalid.status).toBe(422);
    expect(invalid.body.message).toContain(
      'Widget.example.com "w3" is invalid: spec.size: Invalid value: "big": spec.size in body must be of type integer: "string"',
    );
    const status = await simRequest(sut, 'PATCH', `${W}/w/status`, {
      body: { status: { ready: true } },
      contentType: 'application/merge-patch+json',
    });
    expect(status.body.metadata.generation).toBe(1);
    const spec = await simRequest(sut, 'PATCH', `${W}/w`, {
      body: { spec: { size: 2 } },
      contentType: 'application/merge-patch+json',
    });
    expect(spec.body.metadata.generation).toBe(2);
    const smp = await simRequest(sut, 'PATCH', `${W}/w`, {
      body: { spec: { size: 3 } },
      contentType: 'application/strategic-merge-patch+json',
    });
    expect(smp.status).toBe(415);
    const noRv = await simRequest(sut, 'PUT', `${W}/w`, {
      body: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: {} },
    });
    expect(noRv.status).toBe(422);
    expect(noRv.body.message).toContain('must be specified for an update');
    const undeclared = await simApply(sut, `${W}/w`, {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w' },
      spec: { nope: 1 },
    });
    expect(undeclared.status).toBe(500);
    expect(undeclared.body.reason).toBeUndefined();
    expect(undeclared.body.message).toContain('.spec.nope: field not declared in schema');
    const list = await simRequest(sut, 'GET', W);
    expect(list.body.items[0]).toMatchObject({ apiVersion: 'example.com/v1', kind: 'Widget' });
  });

  it('serves Cluster API clusters in v1beta1 and v1beta2 with conversion', async () => {
    await installClusterApiCrd(sut);
    const v2 = '/apis/cluster.x-k8s.io/v1beta2/namespaces/default/clusters';
    const created = await simRequest(sut, 'POST', v2, {
      body: {
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'Cluster',
        metadata: { name: 'c1', labels: { env: 'prod' } },
        spec: {
          controlPlaneRef: {
            apiGroup: 'controlplane.cluster.x-k8s.io',
            kind: 'KubeadmControlPlane',
            name: 'c1',
          },
        },
      },
    });
    expect(created.status).toBe(201);
    await simRequest(sut, 'PATCH', `${v2}/c1/status`, {
      body: {
        status: {
          phase: 'Provisioned',
          initialization: { controlPlaneInitialized: true },
          conditions: [
            {
              type: 'Available',
              status: 'True',
              reason: 'Available',
              lastTransitionTime: '2026-01-01T00:00:00Z',
            },
          ],
        },
      },
      contentType: 'application/merge-patch+json',
    });
    const v1 = await simRequest(
      sut,
      'GET',
      '/apis/cluster.x-k8s.io/v1beta1/namespaces/default/clusters/c1',
    );
    expect(v1.body.apiVersion).toBe('cluster.x-k8s.io/v1beta1');
    expect(v1.body.status).toMatchObject({
      phase: 'Provisioned',
      controlPlaneReady: true,
      v1beta2: { conditions: [expect.objectContaining({ type: 'Available' })] },
    });
    expect(v1.body.spec.controlPlaneRef).toMatchObject({
      apiVersion: 'controlplane.cluster.x-k8s.io/v1beta1',
      kind: 'KubeadmControlPlane',
      name: 'c1',
    });
    const apis = await simRequest(sut, 'GET', '/apis/cluster.x-k8s.io');
    expect(apis.body.preferredVersion.version).toBe('v1beta2');
    const shortNames = await simRequest(sut, 'GET', '/apis/cluster.x-k8s.io/v1beta2');
    expect(shortNames.body.resources[0]).toMatchObject({
      name: 'clusters',
      shortNames: ['cl'],
      categories: ['cluster-api'],
    });
  });
});
