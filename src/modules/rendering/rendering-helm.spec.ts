import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createScratch,
  makeRenderingService,
  makeRequest,
  makeTarget,
  type Scratch,
} from 'test/fixtures/rendering/rendering.factory';
import type { HelmRenderSpec, KubeObject } from './rendering.types';

const run = promisify(execFile);

const CHART = {
  'charts/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 1.0.0\nkubeVersion: ">=1.30.0-0"\n',
  'charts/web/values.yaml': 'a: chart\nb: chart\nc: chart\nd: chart\n',
  'charts/web/templates/cm.yaml': [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: {{ .Release.Name }}-cfg',
    '  namespace: {{ .Release.Namespace }}',
    'data:',
    '  a: {{ .Values.a | quote }}',
    '  b: {{ .Values.b | quote }}',
    '  c: {{ .Values.c | quote }}',
    '  d: {{ .Values.d | quote }}',
    '  kube: {{ .Capabilities.KubeVersion.Version | quote }}',
    '  certManager: {{ .Capabilities.APIVersions.Has "cert-manager.io/v1" | quote }}',
    '  cluster: "${cluster_name}"',
    '{{- with .Values.fileToRead }}',
    '  file: {{ $.Files.Get . | quote }}',
    '{{- end }}',
  ].join('\n'),
  'charts/web/templates/tests/test.yaml':
    'apiVersion: v1\nkind: Pod\nmetadata:\n  name: test\n  annotations: {"helm.sh/hook": test}\nspec: {containers: [{name: t, image: busybox}]}\n',
  'charts/web/crds/widgets.yaml': [
    'apiVersion: apiextensions.k8s.io/v1',
    'kind: CustomResourceDefinition',
    'metadata: {name: widgets.example.com}',
    'spec:',
    '  group: example.com',
    '  scope: Namespaced',
    '  names: {kind: Widget, plural: widgets}',
    '  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]',
  ].join('\n'),
  'env/one.yaml': 'b: file1\nc: file1\nd: file1\n',
  'env/two.yaml': 'c: file2\nd: file2\n',
};

function helmSpec(overrides: Partial<HelmRenderSpec> = {}): HelmRenderSpec {
  return { releaseName: 'web', ...overrides };
}

const configMap = (objects: KubeObject[]): KubeObject | undefined =>
  objects.find((o) => o.kind === 'ConfigMap');

