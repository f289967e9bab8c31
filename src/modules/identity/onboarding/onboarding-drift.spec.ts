import { describe, expect, it } from 'vitest';
import type { KubeObject } from 'src/modules/reconciler/kube/kube.types';
import { containedIn, inSync } from './onboarding-drift';

describe('containedIn', () => {
  it('accepts a live map holding every desired key, recursively, and more', () => {
    expect(containedIn({ a: 1, b: { c: 'x' } }, { a: 1, b: { c: 'x', d: 2 }, e: 3 })).toBe(true);
    expect(containedIn({ a: 1, b: { c: 'x' } }, { a: 1, b: { c: 'y' } })).toBe(false);
    expect(containedIn({ a: 1 }, { b: 1 })).toBe(false);
    expect(containedIn({ a: 1 }, undefined)).toBe(false);
    expect(containedIn({ a: { b: 1 } }, { a: [1] })).toBe(false);
  });

  it('compares lists as a whole, their maps included', () => {
    const s = { kind: 'ServiceAccount', name: 'sa', namespace: 'apps' };
    expect(containedIn({ l: [s] }, { l: [{ ...s }] })).toBe(true);
    expect(containedIn({ l: [s] }, { l: [s, s] })).toBe(false);
    expect(containedIn({ l: [s] }, { l: [{ ...s, namespace: 'jobs' }] })).toBe(false);
    expect(containedIn({ l: [s] }, { l: [{ ...s, apiGroup: 'x' }] })).toBe(false);
    expect(containedIn({ l: ['a', 'b'] }, { l: ['b', 'a'] })).toBe(false);
    expect(containedIn({ l: [s] }, { l: s })).toBe(false);
  });

  it('reads an absent map or list as empty (the API server omits empty ones)', () => {
    expect(containedIn({}, undefined)).toBe(true);
    expect(containedIn({ l: [] }, {})).toBe(true);
    expect(containedIn({ l: [] }, { l: null })).toBe(true);
    expect(containedIn({ l: ['a'] }, {})).toBe(false);
  });

  it('compares scalars strictly and ignores desired keys left undefined', () => {
    expect(containedIn({ a: false }, { a: false })).toBe(true);
    expect(containedIn({ a: false }, {})).toBe(false);
    expect(containedIn({ a: '1' }, { a: 1 })).toBe(false);
    expect(containedIn({ a: undefined, b: 1 }, { b: 1 })).toBe(true);
    expect(containedIn(undefined, { a: 1 })).toBe(true);
  });
});

describe('inSync', () => {
  const labels = {
    'app.kubernetes.io/managed-by': 'gitfleet',
    'gitfleet.dev/onboarded-tenant': 't',
  };
  const desired: KubeObject = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'gitfleet-t', namespace: 'apps', labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
    subjects: [{ kind: 'ServiceAccount', name: 'sa', namespace: 'apps' }],
  };
  const live = (over: Partial<KubeObject> = {}): KubeObject => ({
    ...desired,
    metadata: {
      ...desired.metadata,
      labels: { ...labels, extra: 'kept' },
      annotations: { note: 'someone else' },
      uid: 'u1',
      resourceVersion: '7',
      managedFields: [{ manager: 'gitfleet-onboarding' }],
    },
    ...over,
  });

  it('is in sync when live holds every field gitfleet sets, whatever else it holds', () => {
    expect(inSync(desired, live())).toBe(true);
  });

  it('is not when the object is absent, or a label, the payload or an annotation set drifted', () => {
    expect(inSync(desired, undefined)).toBe(false);
    expect(inSync(desired, live({ metadata: { name: 'gitfleet-t', namespace: 'apps' } }))).toBe(
      false,
    );
    expect(inSync(desired, live({ subjects: [] }))).toBe(false);
    expect(
      inSync(desired, live({ roleRef: { ...(desired.roleRef as object), name: 'admin' } })),
    ).toBe(false);
    const annotated = { ...desired, metadata: { ...desired.metadata, annotations: { a: '1' } } };
    expect(inSync(annotated, live())).toBe(false);
  });

  it('sees a pre-existing namespace without our labels as drifted', () => {
    const ns: KubeObject = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'apps', labels },
    };
    const existing: KubeObject = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'apps', labels: { 'kubernetes.io/metadata.name': 'apps' } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    };
    expect(inSync(ns, existing)).toBe(false);
    expect(inSync(ns, { ...existing, metadata: { name: 'apps', labels: { ...labels } } })).toBe(
      true,
    );
  });
});
