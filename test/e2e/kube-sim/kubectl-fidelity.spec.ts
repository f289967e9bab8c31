import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kubectl } from 'test/e2e/kube-sim/kubectl';
import type { SimCluster } from 'test/support/kube-sim/index';
import { KubeSim } from 'test/support/kube-sim/index';

const CONFIGMAP = `apiVersion: v1
kind: ConfigMap
metadata:
  name: demo
  namespace: default
data:
  greeting: hello
`;

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80}]
`;

describe('real kubectl against kube-sim', () => {
  let sim: KubeSim;
  let cluster: SimCluster;
  let kubectl: Kubectl;

  beforeAll(async () => {
    sim = await KubeSim.start({ readyAfterMs: 200 });
    cluster = await sim.addCluster({ name: 'fidelity' });
    kubectl = new Kubectl(cluster.kubeconfig());
  });
  afterAll(async () => {
    kubectl.dispose();
    await sim.stop();
  });

  it('creates and updates with apply --server-side', async () => {
    const f = kubectl.file('cm.yaml', CONFIGMAP);
    const create = await kubectl.run('apply', '--server-side', '-f', f);
    expect(create).toMatchObject({ code: 0, stdout: 'configmap/demo serverside-applied\n' });
    const patch = cluster.requestLog.find((e) => e.method === 'PATCH');
    expect(patch?.query).toContain('fieldManager=kubectl');
    expect(patch?.query).toContain('fieldValidation=Strict');
    const update = await kubectl.run(
      'apply',
      '--server-side',
      '-f',
      kubectl.file('cm2.yaml', CONFIGMAP.replace('hello', 'bonjour')),
    );
    expect(update.code).toBe(0);
    expect(cluster.getObject('v1', 'ConfigMap', 'demo')?.data).toEqual({ greeting: 'bonjour' });
    const dry = await kubectl.run(
      'apply',
      '--server-side',
      '--dry-run=server',
      '-f',
      kubectl.file('cm3.yaml', CONFIGMAP.replace('hello', 'dry')),
    );
    expect(dry.stdout).toBe('configmap/demo serverside-applied (server dry run)\n');
    expect(cluster.getObject('v1', 'ConfigMap', 'demo')?.data).toEqual({ greeting: 'bonjour' });
  });

  it('reports a conflict without --force-conflicts and takes ownership with it', async () => {
    const f = kubectl.file('other.yaml', CONFIGMAP.replace('hello', 'hola'));
    const conflict = await kubectl.run('apply', '--server-side', '--field-manager=other', '-f', f);
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toContain(
      'Apply failed with 1 conflict: conflict with "kubectl": .data.greeting',
    );
    const forced = await kubectl.run(
      'apply',
      '--server-side',
      '--field-manager=other',
      '--force-conflicts',
      '-f',
      f,
    );
    expect(forced.code).toBe(0);
    const yaml = await kubectl.run(
      'get',
      'configmap',
      'demo',
      '-o',
      'yaml',
      '--show-managed-fields',
    );
    const obj = parse(yaml.stdout) as {
      data: Record<string, string>;
      metadata: { managedFields: { manager: string; operation: string; fieldsV1: unknown }[] };
    };
    expect(obj.data).toEqual({ greeting: 'hola' });
    expect(obj.metadata.managedFields).toEqual([
      expect.objectContaining({
        manager: 'other',
        operation: 'Apply',
        fieldsV1: { 'f:data': { 'f:greeting': {} } },
      }),
    ]);
  });

  it('waits for a Deployment to become Available', async () => {
    expect(
      (await kubectl.run('apply', '--server-side', '-f', kubectl.file('dep.yaml', DEPLOYMENT)))
        .code,
    ).toBe(0);
    const wait = await kubectl.run(
      'wait',
      '--for=condition=Available',
      'deployment/web',
      '--timeout=20s',
    );
    expect(wait).toMatchObject({ code: 0, stdout: 'deployment.apps/web condition met\n' });
  });

  it('answers auth can-i for impersonated users', async () => {
    cluster.seed(
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'reader', namespace: 'default' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'bob-reads', namespace: 'default' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' },
        subjects: [{ kind: 'User', name: 'bob' }],
      },
    );
    const yes = await kubectl.run(
      'auth',
      'can-i',
      'list',
      'configmaps',
      '--as=bob',
      '-n',
      'default',
    );
    expect(yes).toMatchObject({ code: 0, stdout: 'yes\n' });
    const no = await kubectl.run(
      'auth',
      'can-i',
      'delete',
      'configmaps',
      '--as=bob',
      '-n',
      'default',
    );
    expect(no.stdout).toBe('no\n');
    expect(no.code).toBe(1);
    expect(
      cluster.requestLog.some(
        (e) => e.impersonatedUser === 'bob' && e.resource === 'selfsubjectaccessreviews',
      ),
    ).toBe(true);
  });

  it('ends get --watch on its request timeout, after printing live changes', async () => {
    const watching = kubectl.run('get', 'configmaps', '--watch', '--request-timeout=2s');
    await new Promise((r) => setTimeout(r, 700));
    cluster.seed({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'watched' } });
    const res = await watching;
    expect(res.stdout).toContain('demo');
    expect(res.stdout).toContain('watched');
  });

  it('deletes and reports it', async () => {
    const del = await kubectl.run('delete', 'configmap', 'demo');
    expect(del).toMatchObject({
      code: 0,
      stdout: 'configmap "demo" deleted from default namespace\n',
    });
    const get = await kubectl.run('get', 'configmap', 'demo');
    expect(get.stderr).toContain('configmaps "demo" not found');
  });
});
