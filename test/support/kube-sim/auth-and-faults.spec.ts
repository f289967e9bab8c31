import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimCluster } from 'test/support/kube-sim/cluster';
import { simRequest } from 'test/support/kube-sim/http-client';
import { KubeSim } from 'test/support/kube-sim/index';

const RBAC = '/apis/rbac.authorization.k8s.io/v1';

describe('authentication, RBAC and impersonation', () => {
  let sim: KubeSim;
  let sut: SimCluster;

  beforeAll(async () => {
    sim = await KubeSim.start();
    sut = await sim.addCluster();
    sut.seed(
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'cm-reader', namespace: 'default' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'alice-reads', namespace: 'default' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm-reader' },
        subjects: [{ kind: 'User', name: 'alice' }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'impersonate-deployer' },
        rules: [
          {
            apiGroups: [''],
            resources: ['serviceaccounts'],
            verbs: ['impersonate'],
            resourceNames: ['deployer'],
          },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'alice-impersonates' },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'impersonate-deployer',
        },
        subjects: [{ kind: 'User', name: 'alice' }],
      },
    );
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('rejects unknown bearer tokens with 401', async () => {
    const res = await simRequest(sut, 'GET', '/api/v1/namespaces', { token: 'nope' });
    expect(res.body).toMatchObject({ code: 401, reason: 'Unauthorized', message: 'Unauthorized' });
  });

  it('denies with Kubernetes 403 messages and allows what a RoleBinding grants', async () => {
    const token = sut.createToken({ user: 'alice' });
    const ok = await simRequest(sut, 'GET', '/api/v1/namespaces/default/configmaps', { token });
    expect(ok.status).toBe(200);
    const other = await simRequest(sut, 'GET', '/api/v1/namespaces/kube-system/configmaps/x', {
      token,
    });
    expect(other.body).toMatchObject({
      code: 403,
      reason: 'Forbidden',
      message:
        'configmaps "x" is forbidden: User "alice" cannot get resource "configmaps" in API group "" in the namespace "kube-system"',
      details: { name: 'x', kind: 'configmaps' },
    });
    const cluster = await simRequest(sut, 'GET', '/apis/apps/v1/deployments', { token });
    expect(cluster.body.message).toBe(
      'deployments.apps is forbidden: User "alice" cannot list resource "deployments" in API group "apps" at the cluster scope',
    );
    expect((await simRequest(sut, 'GET', '/apis', { token })).status).toBe(200);
    expect((await simRequest(sut, 'GET', '/apis', { token: null })).status).toBe(403);
    expect((await simRequest(sut, 'GET', '/version', { token: null })).status).toBe(200);
  });

  it('checks impersonation against the impersonate verb and gives service accounts their groups', async () => {
    const token = sut.createToken({ user: 'alice' });
    const denied = await simRequest(sut, 'GET', '/api/v1/namespaces', {
      token,
      headers: { 'Impersonate-User': 'bob' },
    });
    expect(denied.body.message).toBe(
      'users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope',
    );
    const sa = 'system:serviceaccount:default:deployer';
    const review = await simRequest(
      sut,
      'POST',
      '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      {
        token,
        headers: { 'Impersonate-User': sa },
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      },
    );
    expect(review.status).toBe(201);
    expect(review.body.status.userInfo).toEqual({
      username: sa,
      groups: ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated'],
    });
    const groupsOnly = await simRequest(sut, 'GET', '/api/v1/namespaces', {
      headers: { 'Impersonate-Group': 'x' },
    });
    expect(groupsOnly.status).toBe(400);
    const log = sut.requestLog.filter((e) => e.impersonatedUser === sa);
    expect(log[0]).toMatchObject({ user: 'alice', verb: 'create', resource: 'selfsubjectreviews' });
  });

  it('answers SelfSubjectAccessReview for the (impersonated) caller', async () => {
    const ssar = (
      verb: string,
      headers: Record<string, string> = {},
    ): Promise<{ body: { status: { allowed: boolean } } }> =>
      simRequest(sut, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
        headers,
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { namespace: 'default', verb, resource: 'configmaps' } },
        },
      }) as unknown as Promise<{ body: { status: { allowed: boolean } } }>;
    expect((await ssar('delete')).body.status.allowed).toBe(true);
    expect((await ssar('list', { 'Impersonate-User': 'alice' })).body.status.allowed).toBe(true);
    expect((await ssar('delete', { 'Impersonate-User': 'alice' })).body.status.allowed).toBe(false);
  });

  it('authenticates service account tokens and client certificates', async () => {
    const saToken = sut.serviceAccountToken('default', 'deployer');
    const who = await simRequest(sut, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      token: saToken,
      body: {},
    });
    expect(who.body.status.userInfo.username).toBe('system:serviceaccount:default:deployer');
    const cert = await sut.createClientCert({
      user: 'kubernetes-admin',
      groups: ['system:masters'],
    });
    const res = await simRequest(sut, 'GET', '/api/v1/namespaces/kube-system/secrets', {
      cert,
      token: null,
    });
    expect(res.status).toBe(200);
    expect(sut.requestLog.at(-1)?.user).toBe('kubernetes-admin');
  });

  it('checks create on an apply that creates', async () => {
    const token = sut.createToken({ user: 'patcher' });
    sut.seed(
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'patch-cm' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['patch'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'patcher' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'patch-cm' },
        subjects: [{ kind: 'User', name: 'patcher' }],
      },
    );
    const res = await simRequest(
      sut,
      'PATCH',
      '/api/v1/namespaces/default/configmaps/new?fieldManager=p',
      {
        token,
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'new' } },
        contentType: 'application/apply-patch+yaml',
      },
    );
    expect(res.status).toBe(403);
    expect(res.body.message).toContain('cannot create resource "configmaps"');
    expect((await simRequest(sut, 'GET', `${RBAC}/clusterroles/view`)).status).toBe(200);
  });
});

