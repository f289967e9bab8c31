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

  it('aggregates labelled ClusterRoles into admin, edit and view at any depth', async () => {
    const rules = async (role: string): Promise<{ resources?: string[]; verbs: string[] }[]> => {
      const out = await kubectl.run('get', 'clusterrole', role, '-o', 'yaml');
      expect(out.code, out.stderr).toBe(0);
      return (
        (parse(out.stdout) as { rules?: { resources?: string[]; verbs: string[] }[] }).rules ?? []
      );
    };
    const has = (rs: { resources?: string[] }[], res: string): boolean =>
      rs.some((r) => r.resources?.includes(res));
    // The bootstrap roles carry the real default rules, folded together by the controller.
    expect(has(await rules('view'), 'deployments')).toBe(true);
    expect(has(await rules('edit'), 'secrets')).toBe(true);
    expect(has(await rules('admin'), 'rolebindings')).toBe(true);
    expect(has(await rules('view'), 'secrets')).toBe(false);
    const widgets = kubectl.file(
      'widgets-view.yaml',
      `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: widgets-view
  labels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}
rules:
- apiGroups: [example.com]
  resources: [widgets]
  verbs: [get, list, watch]
`,
    );
    expect((await kubectl.run('apply', '--server-side', '-f', widgets)).code).toBe(0);
    // view -> edit -> admin: three levels.
    for (const role of ['view', 'edit', 'admin']) {
      expect(has(await rules(role), 'widgets')).toBe(true);
    }
    const admin = await kubectl.run(
      'get',
      'clusterrole',
      'admin',
      '-o',
      'yaml',
      '--show-managed-fields',
    );
    expect(
      (parse(admin.stdout) as { metadata: { managedFields: { manager: string }[] } }).metadata
        .managedFields,
    ).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ manager: 'clusterrole-aggregation-controller' }),
      ]),
    );
    // A custom aggregated role aggregated into admin is followed as well.
    cluster.seed(
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: {
          name: 'gadgets-all',
          labels: { 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' },
        },
        aggregationRule: {
          clusterRoleSelectors: [
            { matchExpressions: [{ key: 'example.com/gadgets', operator: 'Exists' }] },
          ],
        },
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'gadgets-write', labels: { 'example.com/gadgets': 'write' } },
        rules: [{ apiGroups: ['example.com'], resources: ['gadgets'], verbs: ['create'] }],
      },
    );
    expect(has(await rules('gadgets-all'), 'gadgets')).toBe(true);
    expect(has(await rules('admin'), 'gadgets')).toBe(true);
    expect(has(await rules('edit'), 'gadgets')).toBe(false);
    // Removing a labelled role removes its rules again.
    expect((await kubectl.run('delete', 'clusterrole', 'widgets-view')).code).toBe(0);
    for (const role of ['view', 'edit', 'admin']) {
      expect(has(await rules(role), 'widgets')).toBe(false);
    }
  });

  it('authorizes a service account bound to admin as a real cluster does', async () => {
    cluster.seed(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns' } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'sa-admin', namespace: 'ns' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
        subjects: [{ kind: 'ServiceAccount', name: 'sa', namespace: 'ns' }],
      },
    );
    const canI = async (...args: string[]): Promise<string> =>
      (await kubectl.run('auth', 'can-i', '--as=system:serviceaccount:ns:sa', ...args)).stdout;
    for (const q of [
      ['create', 'deployments', '-n', 'ns'],
      ['patch', 'deployments.apps/scale', '-n', 'ns'],
      ['delete', 'secrets', '-n', 'ns'],
      ['create', 'rolebindings', '-n', 'ns'],
      ['create', 'horizontalpodautoscalers', '-n', 'ns'],
      ['list', 'poddisruptionbudgets', '-n', 'ns'],
      ['create', 'cronjobs', '-n', 'ns'],
      ['create', 'networkpolicies', '-n', 'ns'],
    ]) {
      expect({ q, a: await canI(...q) }).toEqual({ q, a: 'yes\n' });
    }
    for (const q of [
      ['create', 'deployments', '-n', 'default'],
      ['create', 'namespaces'],
      ['create', 'clusterroles'],
      ['create', 'resourcequotas', '-n', 'ns'],
      ['create', 'customresourcedefinitions'],
    ]) {
      expect({ q, a: await canI(...q) }).toEqual({ q, a: 'no\n' });
    }
  });

  it('serves autoscaling/v2 HorizontalPodAutoscalers to apply and get', async () => {
    const resources = await kubectl.run('api-resources', '--api-group=autoscaling');
    expect(resources.stdout).toMatch(
      /horizontalpodautoscalers\s+hpa\s+autoscaling\/v2\s+true\s+HorizontalPodAutoscaler/,
    );
    const hpa = kubectl.file(
      'hpa.yaml',
      `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
  namespace: default
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 5
  metrics:
  - type: Resource
    resource:
      name: cpu
      target: {type: Utilization, averageUtilization: 60}
`,
    );
    expect(await kubectl.run('apply', '-f', hpa)).toMatchObject({
      code: 0,
      stdout: 'horizontalpodautoscaler.autoscaling/web created\n',
    });
    expect((await kubectl.run('apply', '--server-side', '-f', hpa)).code).toBe(0);
    const get = await kubectl.run('get', 'hpa');
    expect(get.stdout).toMatch(/^NAME\s+AGE\nweb\s+/);
    const stored = cluster.getObject('autoscaling/v2', 'HorizontalPodAutoscaler', 'web');
    expect(stored?.spec).toMatchObject({ minReplicas: 1, maxReplicas: 5 });
    expect(stored?.metadata.generation).toBeUndefined();
    const bad = await kubectl.run(
      'apply',
      '--server-side',
      '-f',
      kubectl.file(
        'bad-hpa.yaml',
        'apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: bad, namespace: default}\nspec:\n  scaleTargetRef: {kind: Deployment, name: web}\n  minReplicas: 3\n  maxReplicas: 2\n',
      ),
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain(
      'spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`',
    );
  });

  it('scales Deployments, StatefulSets and ReplicaSets through the scale subresource', async () => {
    const sel = { matchLabels: { app: 'db' } };
    const template = {
      metadata: { labels: { app: 'db' } },
      spec: { containers: [{ name: 'db', image: 'postgres:17' }] },
    };
    cluster.seed(
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'db', namespace: 'default' },
        spec: { replicas: 1, serviceName: 'db', selector: sel, template },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: 'db-rs', namespace: 'default' },
        spec: { replicas: 1, selector: sel, template },
      },
    );
    expect(await kubectl.run('scale', 'deployment', 'web', '--replicas=3')).toMatchObject({
      code: 0,
      stdout: 'deployment.apps/web scaled\n',
    });
    const dep = cluster.getObject('apps/v1', 'Deployment', 'web');
    expect((dep?.spec as { replicas: number }).replicas).toBe(3);
    expect(dep?.metadata.managedFields).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          operation: 'Update',
          subresource: 'scale',
          fieldsV1: { 'f:spec': { 'f:replicas': {} } },
        }),
      ]),
    );
    const raw = await kubectl.run(
      'get',
      '--raw',
      '/apis/apps/v1/namespaces/default/deployments/web/scale',
    );
    expect(JSON.parse(raw.stdout)).toMatchObject({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: 'web', namespace: 'default', uid: dep?.metadata.uid },
      spec: { replicas: 3 },
      status: { selector: 'app=web' },
    });
    // --current-replicas makes kubectl read the Scale and PUT it back with its resourceVersion.
    expect(
      (await kubectl.run('scale', 'statefulset', 'db', '--current-replicas=1', '--replicas=2'))
        .stdout,
    ).toBe('statefulset.apps/db scaled\n');
    expect(
      (cluster.getObject('apps/v1', 'StatefulSet', 'db')?.spec as { replicas: number }).replicas,
    ).toBe(2);
    const stale = await kubectl.run(
      'scale',
      'statefulset',
      'db',
      '--current-replicas=1',
      '--replicas=4',
    );
    expect(stale.code).not.toBe(0);
    expect(stale.stderr).toContain('Expected replicas to be 1, was 2');
    // kubectl compares --resource-version with the Scale's (the server's own 409 is checked in
    // scale-and-aggregation.spec.ts); the controller may write status meanwhile, so no exact version.
    const staleRv = await kubectl.run(
      'scale',
      'statefulset',
      'db',
      '--resource-version=1',
      '--replicas=4',
    );
    expect(staleRv.stderr).toMatch(/^error: Expected resource version to be 1, was [1-9]\d+\n$/);
    expect(
      (cluster.getObject('apps/v1', 'StatefulSet', 'db')?.spec as { replicas: number }).replicas,
    ).toBe(2);
    expect((await kubectl.run('scale', 'rs', 'db-rs', '--replicas=0')).code).toBe(0);
    expect(
      (cluster.getObject('apps/v1', 'ReplicaSet', 'db-rs')?.spec as { replicas: number }).replicas,
    ).toBe(0);
    const neg = await kubectl.run('scale', 'deployment', 'web', '--replicas=-1');
    expect(neg.code).not.toBe(0);
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
