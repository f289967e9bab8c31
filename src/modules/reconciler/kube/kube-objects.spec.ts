import { describe, expect, it } from 'vitest';
import {
  appliedFieldSet,
  canonicalJson,
  comparable,
  desiredHash,
  diffPaths,
  isOwnedBy,
  isPruneDisabled,
  pruneOptOut,
  refKey,
  refOf,
  withOwnerLabels,
} from './kube-objects';
import { sortForApply, sortForPrune } from './ordering';
import type { KubeObject, ObjectRef } from './kube.types';

const cm = (name: string, data: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'ns' },
  data,
});

describe('canonical JSON and hash', () => {
  it('sorts keys at every level and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,1]},"b":1}',
    );
  });
  it('drops undefined members', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
  });
  it('hashes equal objects equally regardless of key order', () => {
    const a: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x' },
      data: { k: 'v' },
    };
    const b: KubeObject = {
      data: { k: 'v' },
      metadata: { name: 'x' },
      kind: 'ConfigMap',
      apiVersion: 'v1',
    };
    expect(desiredHash(a)).toBe(desiredHash(b));
    expect(desiredHash(a)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(desiredHash(cm('x', { k: 'w' }))).not.toBe(desiredHash(cm('x', { k: 'v' })));
  });
});

describe('ownership', () => {
  it('adds the ownership labels over manifest values without touching the input', () => {
    const input = cm('x');
    input.metadata.labels = { app: 'a', 'gitfleet.dev/tenant': 'forged' };
    const out = withOwnerLabels(input, { tenant: 't', release: 'r' });
    expect(out.metadata.labels).toEqual({
      app: 'a',
      'gitfleet.dev/tenant': 't',
      'gitfleet.dev/release': 'r',
    });
    expect(input.metadata.labels['gitfleet.dev/tenant']).toBe('forged');
    expect(isOwnedBy(out, { tenant: 't', release: 'r' })).toBe(true);
    expect(isOwnedBy(out, { tenant: 't', release: 'other' })).toBe(false);
  });
  it('honours prune: disabled as a label or an annotation', () => {
    expect(
      isPruneDisabled({
        ...cm('a'),
        metadata: { name: 'a', labels: { 'gitfleet.dev/prune': 'disabled' } },
      }),
    ).toBe(true);
    expect(
      isPruneDisabled({
        ...cm('a'),
        metadata: { name: 'a', annotations: { 'gitfleet.dev/prune': 'disabled' } },
      }),
    ).toBe(true);
    expect(isPruneDisabled(cm('a'))).toBe(false);
  });
  it("honours Flux's, Argo CD's and Helm's markers as those tools read them", () => {
    const annotated = (annotations: Record<string, string>): KubeObject => ({
      ...cm('a'),
      metadata: { name: 'a', annotations },
    });
    expect(pruneOptOut(annotated({ 'kustomize.toolkit.fluxcd.io/prune': 'disabled' }))).toBe(
      'kustomize.toolkit.fluxcd.io/prune: disabled',
    );
    expect(pruneOptOut(annotated({ 'kustomize.toolkit.fluxcd.io/prune': 'Disabled' }))).toBe(
      undefined,
    );
    expect(
      pruneOptOut(
        annotated({ 'argocd.argoproj.io/sync-options': 'ServerSideApply=true, Prune=false' }),
      ),
    ).toBe('argocd.argoproj.io/sync-options: Prune=false');
    expect(pruneOptOut(annotated({ 'argocd.argoproj.io/sync-options': 'Prune=true' }))).toBe(
      undefined,
    );
    // Argo CD prunes these only after a person confirms; gitfleet asks nobody, so they stay.
    expect(pruneOptOut(annotated({ 'argocd.argoproj.io/sync-options': 'Prune=confirm' }))).toBe(
      'argocd.argoproj.io/sync-options: Prune=confirm',
    );
    expect(pruneOptOut(annotated({ 'helm.sh/resource-policy': 'keep' }))).toBe(
      'helm.sh/resource-policy: keep',
    );
    expect(pruneOptOut(annotated({ 'helm.sh/resource-policy': 'delete' }))).toBe(undefined);
    // Labels are not annotations: only gitfleet's own key counts as a label.
    expect(
      pruneOptOut({
        ...cm('a'),
        metadata: { name: 'a', labels: { 'helm.sh/resource-policy': 'keep' } },
      }),
    ).toBe(undefined);
  });
  it('keys refs by group, kind, namespace and name, not version', () => {
    const a = refOf({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'w', namespace: 'n' },
    });
    expect(a).toEqual({
      group: 'apps',
      version: 'v1',
      kind: 'Deployment',
      namespace: 'n',
      name: 'w',
    });
    expect(refKey({ ...a, version: 'v2' })).toBe(refKey(a));
  });
});

