import { describe, expect, it } from 'vitest';
import {
  applyOverlay,
  componentPath,
  generatedKustomization,
  overlayProblems,
  parsePatch,
  setCommonMetadata,
} from './kustomize-overlay';
import type { KubeObject } from './rendering.types';

const SMP = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 2}\n';
const JSON6902 = '[{"op": "replace", "path": "/spec/replicas", "value": 3}]';

describe('kustomize overlay validation', () => {
  it('accepts strategic-merge patches with or without a target and JSON 6902 lists with one', () => {
    expect(
      overlayProblems(
        {
          patches: [
            { patch: SMP },
            { patch: 'spec: {replicas: 2}', target: { kind: 'Deployment' } },
            { patch: JSON6902, target: { kind: 'Deployment', name: 'web' } },
            { patch: '- op: remove\n  path: /metadata/labels/x\n', target: { name: 'web.*' } },
          ],
          images: [{ name: 'nginx', newTag: '1.28', digest: `sha256:${'a'.repeat(64)}` }],
          namePrefix: 'eu-',
          nameSuffix: '-v2',
          commonMetadata: {
            labels: { team: 'a' },
            annotations: { 'example.com/note': 'any text' },
          },
          components: ['components/tls', '../shared/ingress'],
        },
        'apps/prod',
      ),
    ).toEqual([]);
  });

  it.each([
    [{ patches: [{ patch: 'a: [' }] }, 'kustomize.patches.0.patch', 'is not valid YAML or JSON'],
    [{ patches: [{ patch: '' }] }, 'kustomize.patches.0.patch', 'is empty'],
    [
      { patches: [{ patch: '"just text"' }] },
      'kustomize.patches.0.patch',
      'must be a YAML/JSON object',
    ],
    [
      { patches: [{ patch: JSON6902 }] },
      'kustomize.patches.0.target',
      'is required for a JSON 6902 patch',
    ],
    [
      { patches: [{ patch: '[{"op": "frobnicate", "path": "/a"}]', target: { kind: 'X' } }] },
      'kustomize.patches.0.patch',
      'operation 0 needs an op',
    ],
    [
      { patches: [{ patch: '[{"op": "add", "path": "/a"}]', target: { kind: 'X' } }] },
      'kustomize.patches.0.patch',
      'operation 0 (add) needs a value',
    ],
    [
      { patches: [{ patch: 'spec: {replicas: 2}' }] },
      'kustomize.patches.0.patch',
      'must name its object',
    ],
    [
      { patches: [{ patch: `data: {a: "${'x'.repeat(40_000)}"}` }] },
      'kustomize.patches.0.patch',
      'larger than',
    ],
    [{ images: [{ name: '' }] }, 'kustomize.images.0.name', 'non-empty image name'],
    [{ images: [{ name: 'nginx', newTag: 'bad tag' }] }, 'kustomize.images.0.newTag', 'image tag'],
    [{ images: [{ name: 'nginx', digest: 'md5:abc' }] }, 'kustomize.images.0.digest', 'sha256'],
    [{ namePrefix: 'Prod_' }, 'kustomize.namePrefix', 'lower case'],
    [{ namePrefix: '-prod' }, 'kustomize.namePrefix', 'starting with a letter or digit'],
    [{ nameSuffix: 'v2-' }, 'kustomize.nameSuffix', 'ending with a letter or digit'],
    [
      { commonMetadata: { labels: { 'bad key!': 'x' } } },
      'kustomize.commonMetadata.labels.bad key!',
      'label key',
    ],
    [
      { commonMetadata: { labels: { team: 'not valid!' } } },
      'kustomize.commonMetadata.labels.team',
      'label value',
    ],
    [
      { commonMetadata: { annotations: { '/x': 'y' } } },
      'kustomize.commonMetadata.annotations./x',
      'annotation key',
    ],
    [{ components: ['/etc/components'] }, 'kustomize.components.0', 'local path'],
    [{ components: ['../../../outside'] }, 'kustomize.components.0', 'stays inside the source'],
    [{ components: ['https://example.com/c'] }, 'kustomize.components.0', 'no URL'],
  ])('refuses %j with a reason naming the field', (overlay, field, message) => {
    const problems = overlayProblems(overlay, 'apps/prod');
    expect(problems).toEqual([{ field, message: expect.stringContaining(message) }]);
  });

  it('caps the number of patches, images and components', () => {
    const many = Array.from({ length: 65 }, () => ({ patch: SMP }));
    expect(overlayProblems({ patches: many }, '').map((p) => p.field)).toEqual([
      'kustomize.patches',
    ]);
  });

  it('tells patch kinds apart as kustomize does', () => {
    expect(parsePatch(JSON6902).kind).toBe('json6902');
    expect(parsePatch(`${SMP}---\n${SMP}`).kind).toBe('strategicMerge');
    expect(parsePatch('a: *x').kind).toBe('invalid');
  });

  it('resolves components against the release path', () => {
    expect(componentPath('apps/prod', '../components/tls')).toBe('apps/components/tls');
    expect(componentPath('', 'components/tls')).toBe('components/tls');
    expect(componentPath('apps', '../../x')).toBeUndefined();
  });
});

