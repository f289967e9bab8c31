import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from 'src/common/kube/kube-object';
import { FleetHarness } from 'test/support/fleet/fleet-harness';
import type { TestRepository } from 'test/support/git-server/git-repositories';
import { KUBECTL_PATH } from 'test/support/tools';

// A plain-YAML app (no kustomization.yaml) and a Kustomize component beside it.
const APP: Record<string, string> = {
  'app/web/deployment.yaml': [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: web',
    '  labels: {app: web}',
    'spec:',
    '  replicas: 1',
    '  selector:',
    '    matchLabels: {app: web}',
    '  template:',
    '    metadata:',
    '      labels: {app: web}',
    '    spec:',
    '      containers:',
    '        - name: web',
    '          image: registry.example/web:1.0.0',
    '        - name: proxy',
    '          image: registry.example/proxy:2.0.0',
    '',
  ].join('\n'),
  'app/web/service.yaml': [
    'apiVersion: v1',
    'kind: Service',
    'metadata: {name: web}',
    'spec:',
    '  selector: {app: web}',
    '  ports: [{port: 80, targetPort: 8080}]',
    '',
  ].join('\n'),
  'app/web/settings.yaml': [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata: {name: settings}',
    'data: {mode: plain, level: info}',
    '',
  ].join('\n'),
  'app/components/tls/kustomization.yaml': [
    'apiVersion: kustomize.config.k8s.io/v1alpha1',
    'kind: Component',
    'resources: [tls.yaml]',
    'patches:',
    '  - target: {kind: ConfigMap, name: settings}',
    '    patch: |',
    '      - op: add',
    '        path: /data/tls',
    '        value: strict',
    '',
  ].join('\n'),
  'app/components/tls/tls.yaml':
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: tls}\ndata: {minVersion: "1.3"}\n',
};

const STRATEGIC = [
  'apiVersion: apps/v1',
  'kind: Deployment',
  'metadata: {name: web}',
  'spec:',
  '  replicas: 3',
  '  template:',
  '    metadata:',
  '      annotations: {example.com/patched: "yes"}',
  '',
].join('\n');
const JSON6902 = '[{"op": "replace", "path": "/data/level", "value": "debug"}]';

const OVERLAY = {
  patches: [
    { patch: STRATEGIC },
    { patch: JSON6902, target: { version: 'v1', kind: 'ConfigMap', name: 'settings' } },
  ],
  images: [
    { name: 'registry.example/web', newTag: '1.1.0' },
    {
      name: 'registry.example/proxy',
      newName: 'mirror.example/proxy',
      digest: `sha256:${'ab'.repeat(32)}`,
    },
  ],
  namePrefix: 'eu-',
  commonMetadata: {
    labels: { team: 'shop' },
    annotations: { 'example.com/owner': 'platform team' },
  },
  components: ['../components/tls'],
};

// The same overlay written by hand as kustomize fields. commonMetadata is Flux's
// SetCommonMetadata (object metadata only): metadata-only label and annotation
// transformers, run after the builtin ones as Flux sets it after the build.
const HAND_WRITTEN = [
  'resources: [deployment.yaml, service.yaml, settings.yaml]',
  'components: [../components/tls]',
  'namePrefix: eu-',
  'images:',
  '  - {name: registry.example/web, newTag: 1.1.0}',
  `  - {name: registry.example/proxy, newName: mirror.example/proxy, digest: "sha256:${'ab'.repeat(32)}"}`,
  'patches:',
  `  - patch: ${JSON.stringify(STRATEGIC)}`,
  `  - patch: ${JSON.stringify(JSON6902)}`,
  '    target: {version: v1, kind: ConfigMap, name: settings}',
  'transformers: [common-metadata.yaml]',
  '',
].join('\n');
const COMMON_METADATA = [
  'apiVersion: builtin',
  'kind: LabelTransformer',
  'metadata: {name: common-labels}',
  'labels: {team: shop}',
  'fieldSpecs: [{path: metadata/labels, create: true}]',
  '---',
  'apiVersion: builtin',
  'kind: AnnotationsTransformer',
  'metadata: {name: common-annotations}',
  'annotations: {example.com/owner: platform team}',
  'fieldSpecs: [{path: metadata/annotations, create: true}]',
  '',
].join('\n');

