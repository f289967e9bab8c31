import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createScratch,
  makeRenderingService,
  makeRequest,
  type Scratch,
} from 'test/fixtures/rendering/rendering.factory';

const run = promisify(execFile);

const BASE = {
  'deploy/base/kustomization.yaml': 'resources:\n- cm.yaml\n- deployment.yaml\n',
  'deploy/base/cm.yaml':
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  cluster: ${cluster_name}\n  escaped: $${not_a_var}\n',
  'deploy/base/deployment.yaml': [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata: {name: web}',
    'spec:',
    '  replicas: 1',
    '  selector: {matchLabels: {app: web}}',
    '  template:',
    '    metadata: {labels: {app: web}}',
    '    spec: {containers: [{name: web, image: "nginx:1.27"}]}',
  ].join('\n'),
  'deploy/prod/kustomization.yaml': [
    'resources:',
    '- ../base',
    'namePrefix: prod-',
    'namespace: team-a',
    'images:',
    '- name: nginx',
    '  newTag: ${image_tag}',
    'patches:',
    '- target: {kind: Deployment, name: web}',
    '  patch: |',
    '    - op: replace',
    '      path: /spec/replicas',
    '      value: 3',
  ].join('\n'),
};

describe('RenderingService — kustomize', () => {
  let scratch: Scratch;

  beforeEach(async () => {
    scratch = await createScratch();
    await scratch.write(BASE);
  });

  afterEach(async () => {
    expect(await scratch.leftovers()).toEqual([]);
    await scratch.cleanup();
  });

  it('renders an overlay with a base via kubectl kustomize (auto-detected), then substitutes', async () => {
    const { sut, runner } = makeRenderingService(scratch);
    const result = await sut.render(
      makeRequest(scratch, {
        release: { path: 'deploy/prod', postBuild: { variables: { image_tag: '1.28' } } },
      }),
    );
    expect(result.kind).toBe('kustomize');
    const byKind = Object.fromEntries(result.objects.map((o) => [o.kind, o]));
    expect(byKind.ConfigMap?.metadata).toEqual({ name: 'prod-cfg', namespace: 'team-a' });
    expect(byKind.ConfigMap?.data).toEqual({ cluster: 'eu-1', escaped: '${not_a_var}' });
    expect(byKind.Deployment?.spec).toMatchObject({
      replicas: 3,
      template: { spec: { containers: [{ image: 'nginx:1.28' }] } },
    });
    expect(runner.running).toBe(0);
  });

  it('never writes into the artifact', async () => {
    const { sut } = makeRenderingService(scratch);
    const before = await run('find', [scratch.artifact, '-printf', '%P %s %T@\n']);
    await sut.render(
      makeRequest(scratch, {
        release: { path: 'deploy/prod', postBuild: { variables: { image_tag: 'x' } } },
      }),
    );
    const after = await run('find', [scratch.artifact, '-printf', '%P %s %T@\n']);
    expect(after.stdout).toBe(before.stdout);
  });

  it.each([
    ['https URL', 'https://github.com/org/repo//deploy?ref=v1'],
    ['git:: URL', 'git::https://example.com/org/repo.git'],
    ['github.com path', 'github.com/org/repo/deploy'],
    ['ssh form', 'git@github.com:org/repo.git'],
  ])(
    'refuses a remote base (%s) before running kustomize, also in nested bases',
    async (_name, ref) => {
      await scratch.write({
        'deploy/remote/kustomization.yaml': `resources:\n- ${ref}\n`,
        'deploy/nested/kustomization.yaml': 'resources:\n- ../remote\n',
      });
      const { sut } = makeRenderingService(scratch, { kubectlPath: '/nonexistent/kubectl' });
      await expect(
        sut.render(makeRequest(scratch, { release: { path: 'deploy/nested' } })),
      ).rejects.toMatchObject({
        code: 'RemoteBaseRefused',
        message: expect.stringContaining('deploy/remote/kustomization.yaml'),
      });
    },
  );

  it('refuses exec/KRM function transformers; kustomize fails on them anyway without flags', async () => {
    await scratch.write({
      'fn/kustomization.yaml': 'resources:\n- ../deploy/base\ntransformers:\n- fn.yaml\n',
      'fn/fn.yaml': [
        'apiVersion: example.com/v1',
        'kind: Evil',
        'metadata:',
        '  name: evil',
        '  annotations:',
        '    config.kubernetes.io/function: |',
        '      exec:',
        '        path: ./pwn.sh',
      ].join('\n'),
      'fn/pwn.sh': '#!/bin/sh\ntouch /tmp/gitfleet-pwned\n',
      'inline/kustomization.yaml':
        'generators:\n- apiVersion: v1\n  kind: Gen\n  metadata:\n    name: g\n    annotations:\n      config.kubernetes.io/function: "container: {image: evil}"\n',
      'plugin/kustomization.yaml': 'transformers:\n- t.yaml\n',
      'plugin/t.yaml':
        'apiVersion: someteam.example.com/v1\nkind: ChartInflator\nmetadata: {name: x}\n',
      'helm/kustomization.yaml': 'helmCharts:\n- name: x\n  repo: https://charts.example.com\n',
    });
    const { sut, options } = makeRenderingService(scratch);
    for (const path of ['fn', 'inline', 'plugin', 'helm']) {
      await expect(
        sut.render(makeRequest(scratch, { release: { path } })),
        path,
      ).rejects.toMatchObject({
        code: 'FunctionRefused',
      });
    }
    // Defence in depth: the real kustomize refuses the same tree without --enable-exec/--enable-alpha-plugins.
    const direct = await run(options.kubectlPath, [
      'kustomize',
      join(scratch.artifact, 'fn'),
    ]).catch((e: { code: number; stderr: string }) => e);
    expect(direct).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/plugins disabled|unable to load/),
    });
  });

  it('keeps builtin transformer configs working', async () => {
    await scratch.write({
      'builtin/kustomization.yaml': 'resources:\n- ../deploy/base\ntransformers:\n- labels.yaml\n',
      'builtin/labels.yaml':
        'apiVersion: builtin\nkind: LabelTransformer\nmetadata: {name: l}\nlabels: {team: a}\nfieldSpecs: [{path: metadata/labels, create: true}]\n',
    });
    const { sut } = makeRenderingService(scratch);
    const result = await sut.render(makeRequest(scratch, { release: { path: 'builtin' } }));
    expect(result.objects.every((o) => o.metadata.labels?.team === 'a')).toBe(true);
  });

  it('lets the root-only load restrictor refuse ../ file references, with paths relative to the artifact', async () => {
    await scratch.write({
      'secret.yaml':
        'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: hunter2}\n',
      'apps/escape/kustomization.yaml': 'resources:\n- ../../secret.yaml\n',
      'apps/far/kustomization.yaml': 'resources:\n- ../../../../../../../../etc/passwd\n',
    });
    const { sut } = makeRenderingService(scratch);
    const error = await sut
      .render(makeRequest(scratch, { release: { path: 'apps/escape' } }))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'RenderFailed',
      message: expect.stringContaining('is not in or below'),
    });
    expect((error as Error).message).toContain('<artifact>/apps/escape');
    expect((error as Error).message).not.toContain(scratch.dir);
    expect((error as Error).message).not.toContain('hunter2');
    const far = await sut
      .render(makeRequest(scratch, { release: { path: 'apps/far' } }))
      .catch((e: unknown) => e);
    expect(far).toMatchObject({ code: 'RenderFailed' });
    expect((far as Error).message).not.toMatch(/root:x:/);
  });

  it('refuses a symlink out of the artifact inside the kustomization', async () => {
    await scratch.write({ 'linked/kustomization.yaml': 'resources:\n- passwd.yaml\n' });
    await scratch.link('linked/passwd.yaml', '/etc/passwd');
    const { sut } = makeRenderingService(scratch);
    await expect(
      sut.render(makeRequest(scratch, { release: { path: 'linked' } })),
    ).rejects.toMatchObject({
      code: 'PathEscapesArtifact',
      message: 'linked/passwd.yaml is a symlink that resolves outside the artifact',
    });
  });

  it('refuses an artifact with more files than the cap before running kustomize', async () => {
    await scratch.write(
      Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`junk/f${i}.txt`, 'x'])),
    );
    const { sut } = makeRenderingService(scratch, {
      maxFiles: 10,
      kubectlPath: '/nonexistent/kubectl',
    });
    await expect(
      sut.render(makeRequest(scratch, { release: { path: 'deploy/prod' } })),
    ).rejects.toMatchObject({
      code: 'LimitExceeded',
      message: 'artifact has more than 10 files',
    });
  });
});