describe('kustomize overlay merge (Flux generator rules)', () => {
  it('appends patches and components, replaces an image of the same name, sets the affixes, keeps the rest', () => {
    const existing = {
      resources: ['deployment.yaml'],
      namePrefix: 'old-',
      patches: [{ path: 'own.yaml' }],
      images: [
        { name: 'nginx', newTag: '1.0' },
        { name: 'redis', newTag: '7' },
      ],
      components: ['../base-component'],
      configMapGenerator: [{ name: 'cfg', literals: ['a=b'] }],
    };
    const out = applyOverlay(existing, {
      patches: [{ patch: JSON6902, target: { kind: 'Deployment' } }],
      images: [
        { name: 'nginx', newName: 'mirror/nginx', digest: 'sha256:abc' },
        { name: 'busybox', newTag: '1.36' },
      ],
      namePrefix: 'eu-',
      nameSuffix: '-v2',
      components: ['tls'],
    });
    expect(out).toEqual({
      resources: ['deployment.yaml'],
      namePrefix: 'eu-',
      nameSuffix: '-v2',
      patches: [{ path: 'own.yaml' }, { patch: JSON6902, target: { kind: 'Deployment' } }],
      images: [
        { name: 'nginx', newName: 'mirror/nginx', digest: 'sha256:abc' },
        { name: 'redis', newTag: '7' },
        { name: 'busybox', newTag: '1.36' },
      ],
      components: ['../base-component', 'tls'],
      configMapGenerator: [{ name: 'cfg', literals: ['a=b'] }],
    });
    // The input is not changed.
    expect(existing.namePrefix).toBe('old-');
  });

  it('generates a kustomization listing the resources for a path without one', () => {
    expect(generatedKustomization(['./a.yaml', './sub'])).toEqual({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: ['./a.yaml', './sub'],
    });
  });

  it('sets commonMetadata on every object metadata, overriding keys, never on selectors or templates', () => {
    const deployment: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', labels: { app: 'web', team: 'old' } },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } } },
      },
    };
    const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } };
    setCommonMetadata([deployment, cm], {
      labels: { team: 'a' },
      annotations: { 'example.com/owner': 'x' },
    });
    expect(deployment.metadata).toEqual({
      name: 'web',
      labels: { app: 'web', team: 'a' },
      annotations: { 'example.com/owner': 'x' },
    });
    expect(deployment.spec).toEqual({
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } } },
    });
    expect(cm.metadata).toEqual({
      name: 'c',
      labels: { team: 'a' },
      annotations: { 'example.com/owner': 'x' },
    });
  });
});
