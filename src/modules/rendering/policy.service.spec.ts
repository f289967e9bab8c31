import { describe, expect, it } from 'vitest';
import { makeObject, makePolicyService } from 'test/fixtures/rendering/rendering.factory';
import { PolicyViolationError } from './rendering.errors';
import type { KubeObject } from './rendering.types';
import { type PolicyGrant, RELEASE_LABEL, TENANT_LABEL } from './policy.service';

const grant: PolicyGrant = {
  namespaces: ['team-a', 'team-a-jobs'],
  clusterScopedKinds: [],
  targetNamespace: 'team-a',
};
const owner = { tenant: 'team-a', release: 'web' };

function violationsOf(fn: () => unknown): PolicyViolationError {
  try {
    fn();
  } catch (error) {
    if (error instanceof PolicyViolationError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected a PolicyViolationError');
}

const clusterRole = (name = 'reader'): KubeObject => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: { name },
});

describe('PolicyService', () => {
  const sut = makePolicyService();

  it('defaults the namespace, adds ownership labels and leaves the input untouched', () => {
    const input = [
      makeObject({ metadata: { name: 'cfg', labels: { app: 'web', [TENANT_LABEL]: 'spoofed' } } }),
    ];
    const { objects } = sut.check(input, grant, { owner });
    expect(objects[0]?.metadata).toEqual({
      name: 'cfg',
      namespace: 'team-a',
      labels: { app: 'web', [TENANT_LABEL]: 'team-a', [RELEASE_LABEL]: 'web' },
    });
    expect(input[0]?.metadata.namespace).toBeUndefined();
  });

  it('refuses the whole set when one object is in a namespace outside the grant', () => {
    const error = violationsOf(() =>
      sut.check(
        [makeObject({ name: 'ok' }), makeObject({ name: 'bad', namespace: 'kube-system' })],
        grant,
        { owner },
      ),
    );
    expect(error.code).toBe('PolicyViolation');
    expect(error.violations).toEqual([
      {
        object: 'ConfigMap kube-system/bad',
        message: 'namespace "kube-system" is not granted to the tenant',
      },
    ]);
  });

  it('refuses cluster-scoped kinds (ClusterRole, ClusterRoleBinding, CRD-defined) without permission', () => {
    const crd: KubeObject = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Cluster',
        names: { kind: 'Widget', plural: 'widgets' },
      },
    };
    const widget: KubeObject = {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w' },
    };
    const binding: KubeObject = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'escalate' },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'cluster-admin',
      },
    };
    const error = violationsOf(() =>
      sut.check([clusterRole(), binding, crd, widget], grant, { owner }),
    );
    expect(error.violations.map((v) => v.object)).toEqual([
      'rbac.authorization.k8s.io/ClusterRole reader',
      'rbac.authorization.k8s.io/ClusterRoleBinding escalate',
      'apiextensions.k8s.io/CustomResourceDefinition widgets.example.com',
      'example.com/Widget w',
    ]);
    expect(error.violations.map((v) => v.message)).toEqual([
      'is cluster-scoped and kind "rbac.authorization.k8s.io/ClusterRole" is not in the grant\'s clusterScopedKinds',
      'is cluster-scoped and kind "rbac.authorization.k8s.io/ClusterRoleBinding" is not in the grant\'s clusterScopedKinds',
      'is cluster-scoped and kind "apiextensions.k8s.io/CustomResourceDefinition" is not in the grant\'s clusterScopedKinds',
      'is cluster-scoped and kind "example.com/Widget" is not in the grant\'s clusterScopedKinds',
    ]);
  });

  it('allows exactly the cluster-scoped kinds the grant lists, and names the one refused', () => {
    const kinds = {
      ...grant,
      clusterScopedKinds: ['rbac.authorization.k8s.io/ClusterRole', 'PersistentVolume'],
    };
    const pv: KubeObject = { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pv' } };
    const binding: KubeObject = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'b' },
    };
    expect(sut.check([clusterRole(), pv], kinds, { owner }).objects).toHaveLength(2);
    const error = violationsOf(() => sut.check([clusterRole(), pv, binding], kinds, { owner }));
    expect(error.violations).toEqual([
      {
        object: 'rbac.authorization.k8s.io/ClusterRoleBinding b',
        message:
          'is cluster-scoped and kind "rbac.authorization.k8s.io/ClusterRoleBinding" is not in the grant\'s clusterScopedKinds',
      },
    ]);
  });

  it('uses the scope resolver for kinds defined on the cluster', () => {
    const node = { apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g' } };
    expect(() => sut.check([node], grant, { owner, resolveScope: () => 'Cluster' })).toThrow(
      PolicyViolationError,
    );
    expect(sut.check([node], grant, { owner }).objects[0]?.metadata.namespace).toBe('team-a');
  });

  it('allows cluster-scoped kinds with permission and drops their namespace', () => {
    const { objects } = sut.check(
      [{ ...clusterRole(), metadata: { name: 'r', namespace: 'team-a' } }],
      { ...grant, clusterScopedKinds: ['rbac.authorization.k8s.io/ClusterRole'] },
      { owner },
    );
    expect(objects[0]?.metadata.namespace).toBeUndefined();
  });

  it('allows a Namespace object only when it is a granted namespace', () => {
    const ns = (name: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name },
    });
    const labelled = { ...ns('team-a'), metadata: { name: 'team-a', labels: { env: 'prod' } } };
    expect(sut.check([labelled], grant, { owner }).objects[0]?.metadata.labels).toMatchObject({
      env: 'prod',
    });
    // Listing kinds never lets in a namespace the grant does not hold.
    const wide = { ...grant, clusterScopedKinds: ['rbac.authorization.k8s.io/ClusterRole'] };
    expect(violationsOf(() => sut.check([ns('other')], wide, { owner })).violations).toEqual([
      {
        object: 'Namespace other',
        message:
          'namespace "other" is not granted to the tenant on this cluster (the grant\'s namespaces are "team-a", "team-a-jobs")',
      },
    ]);
  });

  it('refuses duplicates (same group, kind, namespace, name), defaulted namespaces included', () => {
    const error = violationsOf(() =>
      sut.check(
        [
          makeObject({ name: 'a' }),
          makeObject({ name: 'a', namespace: 'team-a' }),
          makeObject({ name: 'a', namespace: 'team-a-jobs' }),
        ],
        grant,
        { owner },
      ),
    );
    expect(error.violations).toEqual([
      { object: 'ConfigMap team-a/a', message: 'is a duplicate of object #1' },
    ]);
  });

  it('refuses objects without apiVersion, kind or name, listing every violation in one error', () => {
    const objects = [
      { kind: 'ConfigMap', metadata: { name: 'a' } },
      { apiVersion: 'v1', metadata: { name: 'b' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'X_' } },
    ] as unknown as KubeObject[];
    const error = violationsOf(() => sut.check(objects, grant, { owner }));
    expect(error.violations).toEqual([
      { object: 'object #1', message: 'has no apiVersion' },
      { object: 'object #2', message: 'has no kind' },
      {
        object: 'ConfigMap (object #3)',
        message: 'has no metadata.name (nor metadata.generateName)',
      },
      { object: 'ConfigMap (object #4)', message: 'has an invalid metadata.generateName' },
    ]);
    expect(error.message).toMatch(/^4 policy violation\(s\): object #1: has no apiVersion; /);
  });

  it('admits objects named by generateName, two of one prefix, labelled and namespaced', () => {
    const job = (): KubeObject => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { generateName: 'migrate-' },
      spec: {},
    });
    const { objects } = sut.check([job(), job()], grant, { owner });
    expect(objects).toHaveLength(2);
    for (const o of objects) {
      expect(o.metadata.name).toBeUndefined();
      expect(o.metadata.generateName).toBe('migrate-');
      expect(o.metadata.namespace).toBe(grant.targetNamespace);
      expect(o.metadata.labels).toMatchObject({ [TENANT_LABEL]: owner.tenant });
    }
  });

  it('lists at most 20 violations and counts the rest', () => {
    const objects = Array.from({ length: 25 }, (_, i) =>
      makeObject({ name: `c${i}`, namespace: 'elsewhere' }),
    );
    const error = violationsOf(() => sut.check(objects, grant, { owner }));
    expect(error.violations).toHaveLength(20);
    expect(error.totalViolations).toBe(25);
    expect(error.message).toMatch(/; and 5 more$/);
  });

  it('refuses invalid ownership label values', () => {
    expect(() => sut.check([], grant, { owner: { tenant: 'team a', release: 'web' } })).toThrow(
      expect.objectContaining({ code: 'InvalidInput' }),
    );
    expect(() =>
      sut.check([], grant, { owner: { tenant: 'team-a', release: 'x'.repeat(64) } }),
    ).toThrow(expect.objectContaining({ code: 'InvalidInput' }));
  });

  it('returns objects in apply order: CRDs, Namespaces, then the rest, webhooks last', () => {
    const objects: KubeObject[] = [
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingWebhookConfiguration',
        metadata: { name: 'vwc' },
      },
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' } },
      { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1' } },
      makeObject({ name: 'cfg' }),
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } },
      { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w0' } },
      clusterRole(),
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa' } },
      {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'widgets.example.com' },
        spec: { group: 'example.com', scope: 'Namespaced', names: { kind: 'Widget' } },
      },
    ];
    const sorted = sut.check(
      objects,
      {
        ...grant,
        clusterScopedKinds: [
          'rbac.authorization.k8s.io/ClusterRole',
          'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
          'apiextensions.k8s.io/CustomResourceDefinition',
        ],
      },
      { owner },
    ).objects;
    expect(sorted.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'CustomResourceDefinition/widgets.example.com',
      'Namespace/team-a',
      'ServiceAccount/sa',
      'ConfigMap/cfg',
      'ClusterRole/reader',
      'Deployment/web',
      'Widget/w1',
      'Widget/w0',
      'ValidatingWebhookConfiguration/vwc',
    ]);
  });
});