describe('diffPaths', () => {
  it('names changed, added and removed fields without values', () => {
    const live = { data: { a: 'secret-1', b: 'x' }, spec: { replicas: 1 } };
    const want = { data: { a: 'secret-2', c: 'y' }, spec: { replicas: 1 } };
    const paths = diffPaths(live, want);
    expect(paths).toEqual(['.data.a', '.data.b', '.data.c']);
    expect(paths.join()).not.toContain('secret');
  });
  it('keys list items by name', () => {
    const a = {
      spec: {
        containers: [
          { name: 'web', image: 'a:1' },
          { name: 'side', image: 's' },
        ],
      },
    };
    const b = {
      spec: {
        containers: [
          { name: 'side', image: 's' },
          { name: 'web', image: 'a:2' },
        ],
      },
    };
    expect(diffPaths(a, b)).toEqual(['.spec.containers[name=web].image']);
  });
  it('quotes keys that are not identifiers and indexes scalar lists', () => {
    expect(
      diffPaths(
        { metadata: { labels: { 'app.kubernetes.io/name': 'a' } } },
        { metadata: { labels: { 'app.kubernetes.io/name': 'b' } } },
      ),
    ).toEqual(['.metadata.labels["app.kubernetes.io/name"]']);
    expect(diffPaths({ args: ['a', 'b'] }, { args: ['a', 'c'] })).toEqual(['.args[1]']);
    expect(diffPaths({ args: ['a'] }, { args: ['a', 'c'] })).toEqual(['.args']);
  });
  it('ignores server bookkeeping via comparable()', () => {
    const live: KubeObject = {
      ...cm('x', { k: 'v' }),
      metadata: {
        name: 'x',
        resourceVersion: '5',
        uid: 'u',
        generation: 3,
        creationTimestamp: 't',
        managedFields: [],
      },
      status: { a: 1 },
    };
    const dry: KubeObject = {
      ...cm('x', { k: 'v' }),
      metadata: { name: 'x', resourceVersion: '5', managedFields: [{}] },
    };
    expect(diffPaths(comparable(live), comparable(dry))).toEqual([]);
  });
  it('bounds the number of paths', () => {
    const a = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, 1]));
    expect(diffPaths(a, {}, 10)).toHaveLength(10);
  });
});

describe('appliedFieldSet', () => {
  it('returns the canonical fieldsV1 of our Apply entry only', () => {
    const o: KubeObject = {
      ...cm('x'),
      metadata: {
        name: 'x',
        managedFields: [
          { manager: 'kubectl-edit', operation: 'Update', fieldsV1: { 'f:data': { 'f:a': {} } } },
          { manager: 'gitfleet', operation: 'Apply', fieldsV1: { 'f:data': { 'f:b': {} } } },
        ],
      },
    };
    expect(appliedFieldSet(o)).toBe('{"f:data":{"f:b":{}}}');
    expect(appliedFieldSet(cm('y'))).toBe('');
  });
});

describe('ordering', () => {
  const r = (group: string, kind: string, name: string, namespace?: string): ObjectRef => ({
    group,
    version: 'v1',
    kind,
    name,
    namespace,
  });
  const items = [
    r('', 'ConfigMap', 'c1', 'a'),
    r('', 'Namespace', 'a'),
    r('example.com', 'Widget', 'w', 'a'),
    r('apiextensions.k8s.io', 'CustomResourceDefinition', 'widgets.example.com'),
    r('rbac.authorization.k8s.io', 'ClusterRole', 'cr'),
    r('apps', 'Deployment', 'd', 'a'),
  ];
  it('applies CRDs, then Namespaces, then the rest in the given order', () => {
    expect(sortForApply(items, (x) => x).map((x) => x.name)).toEqual([
      'widgets.example.com',
      'a',
      'c1',
      'w',
      'cr',
      'd',
    ]);
  });
  it('prunes namespaced objects (reversed), then cluster-scoped, then Namespaces, then CRDs', () => {
    expect(sortForPrune(items, (x) => x).map((x) => x.name)).toEqual([
      'd',
      'w',
      'c1',
      'cr',
      'a',
      'widgets.example.com',
    ]);
  });
});
