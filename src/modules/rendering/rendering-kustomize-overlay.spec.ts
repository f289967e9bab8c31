import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createScratch,
  makeRenderingService,
  makeRequest,
  type Scratch,
} from 'test/fixtures/rendering/rendering.factory';
import { KUBECTL_PATH } from 'test/support/tools';
import type { KubeObject, KustomizeOverlay } from './rendering.types';

const run = promisify(execFile);

const FILES = {
  'apps/web/deployment.yaml': [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata: {name: web, labels: {app: web}}',
    'spec:',
    '  replicas: 1',
    '  selector: {matchLabels: {app: web}}',
    '  template:',
    '    metadata: {labels: {app: web}}',
    '    spec: {containers: [{name: web, image: "nginx:1.27"}]}',
    '',
  ].join('\n'),
  'apps/web/service.json': JSON.stringify({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
  }),
  // A subdirectory with its own kustomization is listed once, as a directory.
  'apps/web/extra/kustomization.yaml': 'resources:\n- cm.yaml\n',
  'apps/web/extra/cm.yaml':
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {a: "1"}\n',
  'apps/components/tls/kustomization.yaml': [
    'apiVersion: kustomize.config.k8s.io/v1alpha1',
    'kind: Component',
    'resources:',
    '- secret-ref.yaml',
    '',
  ].join('\n'),
  'apps/components/tls/secret-ref.yaml':
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: tls-settings}\ndata: {mode: strict}\n',
};

const OVERLAY: KustomizeOverlay = {
  patches: [
    {
      patch: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n',
    },
    {
      patch: '[{"op": "add", "path": "/data/b", "value": "2"}]',
      target: { kind: 'ConfigMap', name: 'extra' },
    },
  ],
  images: [{ name: 'nginx', newName: 'mirror.example/nginx', newTag: '1.28' }],
  namePrefix: 'eu-',
  commonMetadata: { labels: { team: 'a' }, annotations: { 'example.com/owner': 'platform' } },
  components: ['../components/tls'],
};

async function kubectlKustomize(files: Record<string, string>, dir: string): Promise<KubeObject[]> {
  const root = await mkdtemp(join(tmpdir(), 'gitfleet-overlay-expected-'));
  try {
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), text);
    }
    const { stdout } = await run(KUBECTL_PATH, ['kustomize', join(root, dir)]);
    return parseAllDocuments(stdout).map((d) => d.toJS() as KubeObject);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

const byName = (objects: KubeObject[]) =>
  Object.fromEntries(objects.map((o) => [`${o.kind}/${o.metadata.name}`, o]));

