import { describe, expect, it } from 'vitest';
import type { KubeApi } from 'src/common/kube/kube-api.client';
import { KubeError } from 'src/common/kube/kube.errors';
import type { KubeObject } from 'src/modules/rendering/rendering.types';
import { mockOf } from 'test/support/mocks/automock';
import { splitHelmCrds } from './helm-crds.policy';

const crd = (name: string): KubeObject => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: {
    name,
    annotations: { 'gitfleet.dev/helm-crd': 'crds', 'gitfleet.dev/prune': 'disabled' },
  },
});
const templated: KubeObject = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'templated.example.com' },
};

function clusterWith(existing: readonly string[]) {
  const api = mockOf<KubeApi>();
  api.get.mockImplementation((ref) =>
    Promise.resolve(
      existing.includes(ref.name) ? { ...crd(ref.name), metadata: { name: ref.name } } : undefined,
    ),
  );
  return api;
}

describe(splitHelmCrds.name, () => {
  it('on install creates the missing crds/ objects and leaves existing ones as they are', async () => {
    const api = clusterWith(['old.example.com']);

    const split = await splitHelmCrds(
      api,
      [crd('old.example.com'), crd('new.example.com'), templated],
      {
        installed: false,
      },
    );

    expect(split.apply.map((o) => o.metadata.name)).toEqual([
      'new.example.com',
      'templated.example.com',
    ]);
    expect(split.kept).toEqual([
      expect.objectContaining({ kind: 'CustomResourceDefinition', name: 'old.example.com' }),
    ]);
  });

  it('on upgrade neither creates nor updates crds/ objects, but applies templated CRDs', async () => {
    const api = clusterWith(['old.example.com']);

    const split = await splitHelmCrds(
      api,
      [crd('old.example.com'), crd('new.example.com'), templated],
      {
        installed: true,
      },
    );

    expect(split.apply.map((o) => o.metadata.name)).toEqual(['templated.example.com']);
    expect(split.kept.map((e) => e.name)).toEqual(['old.example.com']);
  });

  it('hands an unreadable crds/ object to the apply, which reports the cause', async () => {
    const api = mockOf<KubeApi>();
    api.get.mockRejectedValue(
      new KubeError('Forbidden', 'forbidden: get customresourcedefinitions'),
    );

    const split = await splitHelmCrds(api, [crd('old.example.com')], { installed: true });

    expect(split.apply.map((o) => o.metadata.name)).toEqual(['old.example.com']);
    expect(split.kept).toEqual([]);
  });
});