describe('fault injection and request accounting', () => {
  let sim: KubeSim;
  let sut: SimCluster;

  beforeAll(async () => {
    sim = await KubeSim.start();
    sut = await sim.addCluster();
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('answers 429 as plain text with Retry-After, and 500/503 as Status', async () => {
    await sut.faults.set({ errorRate: { code: 429, rate: 1, retryAfterSeconds: 3 } });
    const tooMany = await simRequest(sut, 'GET', '/api/v1/namespaces');
    expect(tooMany.status).toBe(429);
    expect(tooMany.headers['retry-after']).toBe('3');
    expect(tooMany.headers['content-type']).toContain('text/plain');
    expect(tooMany.text).toContain('Too many requests, please try again later.');
    await sut.faults.set({ errorRate: { code: 503, rate: 1 } });
    expect((await simRequest(sut, 'GET', '/api/v1/namespaces')).body).toMatchObject({
      kind: 'Status',
      code: 503,
    });
    await sut.faults.set({ errorRate: { code: 500, rate: 1, verbs: ['create'] } });
    expect((await simRequest(sut, 'GET', '/api/v1/namespaces')).status).toBe(200);
    expect(
      (
        await simRequest(sut, 'POST', '/api/v1/namespaces/default/configmaps', {
          body: { metadata: { name: 'x' } },
        })
      ).status,
    ).toBe(500);
    await sut.faults.clear();
  });

  it('adds latency', async () => {
    await sut.faults.set({ latencyMs: 150 });
    const started = Date.now();
    await simRequest(sut, 'GET', '/version');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    await sut.faults.clear();
  });

  it('drops connections', async () => {
    await sut.faults.set({ dropConnections: true });
    await expect(simRequest(sut, 'GET', '/version')).rejects.toThrow();
    await sut.faults.clear();
    expect((await simRequest(sut, 'GET', '/version')).status).toBe(200);
  });

  it('makes a cluster unreachable and reachable again on the same port', async () => {
    const port = sut.port;
    await sut.faults.set({ unreachable: true });
    const err = await simRequest(sut, 'GET', '/version').catch((e: NodeJS.ErrnoException) => e);
    expect((err as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    await sut.faults.set({ unreachable: false });
    expect(sut.port).toBe(port);
    expect((await simRequest(sut, 'GET', '/version')).status).toBe(200);
  });

  it('counts requests by verb and resource', async () => {
    sut.resetCounters();
    await simRequest(sut, 'GET', '/api/v1/namespaces/default/configmaps');
    await simRequest(sut, 'GET', '/api/v1/namespaces/default/configmaps/kube-root-ca.crt');
    await simRequest(sut, 'GET', '/apis/apps/v1/namespaces/default/deployments');
    const c = sut.counters();
    expect(c.total).toBe(3);
    expect(c.byVerbResource).toEqual({
      'list configmaps': 1,
      'get configmaps': 1,
      'list deployments.apps': 1,
    });
    expect(c.byVerb).toEqual({ list: 2, get: 1 });
    expect(sut.requestLog.map((e) => e.code)).toEqual([200, 200, 200]);
  });

  it('keeps idle keep-alive connections usable across requests', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: sut.ca.certPem });
    const get = (): Promise<number> =>
      new Promise((resolve, reject) => {
        https
          .get(
            {
              host: '127.0.0.1',
              port: sut.port,
              path: '/version',
              agent,
              headers: { Authorization: `Bearer ${sut.adminToken}` },
            },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          )
          .on('error', reject);
      });
    expect(await Promise.all([get(), get(), get()])).toEqual([200, 200, 200]);
    agent.destroy();
  });
});