describe('release kustomize overlays: Flux Kustomization patches, images, affixes, commonMetadata, components', () => {
  const fleet = new FleetHarness({ clusters: [{ name: 'ov', labels: { env: 'ov' } }] });
  let repo: TestRepository;
  let expected: KubeObject[];
  let scratch: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'gitfleet-overlay-'));
    const files = {
      ...APP,
      'app/web/kustomization.yaml': HAND_WRITTEN,
      'app/web/common-metadata.yaml': COMMON_METADATA,
    };
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(scratch, path)), { recursive: true });
      writeFileSync(join(scratch, path), text);
    }
    const out = execFileSync(KUBECTL_PATH, ['kustomize', join(scratch, 'app/web')], {
      encoding: 'utf8',
    });
    expected = parseAllDocuments(out).map((d) => d.toJS() as KubeObject);
    expect(expected.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/eu-settings',
      'ConfigMap/eu-tls',
      'Deployment/eu-web',
      'Service/eu-web',
    ]);

    await fleet.start();
    repo = await fleet.repos.createRepository('overlay');
    await repo.commit(APP);
    await fleet.createGitSource('app', repo);
  });

  afterAll(async () => {
    await fleet.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  const live = (kind: string, apiVersion: string, name: string) =>
    fleet
      .cluster('ov')
      .listObjects(apiVersion, kind, 'apps')
      .find((o) => o.metadata.name === name);

  it('reaches Ready with objects equal, field by field, to kubectl kustomize of the hand-written kustomization', async () => {
    const res = await fleet.api('POST', `/tenants/${fleet.tenant}/releases`, {
      name: 'shop',
      source: 'app',
      path: 'app/web',
      targetNamespace: 'apps',
      clusterNames: ['ov'],
      timeoutSeconds: 30,
      kustomize: OVERLAY,
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body.kustomize).toEqual(OVERLAY);
    await fleet.waitForTargets('shop', (t) => t.ready === 'True', 1);

    for (const want of expected) {
      const got = live(want.kind, want.apiVersion, want.metadata.name ?? '');
      expect(got, `${want.kind}/${want.metadata.name}`).toBeDefined();
      // gitfleet adds its ownership labels; every label and annotation kustomize gives is there.
      expect(got?.metadata.labels).toMatchObject(want.metadata.labels ?? {});
      expect(got?.metadata.annotations ?? {}).toMatchObject(want.metadata.annotations ?? {});
      expect(got?.metadata.labels?.team).toBe('shop');
      expect(got?.metadata.annotations?.['example.com/owner']).toBe('platform team');
      if (want.kind === 'ConfigMap') {
        expect(got?.data).toEqual(want.data);
      } else {
        expect(got?.spec).toMatchObject(want.spec as Record<string, unknown>);
      }
    }
    const deployment = live('Deployment', 'apps/v1', 'eu-web');
    const spec = deployment?.spec as any;
    expect(spec.replicas).toBe(3);
    // commonMetadata stays out of selectors and pod templates, unlike commonLabels.
    expect(spec.selector).toEqual({ matchLabels: { app: 'web' } });
    expect(spec.template.metadata.labels).toEqual({ app: 'web' });
    expect(spec.template.metadata.annotations).toEqual({ 'example.com/patched': 'yes' });
    expect(spec.template.spec.containers.map((c: any) => c.image)).toEqual([
      'registry.example/web:1.1.0',
      `mirror.example/proxy@sha256:${'ab'.repeat(32)}`,
    ]);
    expect(live('ConfigMap', 'v1', 'eu-settings')?.data).toEqual({
      mode: 'plain',
      level: 'debug',
      tls: 'strict',
    });
    expect(live('Service', 'v1', 'eu-web')?.spec).toMatchObject({ selector: { app: 'web' } });
    // The unprefixed names the path holds were never applied.
    expect(live('Deployment', 'apps/v1', 'web')).toBeUndefined();
  });

  it('re-renders and re-applies when only the overlay changes (same revision)', async () => {
    const before = (await fleet.targets('shop'))[0];
    const res = await fleet.api('PUT', `/tenants/${fleet.tenant}/releases/shop`, {
      source: 'app',
      path: 'app/web',
      targetNamespace: 'apps',
      clusterNames: ['ov'],
      timeoutSeconds: 30,
      kustomize: {
        ...OVERLAY,
        images: [{ name: 'registry.example/web', newTag: '1.2.0' }],
        patches: [{ patch: STRATEGIC.replace('replicas: 3', 'replicas: 5') }],
      },
    });
    expect(res.status, res.text).toBe(200);
    await fleet.eventually('the changed overlay applied', () => {
      const spec = live('Deployment', 'apps/v1', 'eu-web')?.spec as any;
      return Promise.resolve(
        spec?.replicas === 5 && spec.template.spec.containers[0].image.endsWith(':1.2.0')
          ? true
          : undefined,
      );
    });
    const [after] = await fleet.waitForTargets(
      'shop',
      (t) => t.ready === 'True' && t.observedGeneration > before.observedGeneration,
      1,
    );
    expect(after.appliedRevision).toBe(before.appliedRevision);
    // The JSON 6902 patch left the overlay, so its change went too.
    expect(live('ConfigMap', 'v1', 'eu-settings')?.data).toEqual({
      mode: 'plain',
      level: 'info',
      tls: 'strict',
    });
  });

  it('fails the render with the kustomize reason when a patch matches no object', async () => {
    const res = await fleet.api('POST', `/tenants/${fleet.tenant}/releases`, {
      name: 'badpatch',
      source: 'app',
      path: 'app/web',
      targetNamespace: 'apps',
      clusterNames: ['ov'],
      kustomize: {
        namePrefix: 'bad-',
        patches: [
          {
            patch:
              'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: missing}\nspec: {replicas: 2}\n',
          },
        ],
      },
    });
    expect(res.status, res.text).toBe(201);
    const [target] = await fleet.waitForTargets(
      'badpatch',
      (t) => t.conditions?.some((c: any) => c.type === 'Ready' && c.reason === 'BuildFailed'),
      1,
    );
    const ready = target.conditions.find((c: any) => c.type === 'Ready');
    expect(ready.status).toBe('False');
    expect(ready.message).toContain('kustomize failed');
    expect(ready.message).toContain('missing');
    expect(ready.message).not.toContain('gitfleet-render-');
    expect(live('Deployment', 'apps/v1', 'bad-web')).toBeUndefined();
    expect((await fleet.api('DELETE', `/tenants/${fleet.tenant}/releases/badpatch`)).status).toBe(
      202,
    );
  });

  it('refuses bad overlays and overlays on a Helm release with 400 naming the field', async () => {
    const base = {
      source: 'app',
      path: 'app/web',
      targetNamespace: 'apps',
      clusterNames: ['ov'],
      suspend: true,
    };
    const post = (name: string, body: Record<string, unknown>) =>
      fleet.api('POST', `/tenants/${fleet.tenant}/releases`, { ...base, name, ...body });

    const helm = await post('helm1', {
      kind: 'helm',
      helm: { chart: 'charts/web' },
      kustomize: { namePrefix: 'eu-' },
    });
    expect(helm.status).toBe(400);
    expect(helm.body.details).toEqual([
      {
        field: 'kustomize',
        message: expect.stringContaining(
          'overlays apply to plain manifests and Kustomize paths, not to a Helm release',
        ),
      },
    ]);
    const notYaml = await post('bad1', { kustomize: { patches: [{ patch: 'a: [' }] } });
    expect(notYaml.status).toBe(400);
    expect(notYaml.body.details).toEqual([
      { field: 'kustomize.patches.0.patch', message: expect.stringContaining('not valid YAML') },
    ]);
    const noTarget = await post('bad2', { kustomize: { patches: [{ patch: JSON6902 }] } });
    expect(noTarget.status).toBe(400);
    expect(noTarget.text).toContain('kustomize.patches.0.target');
    const prefix = await post('bad3', { kustomize: { namePrefix: 'EU_' } });
    expect(prefix.status).toBe(400);
    expect(prefix.text).toContain('kustomize.namePrefix');
    const component = await post('bad4', { kustomize: { components: ['../../../etc'] } });
    expect(component.status).toBe(400);
    expect(component.text).toContain('kustomize.components.0');
    const image = await post('bad5', { kustomize: { images: [{ name: '' }] } });
    expect(image.status).toBe(400);
    expect(image.text).toContain('kustomize.images.0.name');
  });
});
