import { describe, expect, it } from 'vitest';
import { makeObject, makePolicyService } from 'test/fixtures/rendering/rendering.factory';
import { PolicyViolationError } from './rendering.errors';
import type { KubeObject } from './rendering.types';
import { type PolicyGrant, RELEASE_LABEL, TENANT_LABEL } from './policy.service';

const grant: PolicyGrant = {
  namespaces: ['team-a', 'team-a-jobs'],
  allowClusterScoped: false,
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
    expect(error.violations[0]?.message).toBe(
      'is cluster-scoped and the grant does not allow cluster-scoped objects',
    );
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
      { ...grant, allowClusterScoped: true },
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
    expect(sut.check([ns('team-a')], grant, { owner }).objects).toHaveLength(1);
    expect(violationsOf(() => sut.check([ns('other')], grant, { owner })).violations).toHaveLength(
      1,
    );
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
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'x-' } },
    ] as unknown as KubeObject[];
    const error = violationsOf(() => sut.check(objects, grant, { owner }));
    expect(error.violations).toEqual([
      { object: 'object #1', message: 'has no apiVersion' },
      { object: 'object #2', message: 'has no kind' },
      { object: 'ConfigMap (object #3)', message: 'has no metadata.name' },
      { object: 'ConfigMap (object #4)', message: 'has no metadata.name' },
    ]);
    expect(error.message).toMatch(/^4 policy violation\(s\): object #1: has no apiVersion; /);
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
    const sorted = sut.check(objects, { ...grant, allowClusterScoped: true }, { owner }).objects;
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
