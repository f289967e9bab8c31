import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ToolRunner } from 'src/modules/rendering/tool-runner';
import { RenderingError } from 'src/modules/rendering/rendering.errors';
import { defaultRenderingOptions } from 'src/modules/rendering/rendering.options';
import { RenderingService } from 'src/modules/rendering/rendering.service';
import type { RenderRequest } from 'src/modules/rendering/rendering.types';
import {
  type HelmChartResult,
  HelmRepositoryClient,
} from 'src/modules/sources/helm/helm-repository.client';
import {
  createFetchEngine,
  createHelmRepositoryClient,
  type FetchEngine,
} from 'test/e2e/sources/fetch-engine.factory';
import { HELM_PATH, HelmRepoServer } from 'test/support/helm-repo/helm-repo-server';

const run = promisify(execFile);
const CANARY = 'chart-values-canary-93b1';

const SHOP_FILES = {
  'values.yaml': 'message: hello\ntier: default\nsize: small\nregion: none\n',
  'values-prod.yaml': 'tier: prod\nsize: large\n',
  'envs/eu.yaml': 'size: xl\nregion: eu\n',
  'templates/configmap.yaml': [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: {{ .Release.Name }}',
    'data:',
    '  message: {{ .Values.message | quote }}',
    '  tier: {{ .Values.tier | quote }}',
    '  size: {{ .Values.size | quote }}',
    '  region: {{ .Values.region | quote }}',
    '',
  ].join('\n'),
};

describe('valuesFiles of a chart from a Helm repository: files shipped inside the chart', () => {
  let repo: HelmRepoServer;
  let engine: FetchEngine;
  let scratch: string;
  let chart: HelmChartResult;
  let sut: RenderingService;
  let client: HelmRepositoryClient;

  beforeAll(async () => {
    repo = await HelmRepoServer.start();
    await repo.addChart('shop', '1.0.0', { files: SHOP_FILES });
    await repo.addChart('vault', '1.0.0', {
      files: {
        'values-prod.yaml': `password: ${CANARY}\nboom: true\n`,
        'templates/fail.yaml':
          '{{ if .Values.boom }}{{ fail (printf "bad %s" .Values.password) }}{{ end }}\n',
      },
    });
    await repo.reindex();
    engine = await createFetchEngine({ allowHttp: true });
    client = createHelmRepositoryClient(engine);
    chart = await client.fetchChart({ url: repo.url() }, 'shop', '1.0.0');
    scratch = await mkdtemp(join(tmpdir(), 'gitfleet-chart-values-'));
    const options = defaultRenderingOptions({ tempRoot: scratch, helmPath: HELM_PATH });
    sut = new RenderingService(options, new ToolRunner(options));
  });
  afterAll(async () => {
    await repo.close();
    await engine.dispose();
    await rm(scratch, { recursive: true, force: true });
  });

  // What the reconcile engine hands over for a helm source's chart.
  const request = (
    valuesFiles: string[],
    values?: Record<string, unknown>,
    fromHelmRepository = true,
  ): RenderRequest => ({
    artifactRoot: chart.artifact.path,
    release: {
      path: '',
      kind: 'helm',
      helm: {
        chartPath: basename(chart.archivePath),
        fromHelmRepository,
        valuesFiles,
        ...(values === undefined ? {} : { values }),
        releaseName: 'shop',
      },
    },
    target: {
      clusterName: 'eu-1',
      clusterLabels: {},
      kubernetesVersion: '1.34.0',
      apiVersions: [],
      targetNamespace: 'apps',
      tenant: 'team-a',
    },
  });

  it('merges chart defaults < values files in order < inline values, as `helm template -f` does', async () => {
    const result = await sut.render(
      request(['values-prod.yaml', 'envs/eu.yaml'], { region: 'inline' }),
    );
    const data = result.objects.find((o) => o.kind === 'ConfigMap')?.data;
    expect(data).toEqual({ message: 'hello', tier: 'prod', size: 'xl', region: 'inline' });

    // The same files handed to the real helm by hand give the same values.
    const unpacked = join(scratch, 'unpacked');
    await mkdir(unpacked, { recursive: true });
    await run('tar', ['-xzf', chart.archivePath, '-C', unpacked]);
    await writeFile(join(unpacked, 'inline.json'), JSON.stringify({ region: 'inline' }));
    const { stdout } = await run(
      HELM_PATH,
      [
        'template', 'shop', chart.archivePath, '--namespace', 'apps',
        '-f', join(unpacked, 'shop', 'values-prod.yaml'),
        '-f', join(unpacked, 'shop', 'envs', 'eu.yaml'),
        '-f', join(unpacked, 'inline.json'),
      ], // prettier-ignore
      { env: { HOME: scratch, PATH: '/usr/bin:/bin' } },
    );
    const byHand = parseAllDocuments(stdout)
      .map((d) => d.toJS() as { kind?: string; data?: unknown } | null)
      .find((o) => o?.kind === 'ConfigMap');
    expect(byHand?.data).toEqual(data);
  });

  it('without values files renders the chart defaults', async () => {
    const result = await sut.render(request([]));
    expect(result.objects.find((o) => o.kind === 'ConfigMap')?.data).toMatchObject({
      tier: 'default',
      size: 'small',
    });
  });

  it.each([
    ['../../../etc/passwd', 422, 'PathEscapesArtifact', /must stay inside the chart/],
    ['/etc/passwd', 422, 'PathEscapesArtifact', /must be a relative path inside the chart/],
    ['values-staging.yaml', 400, 'InvalidInput', /does not exist in chart shop-1\.0\.0\.tgz/],
  ])(
    'refuses %s with a %i RenderingError, nothing rendered',
    async (file, status, code, message) => {
      const error = await sut.render(request(['values-prod.yaml', file])).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(RenderingError);
      expect(error).toMatchObject({ status, code, message: expect.stringMatching(message) });
      expect((error as Error).message).not.toMatch(/root:/);
    },
  );

  it("redacts a chart values file's values from a failed render's message", async () => {
    const vault = await client.fetchChart({ url: repo.url() }, 'vault', '1.0.0');
    const base = request(['values-prod.yaml']);
    const error = await sut
      .render({
        ...base,
        artifactRoot: vault.artifact.path,
        release: {
          ...base.release,
          helm: { ...base.release.helm!, chartPath: basename(vault.archivePath) },
        },
      })
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(error).toMatchObject({ code: 'RenderFailed' });
    expect(error?.message).toContain('bad [redacted]');
    expect(error?.message).not.toContain(CANARY);
  });

  it('keeps values files of a git artifact holding a chart archive relative to the artifact', async () => {
    const gitLike = join(scratch, 'git-like');
    await mkdir(join(gitLike, 'env'), { recursive: true });
    await copyFile(chart.archivePath, join(gitLike, basename(chart.archivePath)));
    await writeFile(join(gitLike, 'env', 'prod.yaml'), 'tier: from-repo\n');
    const base = request(['env/prod.yaml'], undefined, false);
    const result = await sut.render({ ...base, artifactRoot: gitLike });
    expect(result.objects.find((o) => o.kind === 'ConfigMap')?.data).toMatchObject({
      tier: 'from-repo',
    });
    // A path only the chart holds is not looked up there for such an artifact.
    await expect(
      sut.render({ ...request(['values-prod.yaml'], undefined, false), artifactRoot: gitLike }),
    ).rejects.toMatchObject({ code: 'InvalidInput', message: /does not exist in the artifact/ });
  });
});
