import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimCluster } from 'test/support/kube-sim/cluster';
import { list, simApply, simRequest, str } from 'test/support/kube-sim/http-client';
import { KubeSim } from 'test/support/kube-sim/index';

const CM = '/api/v1/namespaces/default/configmaps';
const DEPLOY = '/apis/apps/v1/namespaces/default/deployments';

function cm(name: string, data: Record<string, string>): object {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data };
}

function deploy(name: string, container: object, extra: object = {}): object {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [container] } },
      ...extra,
    },
  };
}

describe('server-side apply', () => {
  let sim: KubeSim;
  let sut: SimCluster;

  beforeAll(async () => {
    sim = await KubeSim.start({ readyAfterMs: 10_000 });
    sut = await sim.addCluster({ name: 'ssa' });
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('creates with 201, then answers an identical apply with 200 and no new resourceVersion', async () => {
    const first = await simApply(sut, `${CM}/a1`, cm('a1', { x: '1' }), 'fieldManager=m1');
    expect(first.status).toBe(201);
    const again = await simApply(sut, `${CM}/a1`, cm('a1', { x: '1' }), 'fieldManager=m1');
    expect(again.status).toBe(200);
    expect(again.body.metadata.resourceVersion).toBe(first.body.metadata.resourceVersion);
    expect(again.body.metadata.managedFields).toEqual(first.body.metadata.managedFields);
    expect(first.body.metadata.managedFields).toEqual([
      expect.objectContaining({
        manager: 'm1',
        operation: 'Apply',
        apiVersion: 'v1',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:data': { 'f:x': {} } },
      }),
    ]);
  });

  it('answers a changed value owned by another manager with the exact 409 conflict body', async () => {
    await simApply(sut, `${CM}/a2`, cm('a2', { x: '1' }), 'fieldManager=m1');
    const res = await simApply(sut, `${CM}/a2`, cm('a2', { x: '2' }), 'fieldManager=m2');
    expect(res.status).toBe(409);
    expect(res.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Apply failed with 1 conflict: conflict with "m1": .data.x',
      reason: 'Conflict',
      details: {
        causes: [
          { reason: 'FieldManagerConflict', message: 'conflict with "m1"', field: '.data.x' },
        ],
      },
      code: 409,
    });
  });

  it('names Update managers with their apiVersion and lists several conflicts', async () => {
    await simRequest(sut, 'POST', `${CM}?fieldManager=editor`, {
      body: cm('a3', { x: '1', y: '1' }),
    });
    const res = await simApply(sut, `${CM}/a3`, cm('a3', { x: '2', y: '2' }), 'fieldManager=m2');
    expect(res.status).toBe(409);
    expect(res.body.message).toBe(
      'Apply failed with 2 conflicts: conflicts with "editor" using v1:\n- .data.x\n- .data.y',
    );
  });

  it('shares ownership when the same value is applied, and force transfers it', async () => {
    await simApply(sut, `${CM}/a4`, cm('a4', { x: '1' }), 'fieldManager=m1');
    const shared = await simApply(sut, `${CM}/a4`, cm('a4', { x: '1' }), 'fieldManager=m2');
    expect(shared.status).toBe(200);
    expect(
      list(shared.body.metadata.managedFields)
        .map((m) => str(m.manager))
        .sort(),
    ).toEqual(['m1', 'm2']);
    const forced = await simApply(
      sut,
      `${CM}/a4`,
      cm('a4', { x: '3' }),
      'fieldManager=m3&force=true',
    );
    expect(forced.status).toBe(200);
    const managers = list(forced.body.metadata.managedFields).map((m) => str(m.manager));
    expect(managers).toEqual(['m3']);
  });

  it('removes a field its only manager stops applying but keeps one another manager owns', async () => {
    await simApply(sut, `${CM}/a5`, cm('a5', { x: '1', y: '1', z: '1' }), 'fieldManager=m1');
    await simApply(sut, `${CM}/a5`, cm('a5', { z: '1' }), 'fieldManager=m2');
    const res = await simApply(sut, `${CM}/a5`, cm('a5', { x: '1' }), 'fieldManager=m1');
    expect(res.body.data).toEqual({ x: '1', z: '1' });
  });

  it('never removes fields the applier never owned', async () => {
    await simRequest(sut, 'POST', CM, { body: cm('a6', { other: 'v' }) });
    await simApply(sut, `${CM}/a6`, cm('a6', { mine: '1' }), 'fieldManager=m1');
    const res = await simApply(sut, `${CM}/a6`, cm('a6', {}), 'fieldManager=m1');
    expect(res.body.data).toEqual({ other: 'v' });
  });

  it('merges containers by name and ports by containerPort+defaulted protocol', async () => {
    const base = deploy('d1', { name: 'web', image: 'nginx:1', ports: [{ containerPort: 80 }] });
    const created = await simApply(sut, `${DEPLOY}/d1`, base, 'fieldManager=m1');
    expect(created.status).toBe(201);
    const fields = created.body.metadata.managedFields[0].fieldsV1;
    expect(fields['f:spec']['f:selector']).toEqual({});
    const c = fields['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"web"}'];
    expect(c['.']).toEqual({});
    expect(c['f:ports']).toEqual({
      'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} },
    });
    const sidecar = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd1' },
      spec: { template: { spec: { containers: [{ name: 'side', image: 'busybox:1' }] } } },
    };
    const res = await simApply(sut, `${DEPLOY}/d1`, sidecar, 'fieldManager=m2');
    expect(res.status).toBe(200);
    const names = list(res.body.spec.template.spec.containers).map((x) => str(x.name));
    expect(names).toEqual(['web', 'side']);
    expect(res.body.spec.template.spec.containers[0].ports[0]).toEqual({
      containerPort: 80,
      protocol: 'TCP',
    });
    expect(res.body.spec.template.spec.containers[0].imagePullPolicy).toBe('IfNotPresent');
  });

  it('renders keyed conflict paths like structured-merge-diff', async () => {
    const res = await simApply(
      sut,
      `${DEPLOY}/d1`,
      deploy('d1', { name: 'web', image: 'nginx:2', ports: [{ containerPort: 80 }] }),
      'fieldManager=m3',
    );
    expect(res.status).toBe(409);
    expect(res.body.details.causes[0].field).toBe(
      '.spec.template.spec.containers[name="web"].image',
    );
  });

  it('treats Service spec.selector as atomic', async () => {
    const svc = (sel: Record<string, string>): object => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's1' },
      spec: { selector: sel, ports: [{ port: 80 }] },
    });
    await simApply(
      sut,
      '/api/v1/namespaces/default/services/s1',
      svc({ app: 'a', tier: 'x' }),
      'fieldManager=m1',
    );
    const res = await simApply(
      sut,
      '/api/v1/namespaces/default/services/s1',
      svc({ app: 'b' }),
      'fieldManager=m1',
    );
    expect(res.body.spec.selector).toEqual({ app: 'b' });
    expect(res.body.spec.clusterIP).toMatch(/^10\.96\./);
    expect(res.body.metadata.managedFields[0].fieldsV1['f:spec']['f:selector']).toEqual({});
    expect(res.body.metadata.managedFields[0].fieldsV1['f:spec']['f:ports']).toEqual({
      'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:port': {} },
    });
  });

  it('dryRun=All validates and answers without storing', async () => {
    const res = await simApply(
      sut,
      `${CM}/dry`,
      cm('dry', { x: '1' }),
      'fieldManager=m1&dryRun=All',
    );
    expect(res.status).toBe(201);
    expect(res.body.metadata.uid).toBeTruthy();
    expect(res.body.metadata.resourceVersion).toBeUndefined();
    expect((await simRequest(sut, 'GET', `${CM}/dry`)).status).toBe(404);
  });

  it('rejects bad apply requests in the documented order', async () => {
    const noManager = await simRequest(sut, 'PATCH', `${CM}/bad`, {
      body: cm('bad', {}),
      contentType: 'application/apply-patch+yaml',
    });
    expect(noManager.status).toBe(422);
    expect(noManager.body.message).toBe(
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
    const wrongKind = await simApply(sut, `${CM}/bad`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'bad' },
    });
    expect(wrongKind.status).toBe(400);
    expect(wrongKind.body.message).toBe('invalid object type: /v1, Kind=Secret');
    const withMf = await simApply(sut, `${CM}/bad`, {
      ...cm('bad', {}),
      metadata: { name: 'bad', managedFields: [] },
    });
    expect(withMf.status).toBe(400);
    expect(withMf.body.message).toBe('metadata.managedFields must be nil');
    // JSON is parsed natively but duplicate keys are still refused, as by the YAML decoder.
    const duplicated = await simRequest(sut, 'PATCH', `${CM}/bad?fieldManager=m1`, {
      body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"bad"},"data":{"a":"1","a":"2"}}',
      contentType: 'application/apply-patch+yaml',
    });
    expect(duplicated.status).toBe(400);
    expect(duplicated.body.message).toContain('error decoding YAML');
    const forceOnMerge = await simRequest(sut, 'PATCH', `${CM}/a1?force=false`, {
      body: { data: {} },
      contentType: 'application/merge-patch+json',
    });
    expect(forceOnMerge.status).toBe(422);
    expect(forceOnMerge.body.details.causes[0].field).toBe('force');
  });

  it('records Update managers for non-apply writes and transfers changed fields to them', async () => {
    await simApply(sut, `${CM}/a7`, cm('a7', { x: '1' }), 'fieldManager=m1');
    const patched = await simRequest(sut, 'PATCH', `${CM}/a7?fieldManager=editor`, {
      body: { data: { x: '2' } },
      contentType: 'application/merge-patch+json',
    });
    expect(patched.status).toBe(200);
    const entries = list(patched.body.metadata.managedFields);
    expect(entries.map((e) => `${str(e.manager)}/${str(e.operation)}`)).toEqual(['editor/Update']);
    const conflict = await simApply(sut, `${CM}/a7`, cm('a7', { x: '1' }), 'fieldManager=m1');
    expect(conflict.status).toBe(409);
    expect(conflict.body.message).toContain('conflict with "editor" using v1: .data.x');
  });
});
