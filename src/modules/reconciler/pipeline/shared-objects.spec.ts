import { describe, expect, it } from 'vitest';
import type { KubeApi } from 'src/common/kube/kube-api.client';
import { KubeError } from 'src/common/kube/kube.errors';
import type { KubeObject } from 'src/modules/reconciler/kube/kube.types';
import { mockOf } from 'test/support/mocks/automock';
import { ClusterPeers, SharedObjectGuard } from './shared-objects';

const owner = { tenant: 'team-a', release: 'crds' };
const crdRef = {
  group: 'apiextensions.k8s.io',
  version: 'v1',
  kind: 'CustomResourceDefinition',
  name: 'widgets.example.com',
};
const crd: KubeObject = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    names: { kind: 'Widget', plural: 'widgets' },
    versions: [{ name: 'v1', served: true, storage: true }],
  },
};
const nsRef = { group: '', version: 'v1', kind: 'Namespace', name: 'shared' };

function object(kind: string, name: string, labels?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind,
    metadata: { name, namespace: 'shared', ...(labels ? { labels } : {}) },
  };
}
const ours = { 'gitfleet.dev/tenant': 'team-a', 'gitfleet.dev/release': 'crds' };

function guard(api: KubeApi, pruneCrds = true): SharedObjectGuard {
  return new SharedObjectGuard(api, owner, new ClusterPeers([], 'team-a'), pruneCrds);
}

describe(SharedObjectGuard.name, () => {
  it('keeps a CRD unless the release opted in, without reading anything', async () => {
    const api = mockOf<KubeApi>();

    expect(await guard(api, false).keep(crdRef, crd)).toMatchObject({
      reason: 'CustomResourceDefinitionKept',
    });
    expect(api.list).not.toHaveBeenCalled();
  });

  it("keeps a CRD while custom resources remain that are not the release's own", async () => {
    const api = mockOf<KubeApi>();
    api.list.mockResolvedValue([
      { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'mine', labels: ours } },
      {
        apiVersion: 'example.com/v1',
        kind: 'Widget',
        metadata: {
          name: 'theirs',
          labels: { 'gitfleet.dev/tenant': 'team-z', 'gitfleet.dev/release': 'secret' },
        },
      },
    ]);

    const kept = await guard(api).keep(crdRef, crd);

    expect(api.list).toHaveBeenCalledWith('example.com/v1', 'Widget', undefined);
    expect(kept).toMatchObject({ reason: 'CustomResourcesRemain' });
    expect(kept?.message).toContain('1 Widget object(s) remain');
    expect(kept?.message).toContain('objects of another tenant');
    expect(kept?.message).not.toMatch(/team-z|secret|theirs/);
  });

  it('lets a CRD go when only its own custom resources remain, and remembers its kind', async () => {
    const api = mockOf<KubeApi>();
    api.list.mockResolvedValue([
      { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'mine', labels: ours } },
    ]);
    const sut = guard(api);

    expect(await sut.keep(crdRef, crd)).toBeUndefined();
    expect([...sut.releasedKinds]).toEqual(['example.com/Widget']);
  });

  it('keeps a CRD whose custom resources cannot be listed', async () => {
    const api = mockOf<KubeApi>();
    api.list.mockRejectedValue(new KubeError('Forbidden', 'forbidden'));

    expect(await guard(api).keep(crdRef, crd)).toMatchObject({ reason: 'CustomResourcesRemain' });
  });

  it('deletes a Namespace holding only its own objects and what Kubernetes puts there', async () => {
    const api = mockOf<KubeApi>();
    api.list.mockImplementation((_v, kind) =>
      Promise.resolve(
        kind === 'ConfigMap'
          ? [object('ConfigMap', 'kube-root-ca.crt'), object('ConfigMap', 'app', ours)]
          : kind === 'ServiceAccount'
            ? [object('ServiceAccount', 'default')]
            : [],
      ),
    );

    expect(await guard(api).keep(nsRef, object('Namespace', 'shared', ours))).toBeUndefined();
  });

  it('keeps a Namespace holding an object nobody manages, naming it', async () => {
    const api = mockOf<KubeApi>();
    api.list.mockImplementation((_v, kind) =>
      Promise.resolve(kind === 'Secret' ? [object('Secret', 'hand-made')] : []),
    );

    expect(await guard(api).keep(nsRef, object('Namespace', 'shared', ours))).toEqual({
      reason: 'NamespaceInUse',
      message:
        'Namespace/shared is kept: it holds 1 object(s) this release does not own (Secret/hand-made: not managed by gitfleet)',
    });
  });

  it('keeps what another staying target holds or renders', async () => {
    const cm = { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'c' };
    const peers = new ClusterPeers(
      [
        {
          targetId: 't2',
          tenantId: 'tenant-2',
          tenantName: 'team-b',
          releaseName: 'b',
          departing: false,
          adopt: 'IfUnowned',
          inventory: [],
          conflicts: [cm],
        },
      ],
      'team-a',
    );
    const sut = new SharedObjectGuard(mockOf<KubeApi>(), owner, peers, true);

    expect(await sut.keep(cm, object('ConfigMap', 'c', ours))).toEqual({
      reason: 'HandedOver',
      message:
        'ConfigMap/apps/c is kept: a release of another tenant on this cluster renders it now',
    });
  });
});