describe('RenderingService — Flux kustomize overlays', () => {
  let scratch: Scratch;

  beforeEach(async () => {
    scratch = await createScratch();
    await scratch.write(FILES);
  });

  afterEach(async () => {
    expect(await scratch.leftovers()).toEqual([]);
    await scratch.cleanup();
  });

  it('generates a kustomization for a plain path and renders as kubectl kustomize of the hand-written one', async () => {
    const { sut } = makeRenderingService(scratch);
    const before = await run('find', [scratch.artifact, '-printf', '%P %s %T@\n']);

    const result = await sut.render(
      makeRequest(scratch, { release: { path: 'apps/web', kustomize: OVERLAY } }),
    );

    // What Flux writes: the manifests, the kustomized subdirectory, the overlay fields.
    const expected = await kubectlKustomize(
      {
        ...FILES,
        'apps/web/kustomization.yaml': [
          'resources: [./deployment.yaml, ./extra, ./service.json]',
          'patches:',
          ...OVERLAY.patches!.map(
            (p) =>
              `- patch: ${JSON.stringify(p.patch)}${p.target ? `\n  target: ${JSON.stringify(p.target)}` : ''}`,
          ),
          'images: [{name: nginx, newName: mirror.example/nginx, newTag: "1.28"}]',
          'namePrefix: eu-',
          'components: [../components/tls]',
          '',
        ].join('\n'),
      },
      'apps/web',
    );
    // commonMetadata goes on every object's own metadata afterwards (Flux's SetCommonMetadata).
    for (const o of expected) {
      o.metadata.labels = { ...(o.metadata.labels ?? {}), team: 'a' };
      o.metadata.annotations = {
        ...(o.metadata.annotations ?? {}),
        'example.com/owner': 'platform',
      };
    }
    expect(result.kind).toBe('plain');
    expect(byName(result.objects)).toEqual(byName(expected));
    const got = byName(result.objects);
    expect(Object.keys(got).sort()).toEqual([
      'ConfigMap/eu-extra',
      'ConfigMap/eu-tls-settings',
      'Deployment/eu-web',
      'Service/eu-web',
    ]);
    expect(got['Deployment/eu-web']?.spec).toMatchObject({
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ image: 'mirror.example/nginx:1.28' }] },
      },
    });
    expect(got['ConfigMap/eu-extra']?.data).toEqual({ a: '1', b: '2' });
    const after = await run('find', [scratch.artifact, '-printf', '%P %s %T@\n']);
    expect(after.stdout).toBe(before.stdout);
  });

  it("writes the overlay into a Kustomize path's own kustomization, keeping its fields", async () => {
    await scratch.write({
      'apps/web/kustomization.yaml': [
        'resources: [deployment.yaml]',
        'namePrefix: old-',
        'images: [{name: nginx, newTag: "1.0"}]',
        'patches:',
        '- target: {kind: Deployment}',
        '  patch: |',
        '    - op: add',
        '      path: /metadata/annotations',
        '      value: {own: patch}',
        '',
      ].join('\n'),
    });
    const { sut } = makeRenderingService(scratch);

    const result = await sut.render(
      makeRequest(scratch, {
        release: {
          path: 'apps/web',
          kustomize: { namePrefix: 'eu-', images: [{ name: 'nginx', newTag: '1.28' }] },
        },
      }),
    );

    expect(result.kind).toBe('kustomize');
    expect(result.objects).toHaveLength(1);
    expect(result.objects[0]?.metadata).toMatchObject({
      name: 'eu-web',
      annotations: { own: 'patch' },
    });
    expect(result.objects[0]?.spec).toMatchObject({
      template: { spec: { containers: [{ image: 'nginx:1.28' }] } },
    });
  });

  it('renders a plain path with only commonMetadata without kustomize', async () => {
    await scratch.write({ 'plain/cm.yaml': FILES['apps/web/extra/cm.yaml'] });
    const { sut } = makeRenderingService(scratch, { kubectlPath: '/nonexistent/kubectl' });
    const result = await sut.render(
      makeRequest(scratch, {
        release: {
          path: 'plain',
          kustomize: { commonMetadata: { labels: { team: 'a' } } },
        },
      }),
    );
    expect(result.objects.map((o) => o.metadata.labels)).toEqual([{ team: 'a' }]);
  });

  it('fails a patch whose object is absent with kustomize reason, naming no temp path', async () => {
    const { sut } = makeRenderingService(scratch);
    const failure = sut.render(
      makeRequest(scratch, {
        release: {
          path: 'apps/web',
          kustomize: {
            patches: [
              {
                patch:
                  'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: absent}\nspec: {replicas: 3}\n',
              },
            ],
          },
        },
      }),
    );
    await expect(failure).rejects.toMatchObject({ code: 'RenderFailed' });
    const error = (await failure.catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/kustomize failed.*absent/s);
    expect(error.message).not.toContain(scratch.tmp);
  });

  it('refuses an overlay on a Helm chart path', async () => {
    await scratch.write({ 'chart/Chart.yaml': 'apiVersion: v2\nname: c\nversion: 0.1.0\n' });
    const { sut } = makeRenderingService(scratch);
    await expect(
      sut.render(
        makeRequest(scratch, {
          release: { path: 'chart', releaseName: 'c', kustomize: { namePrefix: 'eu-' } },
        }),
      ),
    ).rejects.toMatchObject({
      code: 'InvalidInput',
      message: expect.stringContaining('overlays apply to plain manifests and Kustomize paths'),
    });
  });
});