describe('RenderingService — helm', () => {
  let scratch: Scratch;

  beforeEach(async () => {
    scratch = await createScratch();
    await scratch.write(CHART);
  });

  afterEach(async () => {
    expect(await scratch.leftovers()).toEqual([]);
    await scratch.cleanup();
  });

  it('renders with values merged in order (chart < files in order < inline), target capabilities, CRDs, no tests', async () => {
    const { sut } = makeRenderingService(scratch);
    const result = await sut.render(
      makeRequest(scratch, {
        release: {
          path: 'charts/web',
          kind: 'helm',
          helm: helmSpec({
            valuesFiles: ['env/one.yaml', 'env/two.yaml'],
            values: { d: 'inline' },
          }),
        },
        target: makeTarget({
          kubernetesVersion: '1.34.0',
          apiVersions: ['v1', 'apps/v1', 'cert-manager.io/v1'],
        }),
      }),
    );
    expect(result.kind).toBe('helm');
    expect(result.objects.map((o) => o.kind)).toEqual(['CustomResourceDefinition', 'ConfigMap']);
    expect(configMap(result.objects)).toMatchObject({
      metadata: { name: 'web-cfg', namespace: 'team-a' },
      data: {
        a: 'chart',
        b: 'file1',
        c: 'file2',
        d: 'inline',
        kube: 'v1.34.0',
        certManager: 'true',
        // No postBuild: Helm output is taken literally.
        cluster: '${cluster_name}',
      },
    });
  });

  it('substitutes Helm output only when the release has a postBuild', async () => {
    const { sut } = makeRenderingService(scratch);
    const result = await sut.render(
      makeRequest(scratch, {
        release: {
          path: 'charts/web',
          kind: 'helm',
          helm: helmSpec(),
          postBuild: { variables: {} },
        },
      }),
    );
    expect(configMap(result.objects)?.data).toMatchObject({ cluster: 'eu-1' });
  });

  it('passes the target kube version, so a chart requiring a newer cluster fails', async () => {
    const { sut } = makeRenderingService(scratch);
    const request = makeRequest(scratch, {
      release: { path: '.', kind: 'helm', helm: helmSpec({ chartPath: 'charts/web' }) },
      target: makeTarget({ kubernetesVersion: '1.29.3', apiVersions: [] }),
    });
    await expect(sut.render(request)).rejects.toMatchObject({
      code: 'RenderFailed',
      message: expect.stringMatching(/^helm failed.*kubeVersion/s),
    });
  });

  it('renders a chart archive (.tgz) inside the artifact', async () => {
    await run('tar', [
      '-czf',
      join(scratch.artifact, 'web-1.0.0.tgz'),
      '-C',
      join(scratch.artifact, 'charts'),
      'web',
    ]);
    const { sut } = makeRenderingService(scratch);
    const result = await sut.render(
      makeRequest(scratch, {
        release: {
          path: '.',
          kind: 'helm',
          helm: helmSpec({ chartPath: 'web-1.0.0.tgz', namespace: 'team-a-jobs' }),
        },
      }),
    );
    expect(configMap(result.objects)?.metadata.namespace).toBe('team-a-jobs');
  });

  it('reads values files inside the chart only when the spec says the chart is from a Helm repository', async () => {
    await scratch.write({ 'charts/web/values-prod.yaml': 'b: in-chart\n' });
    await run('tar', [
      '-czf',
      join(scratch.artifact, 'web-1.0.0.tgz'),
      '-C',
      join(scratch.artifact, 'charts'),
      'web',
    ]);
    const { sut } = makeRenderingService(scratch);
    // The artifact holds more than the archive: its shape says nothing, the flag decides.
    const fromRepository = await sut.render(
      makeRequest(scratch, {
        release: {
          path: '.',
          kind: 'helm',
          helm: helmSpec({
            chartPath: 'web-1.0.0.tgz',
            fromHelmRepository: true,
            valuesFiles: ['values-prod.yaml'],
          }),
        },
      }),
    );
    expect(configMap(fromRepository.objects)?.data).toMatchObject({ a: 'chart', b: 'in-chart' });
    const fromGit = await sut.render(
      makeRequest(scratch, {
        release: {
          path: '.',
          kind: 'helm',
          helm: helmSpec({ chartPath: 'web-1.0.0.tgz', valuesFiles: ['env/one.yaml'] }),
        },
      }),
    );
    expect(configMap(fromGit.objects)?.data).toMatchObject({ b: 'file1' });
    await expect(
      sut.render(
        makeRequest(scratch, {
          release: {
            path: '.',
            kind: 'helm',
            helm: helmSpec({ chartPath: 'charts/web', fromHelmRepository: true }),
          },
        }),
      ),
    ).rejects.toMatchObject({ code: 'InvalidInput', message: expect.stringContaining('.tgz') });
  });

  it.each([
    ['../../etc/passwd', 'PathEscapesArtifact', 'must not contain ".."'],
    ['/etc/passwd', 'PathEscapesArtifact', 'must be a relative path inside the artifact'],
    ['env/missing.yaml', 'InvalidInput', 'does not exist in the artifact'],
  ])('refuses values file %s', async (file, code, message) => {
    const { sut } = makeRenderingService(scratch, { helmPath: '/nonexistent/helm' });
    await expect(
      sut.render(
        makeRequest(scratch, {
          release: { path: 'charts/web', kind: 'helm', helm: helmSpec({ valuesFiles: [file] }) },
        }),
      ),
    ).rejects.toMatchObject({ code, message: expect.stringContaining(message) });
  });

  it('refuses a symlinked values file or chart leading out of the artifact, without echoing content', async () => {
    await scratch.link('env/evil.yaml', '/etc/passwd');
    await scratch.link('charts/linked', '/usr/share');
    const { sut } = makeRenderingService(scratch, { helmPath: '/nonexistent/helm' });
    const error = await sut
      .render(
        makeRequest(scratch, {
          release: {
            path: 'charts/web',
            kind: 'helm',
            helm: helmSpec({ valuesFiles: ['env/evil.yaml'] }),
          },
        }),
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'PathEscapesArtifact',
      message: 'values file "env/evil.yaml" resolves outside the artifact',
    });
    expect((error as Error).message).not.toMatch(/root:/);
    await expect(
      sut.render(
        makeRequest(scratch, {
          release: { path: 'charts/linked', kind: 'helm', helm: helmSpec() },
        }),
      ),
    ).rejects.toMatchObject({ code: 'PathEscapesArtifact' });
  });

  it('refuses a chart whose files symlink out of the artifact (.Files.Get)', async () => {
    await scratch.link('charts/web/files/passwd', '/etc/passwd');
    const { sut } = makeRenderingService(scratch);
    const error = await sut
      .render(
        makeRequest(scratch, {
          release: {
            path: 'charts/web',
            kind: 'helm',
            helm: helmSpec({ values: { fileToRead: 'files/passwd' } }),
          },
        }),
      )
      .catch((e: unknown) => e);
    // `files/passwd` is also an inline value, and inline values are redacted from errors.
    expect(error).toMatchObject({
      code: 'PathEscapesArtifact',
      message: 'charts/web/[redacted] is a symlink that resolves outside the artifact',
    });
  });

  it('validates release name, namespace, kube version and api versions before running helm', async () => {
    const { sut } = makeRenderingService(scratch, { helmPath: '/nonexistent/helm' });
    await expect(
      sut.render(
        makeRequest(scratch, {
          release: {
            path: 'charts/web',
            kind: 'helm',
            helm: helmSpec({ releaseName: '--post-renderer=x' }),
          },
          target: makeTarget({ kubernetesVersion: 'latest', apiVersions: ['--repo=https://evil'] }),
        }),
      ),
    ).rejects.toMatchObject({
      code: 'InvalidInput',
      message:
        'helm release name must be a DNS name of at most 53 characters; kubernetes version must look like 1.34.0; api version "--repo=https://evil" is malformed',
    });
  });

  it('fails on an undefined variable in helm output when strict', async () => {
    await scratch.write({
      'charts/web/templates/extra.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {v: "${nope}"}\n',
    });
    const { sut } = makeRenderingService(scratch, { strictPostBuildSubstitutions: true });
    await expect(
      sut.render(
        makeRequest(scratch, {
          release: {
            path: 'charts/web',
            kind: 'helm',
            helm: helmSpec(),
            postBuild: { variables: {} },
          },
        }),
      ),
    ).rejects.toMatchObject({
      code: 'UndefinedVariable',
      message:
        'variable substitution failed in web/templates/extra.yaml (ConfigMap/x): variable not set (strict mode): "nope"',
    });
  });
});
