import { describe, expect, it } from 'vitest';
import { KubeError } from 'src/common/kube/kube.errors';
import { Reason } from 'src/modules/reconciler/conditions';
import type { ObjectError, ObjectRef } from 'src/modules/reconciler/kube/kube.types';
import { kubeErrorFailure, objectFailure, summarizeFailures } from './failure-messages';

const AS = { identity: 'system:serviceaccount:apps:deployer', cluster: 'prod-eu' };

const cm = (name: string, namespace = 'apps'): ObjectRef => ({
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  namespace,
  name,
});

const clusterRole: ObjectRef = {
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  kind: 'ClusterRole',
  name: 'view-x',
};

const forbidden = (
  ref: ObjectRef,
  verb: string,
  resource: string,
  dryRun = false,
): ObjectError => ({
  ref,
  code: 'Forbidden',
  message: `${verb} ${ref.kind} ${ref.name}: ${ref.kind} "${ref.name}" is forbidden`,
  request: { verb, resource, ...(dryRun ? { dryRun } : {}) },
});

describe('summarizeFailures', () => {
  it('counts the failures against the whole set and names each', () => {
    const sut = summarizeFailures(
      [
        { ref: cm('a'), text: 'boom' },
        { ref: cm('b'), text: 'bang' },
      ],
      40,
    );
    expect(sut).toBe('2 of 40 objects failed: ConfigMap/apps/a: boom; ConfigMap/apps/b: bang');
  });

  it('leaves whole entries out, says how many, and keeps the hint within the cap', () => {
    const lines = Array.from({ length: 40 }, (_, i) => ({
      ref: cm(`object-${i}`),
      text: 'the server refused this object for a reason of some length',
    }));
    const sut = summarizeFailures(lines, 40, { hint: 'do the thing', max: 500 });
    expect(sut.length).toBeLessThanOrEqual(500);
    expect(sut).toMatch(/^40 of 40 objects failed: ConfigMap\/apps\/object-0: the server/);
    const shown = (sut.match(/ConfigMap\/apps\//g) ?? []).length;
    expect(sut).toMatch(new RegExp(`; and ${40 - shown} more; do the thing$`));
    expect(sut).not.toContain('…');
  });

  it('cuts a single entry too long for the cap at a word, keeping count and hint', () => {
    const text = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
    const sut = summarizeFailures(
      [
        { ref: cm('a'), text },
        { ref: cm('b'), text: 'short' },
      ],
      2,
      { hint: 'the hint', max: 300 },
    );
    expect(sut.length).toBeLessThanOrEqual(300);
    expect(sut).toMatch(/ word\d+…; and 1 more; the hint$/);
  });

  it('says nothing about counts for a one-object set', () => {
    expect(summarizeFailures([{ ref: cm('a'), text: 'boom' }], 1)).toBe('ConfigMap/apps/a: boom');
  });
});

describe('objectFailure', () => {
  it('names verb, resource, namespace and identity of an RBAC refusal, with the grant hint', () => {
    const sut = objectFailure(
      [forbidden(cm('a'), 'patch', 'configmaps', true)],
      3,
      AS,
      Reason.ApplyFailed,
    );
    expect(sut).toEqual({
      reason: Reason.Forbidden,
      message:
        '1 of 3 objects failed: ConfigMap/apps/a: forbidden: system:serviceaccount:apps:deployer ' +
        'may not patch (dry-run) configmaps in namespace apps; ' +
        "check the tenant's grant on cluster prod-eu: the service account it is impersonated as " +
        'needs RBAC for this (a Role and RoleBinding in the namespace, a ClusterRole and ' +
        'ClusterRoleBinding for cluster-scoped kinds)',
    });
  });

  it('prints a cluster-scoped object without a namespace', () => {
    const sut = objectFailure(
      [forbidden(clusterRole, 'delete', 'clusterroles.rbac.authorization.k8s.io')],
      1,
      AS,
      Reason.PruneFailed,
    );
    expect(sut.reason).toBe(Reason.Forbidden);
    expect(sut.message).toMatch(
      /^ClusterRole\.rbac\.authorization\.k8s\.io\/view-x: forbidden: system:serviceaccount:apps:deployer may not delete clusterroles\.rbac\.authorization\.k8s\.io \(cluster-scoped\); /,
    );
    expect(sut.message).not.toMatch(/\/\/|default\/|\/ClusterRole/);
  });

  it('leads with the refusals when other failures are mixed in', () => {
    const sut = objectFailure(
      [
        { ref: cm('bad'), code: 'Invalid', message: 'apply ConfigMap bad: invalid' },
        forbidden(cm('locked', 'locked'), 'patch', 'configmaps'),
      ],
      5,
      AS,
      Reason.ApplyFailed,
    );
    expect(sut.reason).toBe(Reason.Forbidden);
    expect(sut.message).toMatch(
      /^2 of 5 objects failed: ConfigMap\/locked\/locked: forbidden: .*; ConfigMap\/apps\/bad: apply ConfigMap bad: invalid; check the tenant's grant/,
    );
  });

  it('says a kind with no REST mapping or a 404 for its resource is a missing CRD', () => {
    const cert: ObjectRef = {
      group: 'cert-manager.io',
      version: 'v1',
      kind: 'Certificate',
      namespace: 'apps',
      name: 'web',
    };
    for (const error of [
      { ref: cert, code: 'UnknownKind', message: 'the cluster does not serve Certificate' },
      {
        ref: cert,
        code: 'NotFound',
        message: 'apply Certificate web: the server could not find the requested resource',
      },
    ]) {
      expect(objectFailure([error], 1, AS, Reason.ValidationFailed)).toEqual({
        reason: Reason.MissingCustomResourceDefinition,
        message:
          'Certificate.cert-manager.io/apps/web: kind Certificate of cert-manager.io/v1 is not ' +
          'served by the cluster; install its CustomResourceDefinition first, or add dependsOn ' +
          'on the release that installs it',
      });
    }
  });

  it('keeps the fallback reason and the cluster messages for other failures', () => {
    const sut = objectFailure(
      [{ ref: cm('a'), code: 'NotFound', message: 'configmaps "a" not found' }],
      1,
      AS,
      Reason.ApplyFailed,
    );
    expect(sut).toEqual({
      reason: Reason.ApplyFailed,
      message: 'ConfigMap/apps/a: configmaps "a" not found',
    });
  });
});

describe('kubeErrorFailure', () => {
  it('turns a 403 from a read into Forbidden naming the verb and resource', () => {
    const error = new KubeError('Forbidden', 'get Deployment web: forbidden', {
      httpStatus: 403,
      request: { verb: 'get', resource: 'deployments.apps' },
    });
    const sut = kubeErrorFailure(error, AS);
    expect(sut?.reason).toBe(Reason.Forbidden);
    expect(sut?.message).toMatch(
      /^forbidden: system:serviceaccount:apps:deployer may not get deployments\.apps; check the tenant's grant on cluster prod-eu/,
    );
  });

  it('leaves other errors to the caller', () => {
    expect(kubeErrorFailure(new KubeError('Unreachable', 'cannot reach'), AS)).toBeUndefined();
    expect(kubeErrorFailure(new Error('bug'), AS)).toBeUndefined();
  });
});
