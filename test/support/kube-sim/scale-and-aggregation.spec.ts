import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimCluster } from 'test/support/kube-sim/cluster';
import { simRequest } from 'test/support/kube-sim/http-client';
import { KubeSim } from 'test/support/kube-sim/index';

const DEP = '/apis/apps/v1/namespaces/default/deployments';
const RBAC = 'rbac.authorization.k8s.io/v1';

describe('scale subresource, HorizontalPodAutoscaler and ClusterRole aggregation on the wire', () => {
  let sim: KubeSim;
  let sut: SimCluster;

  beforeAll(async () => {
    sim = await KubeSim.start({ readyAfterMs: 10_000 });
    sut = await sim.addCluster();
    sut.seed({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        replicas: 2,
        selector: {
          matchLabels: { app: 'web', tier: 'fe' },
          matchExpressions: [{ key: 'track', operator: 'NotIn', values: ['canary', 'beta'] }],
        },
        template: {
          metadata: { labels: { app: 'web', tier: 'fe' } },
          spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
        },
      },
    });
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('reads a Scale with the selector rendered as a label selector string', async () => {
    const res = await simRequest(sut, 'GET', `${DEP}/web/scale`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      spec: { replicas: 2 },
      status: { selector: 'app=web,tier=fe,track notin (beta,canary)' },
    });
  });

  it('lists the scale subresource in discovery as an autoscaling/v1 Scale', async () => {
    const res = await simRequest(sut, 'GET', '/apis/apps/v1');
    expect(res.body.resources).toEqual(
      expect.arrayContaining([
        {
          name: 'deployments/scale',
          singularName: '',
          namespaced: true,
          group: 'autoscaling',
          version: 'v1',
          kind: 'Scale',
          verbs: ['get', 'patch', 'update'],
        },
      ]),
    );
    const daemonsets = await simRequest(
      sut,
      'GET',
      '/apis/apps/v1/namespaces/default/daemonsets/x/scale',
    );
    expect(daemonsets.status).toBe(404);
  });

  it('rejects a stale resourceVersion, negative replicas and verbs the subresource lacks', async () => {
    const cur = await simRequest(sut, 'GET', `${DEP}/web/scale`);
    const stale = await simRequest(sut, 'PUT', `${DEP}/web/scale`, {
      body: { ...cur.body, metadata: { ...cur.body.metadata, resourceVersion: '1' } },
    });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({
      reason: 'Conflict',
      message:
        'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again',
    });
    const negative = await simRequest(sut, 'PATCH', `${DEP}/web/scale`, {
      body: { spec: { replicas: -1 } },
      contentType: 'application/merge-patch+json',
    });
    expect(negative.status).toBe(422);
    expect(negative.body.message).toBe(
      'Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
    );
    expect((await simRequest(sut, 'DELETE', `${DEP}/web/scale`)).status).toBe(405);
    const dep = sut.getObject('apps/v1', 'Deployment', 'web');
    expect((dep?.spec as { replicas: number }).replicas).toBe(2);
  });

  it('applies a Scale: ownership of spec.replicas is recorded with subresource scale and conflicts with its applier', async () => {
    sut.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } });
    const body = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api', namespace: 'apps' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'api' } },
        template: {
          metadata: { labels: { app: 'api' } },
          spec: { containers: [{ name: 'api', image: 'api:1' }] },
        },
      },
    };
    const path = '/apis/apps/v1/namespaces/apps/deployments/api';
    const created = await simRequest(sut, 'PATCH', `${path}?fieldManager=gitops`, {
      body,
      contentType: 'application/apply-patch+yaml',
    });
    expect(created.status).toBe(201);
    const scale = { apiVersion: 'autoscaling/v1', kind: 'Scale', spec: { replicas: 4 } };
    const conflict = await simRequest(sut, 'PATCH', `${path}/scale?fieldManager=hpa`, {
      body: scale,
      contentType: 'application/apply-patch+yaml',
    });
    expect(conflict.status).toBe(409);
    expect(conflict.body.message).toContain('conflict with "gitops": .spec.replicas');
    const forced = await simRequest(sut, 'PATCH', `${path}/scale?fieldManager=hpa&force=true`, {
      body: scale,
      contentType: 'application/apply-patch+yaml',
    });
    expect(forced.status).toBe(200);
    expect(forced.body).toMatchObject({ kind: 'Scale', spec: { replicas: 4 } });
    const dep = sut.getObject('apps/v1', 'Deployment', 'api', 'apps');
    expect((dep?.spec as { replicas: number }).replicas).toBe(4);
    expect(dep?.metadata.managedFields).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          manager: 'hpa',
          operation: 'Apply',
          subresource: 'scale',
          fieldsV1: { 'f:spec': { 'f:replicas': {} } },
        }),
      ]),
    );
  });

  it('defaults and validates autoscaling/v2 HorizontalPodAutoscalers', async () => {
    const hpa = '/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers';
    const created = await simRequest(sut, 'POST', hpa, {
      body: {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'web' },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
          maxReplicas: 4,
          behavior: { scaleDown: { stabilizationWindowSeconds: 60 } },
        },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.spec).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      minReplicas: 1,
      maxReplicas: 4,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
        },
      ],
      behavior: {
        scaleUp: {
          stabilizationWindowSeconds: 0,
          selectPolicy: 'Max',
          policies: [
            { type: 'Pods', value: 4, periodSeconds: 15 },
            { type: 'Percent', value: 100, periodSeconds: 15 },
          ],
        },
        scaleDown: {
          stabilizationWindowSeconds: 60,
          selectPolicy: 'Max',
          policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
        },
      },
    });
    const invalid = await simRequest(sut, 'POST', hpa, {
      body: {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'bad' },
        spec: { scaleTargetRef: { kind: 'Deployment' } },
      },
    });
    expect(invalid.status).toBe(422);
    expect(invalid.body.details.causes).toEqual([
      {
        reason: 'FieldValueRequired',
        message: 'Required value',
        field: 'spec.scaleTargetRef.name',
      },
      {
        reason: 'FieldValueInvalid',
        message: 'Invalid value: 0: must be greater than or equal to 1',
        field: 'spec.maxReplicas',
      },
    ]);
  });

  it('recomputes aggregated rules when a selected role changes labels or rules, and ignores writes to them', async () => {
    const rules = (name: string): unknown => sut.getObject(RBAC, 'ClusterRole', name)?.rules ?? [];
    sut.seed(
      {
        apiVersion: RBAC,
        kind: 'ClusterRole',
        metadata: { name: 'agg' },
        aggregationRule: { clusterRoleSelectors: [{ matchLabels: { team: 'x' } }] },
      },
      {
        apiVersion: RBAC,
        kind: 'ClusterRole',
        metadata: { name: 'b-part', labels: { team: 'x' } },
        rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }],
      },
      {
        apiVersion: RBAC,
        kind: 'ClusterRole',
        metadata: { name: 'a-part', labels: { team: 'x' } },
        rules: [
          { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
          { apiGroups: [''], resources: ['secrets'], verbs: ['list'] },
        ],
      },
    );
    // Sorted by role name, duplicates dropped.
    expect(rules('agg')).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['list'] },
    ]);
    // Rules written to an aggregated role are overwritten by the controller.
    const put = await simRequest(
      sut,
      'PATCH',
      '/apis/rbac.authorization.k8s.io/v1/clusterroles/agg',
      {
        body: { rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] },
        contentType: 'application/merge-patch+json',
      },
    );
    expect(put.status).toBe(200);
    expect(rules('agg')).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['list'] },
    ]);
    sut.seed({
      apiVersion: RBAC,
      kind: 'ClusterRole',
      metadata: { name: 'a-part' },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }],
    });
    expect(rules('agg')).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }]);
    // Two roles aggregating each other settle.
    sut.seed(
      {
        apiVersion: RBAC,
        kind: 'ClusterRole',
        metadata: { name: 'loop-1', labels: { loop: '2' } },
        aggregationRule: { clusterRoleSelectors: [{ matchLabels: { loop: '1' } }] },
        rules: [{ apiGroups: ['a'], resources: ['x'], verbs: ['get'] }],
      },
      {
        apiVersion: RBAC,
        kind: 'ClusterRole',
        metadata: { name: 'loop-2', labels: { loop: '1' } },
        aggregationRule: { clusterRoleSelectors: [{ matchLabels: { loop: '2' } }] },
      },
    );
    expect(rules('loop-1')).toEqual(rules('loop-2'));
  });

  it('lets a RoleBinding to admin read its own Namespace object, and only that one', async () => {
    sut.seed(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'own' } },
      {
        apiVersion: RBAC,
        kind: 'RoleBinding',
        metadata: { name: 'sa-admin', namespace: 'own' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
        subjects: [{ kind: 'ServiceAccount', name: 'sa', namespace: 'own' }],
      },
    );
    const as = { 'Impersonate-User': 'system:serviceaccount:own:sa' };
    expect((await simRequest(sut, 'GET', '/api/v1/namespaces/own', { headers: as })).status).toBe(
      200,
    );
    const other = await simRequest(sut, 'GET', '/api/v1/namespaces/default', { headers: as });
    expect(other.status).toBe(403);
    expect(other.body.message).toBe(
      'namespaces "default" is forbidden: User "system:serviceaccount:own:sa" cannot get resource "namespaces" in API group "" in the namespace "default"',
    );
    expect((await simRequest(sut, 'GET', '/api/v1/namespaces', { headers: as })).status).toBe(403);
    expect(
      (await simRequest(sut, 'DELETE', '/api/v1/namespaces/own', { headers: as })).status,
    ).toBe(403);
  });
});
