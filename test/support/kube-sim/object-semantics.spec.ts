import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimCluster } from 'test/support/kube-sim/cluster';
import { itemsOf, list, simApply, simRequest, str } from 'test/support/kube-sim/http-client';
import { KubeSim } from 'test/support/kube-sim/index';

const CM = '/api/v1/namespaces/default/configmaps';

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) {
      throw new Error('condition not met in time');
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('object semantics and Status errors', () => {
  let sim: KubeSim;
  let sut: SimCluster;

  beforeAll(async () => {
    sim = await KubeSim.start({ readyAfterMs: 10_000 });
    sut = await sim.addCluster();
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('bootstraps namespaces, the default service account and kube-root-ca.crt in new namespaces', async () => {
    const ns = await simRequest(sut, 'GET', '/api/v1/namespaces');
    expect(itemsOf(ns).map((i) => i.metadata.name)).toEqual([
      'default',
      'kube-node-lease',
      'kube-public',
      'kube-system',
    ]);
    await simRequest(sut, 'POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } },
    });
    const sa = await simRequest(sut, 'GET', '/api/v1/namespaces/team-a/serviceaccounts/default');
    expect(sa.status).toBe(200);
    const ca = await simRequest(
      sut,
      'GET',
      '/api/v1/namespaces/team-a/configmaps/kube-root-ca.crt',
    );
    expect(ca.body.data['ca.crt']).toContain('BEGIN CERTIFICATE');
  });

  it('answers create in a missing namespace with 404 namespaces "x" not found', async () => {
    const res = await simRequest(sut, 'POST', '/api/v1/namespaces/nope/configmaps', {
      body: { metadata: { name: 'a' } },
    });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({
      reason: 'NotFound',
      message: 'namespaces "nope" not found',
      details: { name: 'nope', kind: 'namespaces' },
    });
  });

  it('distinguishes AlreadyExists from Conflict', async () => {
    const created = await simRequest(sut, 'POST', CM, {
      body: { metadata: { name: 'c1' }, data: { a: '1' } },
    });
    expect(created.status).toBe(201);
    expect(created.body.metadata.generation).toBeUndefined();
    const dup = await simRequest(sut, 'POST', CM, { body: { metadata: { name: 'c1' } } });
    expect(dup.body).toMatchObject({
      code: 409,
      reason: 'AlreadyExists',
      message: 'configmaps "c1" already exists',
      details: { name: 'c1', kind: 'configmaps' },
    });
    const stale = await simRequest(sut, 'PUT', `${CM}/c1`, {
      body: { metadata: { name: 'c1', resourceVersion: '1' }, data: {} },
    });
    expect(stale.body).toMatchObject({
      code: 409,
      reason: 'Conflict',
      message:
        'Operation cannot be fulfilled on configmaps "c1": the object has been modified; please apply your changes to the latest version and try again',
    });
  });

  it('rejects invalid names with 422 and field causes, and generates names', async () => {
    const bad = await simRequest(sut, 'POST', CM, { body: { metadata: { name: 'Bad_Name' } } });
    expect(bad.status).toBe(422);
    expect(bad.body.message).toMatch(
      /^ConfigMap "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
    );
    expect(bad.body.details.causes[0]).toMatchObject({
      reason: 'FieldValueInvalid',
      field: 'metadata.name',
    });
    const none = await simRequest(sut, 'POST', CM, { body: { metadata: {} } });
    expect(none.body.message).toContain(
      'metadata.name: Required value: name or generateName is required',
    );
    const gen = await simRequest(sut, 'POST', CM, { body: { metadata: { generateName: 'job-' } } });
    expect(gen.body.metadata.name).toMatch(/^job-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    const withRv = await simRequest(sut, 'POST', CM, {
      body: { metadata: { name: 'rv', resourceVersion: '5' } },
    });
    expect(withRv.status).toBe(500);
    expect(withRv.body.message).toBe('resourceVersion should not be set on objects to be created');
  });

  it('does not write a no-op update', async () => {
    const cur = await simRequest(sut, 'GET', `${CM}/c1`);
    const put = await simRequest(sut, 'PUT', `${CM}/c1`, { body: cur.body });
    expect(put.body.metadata.resourceVersion).toBe(cur.body.metadata.resourceVersion);
  });

  it('bumps Deployment generation on spec or annotation changes, never on status writes', async () => {
    const dep = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'g1', annotations: { 'kube-sim.gitfleet.dev/never-observe': '' } },
      spec: {
        selector: { matchLabels: { app: 'g' } },
        template: {
          metadata: { labels: { app: 'g' } },
          spec: { containers: [{ name: 'c', image: 'x' }] },
        },
      },
    };
    const path = '/apis/apps/v1/namespaces/default/deployments/g1';
    const created = await simApply(sut, path, dep);
    expect(created.body.metadata.generation).toBe(1);
    expect(created.body.spec).toMatchObject({
      replicas: 1,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      strategy: {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
      },
    });
    const ann = await simRequest(sut, 'PATCH', path, {
      body: { metadata: { annotations: { a: 'b' } } },
      contentType: 'application/merge-patch+json',
    });
    expect(ann.body.metadata.generation).toBe(2);
    const label = await simRequest(sut, 'PATCH', path, {
      body: { metadata: { labels: { a: 'b' } } },
      contentType: 'application/merge-patch+json',
    });
    expect(label.body.metadata.generation).toBe(2);
    const status = await simRequest(sut, 'PATCH', `${path}/status`, {
      body: { status: { replicas: 5 } },
      contentType: 'application/merge-patch+json',
    });
    expect(status.body.metadata.generation).toBe(2);
    expect(status.body.status.replicas).toBe(5);
    const mainStatus = await simRequest(sut, 'PATCH', path, {
      body: { status: { replicas: 9 } },
      contentType: 'application/merge-patch+json',
    });
    expect(mainStatus.body.status.replicas).toBe(5);
    const immut = await simRequest(sut, 'PATCH', path, {
      body: {
        spec: {
          selector: { matchLabels: { app: 'h' } },
          template: { metadata: { labels: { app: 'h' } } },
        },
      },
      contentType: 'application/merge-patch+json',
    });
    expect(immut.status).toBe(422);
    expect(immut.body.details.causes).toContainEqual(
      expect.objectContaining({
        field: 'spec.selector',
        message: expect.stringContaining('field is immutable'),
      }),
    );
  });

  it('answers a merge-shaped body sent as json-patch with 400 and applies RFC 6902 ops', async () => {
    const bad = await simRequest(sut, 'PATCH', `${CM}/c1`, {
      body: { data: { a: '2' } },
      contentType: 'application/json-patch+json',
    });
    expect(bad.status).toBe(400);
    const ok = await simRequest(sut, 'PATCH', `${CM}/c1`, {
      body: [
        { op: 'replace', path: '/data/a', value: '2' },
        { op: 'add', path: '/data/b~1c', value: '3' },
      ],
      contentType: 'application/json-patch+json',
    });
    expect(ok.body.data).toEqual({ a: '2', 'b/c': '3' });
    const failedTest = await simRequest(sut, 'PATCH', `${CM}/c1`, {
      body: [{ op: 'test', path: '/data/a', value: 'x' }],
      contentType: 'application/json-patch+json',
    });
    expect(failedTest.status).toBe(422);
    const unknownType = await simRequest(sut, 'PATCH', `${CM}/c1`, {
      body: {},
      contentType: 'text/plain',
    });
    expect(unknownType.status).toBe(415);
  });

  it('merges containers by name in a strategic merge patch and honours $patch: delete', async () => {
    const path = '/apis/apps/v1/namespaces/default/deployments/g1';
    const res = await simRequest(sut, 'PATCH', path, {
      body: {
        spec: {
          template: {
            spec: {
              containers: [
                { name: 'c', image: 'y' },
                { name: 'd', image: 'z' },
              ],
            },
          },
        },
      },
      contentType: 'application/strategic-merge-patch+json',
    });
    expect(
      list(res.body.spec.template.spec.containers).map((c) => `${str(c.name)}=${str(c.image)}`),
    ).toEqual(['c=y', 'd=z']);
    const del = await simRequest(sut, 'PATCH', path, {
      body: { spec: { template: { spec: { containers: [{ name: 'd', $patch: 'delete' }] } } } },
      contentType: 'application/strategic-merge-patch+json',
    });
    expect(del.body.spec.template.spec.containers).toHaveLength(1);
  });

  it('keeps objects with finalizers visible until the last finalizer is removed', async () => {
    await simRequest(sut, 'POST', CM, {
      body: { metadata: { name: 'fin', finalizers: ['example.com/hold'] } },
    });
    const del = await simRequest(sut, 'DELETE', `${CM}/fin`);
    expect(del.status).toBe(200);
    expect(del.body.metadata.deletionTimestamp).toBeTruthy();
    const add = await simRequest(sut, 'PATCH', `${CM}/fin`, {
      body: { metadata: { finalizers: ['example.com/hold', 'example.com/more'] } },
      contentType: 'application/merge-patch+json',
    });
    expect(add.status).toBe(422);
    expect(add.body.message).toContain(
      'no new finalizers can be added if the object is being deleted, found new finalizers []string{"example.com/more"}',
    );
    const clear = await simRequest(sut, 'PATCH', `${CM}/fin`, {
      body: { metadata: { finalizers: null } },
      contentType: 'application/merge-patch+json',
    });
    expect(clear.status).toBe(200);
    expect((await simRequest(sut, 'GET', `${CM}/fin`)).status).toBe(404);
  });

  it('deletes with a Success Status, or the object for pods/serviceaccounts', async () => {
    await simRequest(sut, 'POST', CM, { body: { metadata: { name: 'gone' } } });
    const del = await simRequest(sut, 'DELETE', `${CM}/gone`);
    expect(del.body).toMatchObject({
      kind: 'Status',
      status: 'Success',
      details: { name: 'gone', kind: 'configmaps' },
    });
    await simRequest(sut, 'POST', '/api/v1/namespaces/default/serviceaccounts', {
      body: { metadata: { name: 'sa1' } },
    });
    const sa = await simRequest(sut, 'DELETE', '/api/v1/namespaces/default/serviceaccounts/sa1');
    expect(sa.body.kind).toBe('ServiceAccount');
  });

  it('orphans a Job deleted without propagationPolicy and warns', async () => {
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'j1' },
      spec: {
        template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x' }] } },
      },
    };
    await simRequest(sut, 'POST', '/apis/batch/v1/namespaces/default/jobs', { body: job });
    const del = await simRequest(sut, 'DELETE', '/apis/batch/v1/namespaces/default/jobs/j1');
    expect(str(del.headers.warning)).toContain(
      'child pods are preserved by default when jobs are deleted',
    );
    expect(del.body.metadata.finalizers).toContain('orphan');
    await until(
      async () =>
        (await simRequest(sut, 'GET', '/apis/batch/v1/namespaces/default/jobs/j1')).status === 404,
    );
  });

  it('garbage-collects dependents of a deleted owner in the background', async () => {
    const owner = await simRequest(sut, 'POST', CM, { body: { metadata: { name: 'owner' } } });
    await simRequest(sut, 'POST', CM, {
      body: {
        metadata: {
          name: 'dep',
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.body.metadata.uid },
          ],
        },
      },
    });
    await simRequest(sut, 'DELETE', `${CM}/owner`);
    await until(async () => (await simRequest(sut, 'GET', `${CM}/dep`)).status === 404);
  });

  it('takes a namespace through Terminating, blocking creates, until its content is gone', async () => {
    await simRequest(sut, 'POST', '/api/v1/namespaces', { body: { metadata: { name: 'doomed' } } });
    await simRequest(sut, 'POST', '/api/v1/namespaces/doomed/configmaps', {
      body: { metadata: { name: 'stuck', finalizers: ['example.com/hold'] } },
    });
    const del = await simRequest(sut, 'DELETE', '/api/v1/namespaces/doomed');
    expect(del.body.status.phase).toBe('Terminating');
    const create = await simRequest(sut, 'POST', '/api/v1/namespaces/doomed/configmaps', {
      body: { metadata: { name: 'late' } },
    });
    expect(create.status).toBe(403);
    expect(create.body.message).toContain(
      'unable to create new content in namespace doomed because it is being terminated',
    );
    await until(async () => {
      const ns = await simRequest(sut, 'GET', '/api/v1/namespaces/doomed');
      return JSON.stringify(ns.body.status.conditions ?? []).includes('SomeFinalizersRemain');
    });
    await simRequest(sut, 'PATCH', '/api/v1/namespaces/doomed/configmaps/stuck', {
      body: { metadata: { finalizers: null } },
      contentType: 'application/merge-patch+json',
    });
    await until(
      async () => (await simRequest(sut, 'GET', '/api/v1/namespaces/doomed')).status === 404,
    );
  });

  it('filters lists by label and field selectors, omits item kinds and paginates', async () => {
    for (const [name, tier] of [
      ['l1', 'web'],
      ['l2', 'db'],
      ['l3', 'web'],
    ]) {
      await simRequest(sut, 'POST', '/api/v1/namespaces', {
        body: { metadata: { name: `ns-${name}` } },
      });
      await simRequest(sut, 'POST', `/api/v1/namespaces/ns-${name}/configmaps`, {
        body: { metadata: { name, labels: { tier } } },
      });
    }
    const web = await simRequest(sut, 'GET', '/api/v1/configmaps?labelSelector=tier%3Dweb');
    expect(itemsOf(web).map((i) => i.metadata.name)).toEqual(['l1', 'l3']);
    expect(web.body.kind).toBe('ConfigMapList');
    expect(itemsOf(web)[0].kind).toBeUndefined();
    const notin = await simRequest(
      sut,
      'GET',
      '/api/v1/namespaces/ns-l2/configmaps?labelSelector=tier%20notin%20(web)',
    );
    expect(
      itemsOf(notin)
        .map((i) => i.metadata.name)
        .sort(),
    ).toEqual(['kube-root-ca.crt', 'l2']);
    const byName = await simRequest(
      sut,
      'GET',
      '/api/v1/configmaps?fieldSelector=metadata.name%3Dl3',
    );
    expect(itemsOf(byName)).toHaveLength(1);
    const badField = await simRequest(sut, 'GET', '/api/v1/configmaps?fieldSelector=spec.foo%3Dx');
    expect(badField.body).toMatchObject({
      code: 400,
      message: 'field label not supported: spec.foo',
    });
    const badLabel = await simRequest(sut, 'GET', '/api/v1/configmaps?labelSelector=a%20in%20b');
    expect(badLabel.status).toBe(400);
    const page1 = await simRequest(sut, 'GET', '/api/v1/configmaps?limit=2');
    expect(itemsOf(page1)).toHaveLength(2);
    expect(page1.body.metadata.continue).toBeTruthy();
    const seen = itemsOf(page1).map((i) => `${str(i.metadata.namespace)}/${str(i.metadata.name)}`);
    let token = page1.body.metadata.continue as unknown as string | undefined;
    while (token) {
      const page = await simRequest(sut, 'GET', `/api/v1/configmaps?limit=2&continue=${token}`);
      seen.push(
        ...itemsOf(page).map((i) => `${str(i.metadata.namespace)}/${str(i.metadata.name)}`),
      );
      token = page.body.metadata.continue as unknown as string | undefined;
    }
    const all = await simRequest(sut, 'GET', '/api/v1/configmaps');
    expect(seen).toEqual(
      itemsOf(all).map((i) => `${str(i.metadata.namespace)}/${str(i.metadata.name)}`),
    );
    await simRequest(sut, 'POST', CM, { body: { metadata: { name: 'bump' } } });
    sut.compactHistory();
    const expired = await simRequest(
      sut,
      'GET',
      `/api/v1/configmaps?limit=2&continue=${str(page1.body.metadata.continue)}`,
    );
    expect(expired.body).toMatchObject({ code: 410, reason: 'Expired' });
  });

  it('serves discovery and the OpenAPI v3 fieldValidation probe', async () => {
    const version = await simRequest(sut, 'GET', '/version', { token: null });
    expect(version.body).toMatchObject({ major: '1', minor: '34' });
    const apis = await simRequest(sut, 'GET', '/apis');
    expect(apis.headers['content-type']).toBe('application/json');
    expect(apis.body.groups).toContainEqual(expect.objectContaining({ name: 'apps' }));
    const apps = await simRequest(sut, 'GET', '/apis/apps/v1');
    expect(apps.body.resources).toContainEqual(
      expect.objectContaining({
        name: 'deployments',
        kind: 'Deployment',
        namespaced: true,
        shortNames: ['deploy'],
      }),
    );
    expect(apps.body.resources).toContainEqual(
      expect.objectContaining({ name: 'deployments/status', verbs: ['get', 'patch', 'update'] }),
    );
    const root = await simRequest(sut, 'GET', '/openapi/v3');
    const url = root.body.paths['apis/apps/v1'].serverRelativeURL as unknown as string;
    const doc = await simRequest(sut, 'GET', url);
    const patch = doc.body.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch;
    expect(patch['x-kubernetes-group-version-kind']).toEqual({
      group: 'apps',
      version: 'v1',
      kind: 'Deployment',
    });
    expect(patch.parameters).toContainEqual(expect.objectContaining({ name: 'fieldValidation' }));
    expect((await simRequest(sut, 'GET', '/apis/nope/v1')).status).toBe(404);
  });
});
