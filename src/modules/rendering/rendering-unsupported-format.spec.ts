import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createScratch,
  makeRenderingService,
  makeRequest,
  type Scratch,
} from 'test/fixtures/rendering/rendering.factory';
import { RenderingError, RenderingErrorCode } from './rendering.errors';
import type { RenderRequest } from './rendering.types';

const RENDERED =
  'gitfleet renders plain YAML/JSON manifests, Kustomize (a kustomization.yaml) and Helm charts';

describe('RenderingService — formats it does not render', () => {
  let scratch: Scratch;

  beforeEach(async () => {
    scratch = await createScratch();
  });

  afterEach(async () => {
    expect(await scratch.leftovers()).toEqual([]);
    await scratch.cleanup();
  });

  async function failure(release: RenderRequest['release']): Promise<RenderingError> {
    const { sut } = makeRenderingService(scratch);
    const error = await sut.render(makeRequest(scratch, { release })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RenderingError);
    return error as RenderingError;
  }

  it('names Jsonnet and CUE files in a path with no manifests', async () => {
    await scratch.write({
      'env/main.jsonnet': '{}',
      'env/lib/util.libsonnet': '{}',
      'env/schema.cue': 'package x',
      'env/README.md': '# docs only',
    });
    const error = await failure({ path: 'env' });
    expect(error.code).toBe(RenderingErrorCode.UnsupportedFormat);
    expect(error.message).toBe(
      `path "env" holds no YAML or JSON manifests, only Jsonnet (2 files), CUE (1 file), ` +
        `which gitfleet does not render; ${RENDERED}: commit the rendered YAML instead`,
    );
  });

  it('names other file types by extension', async () => {
    await scratch.write({ 'gen/make.sh': 'echo', 'gen/values.toml': 'a = 1' });
    const error = await failure({ path: 'gen' });
    expect(error.code).toBe(RenderingErrorCode.UnsupportedFormat);
    expect(error.message).toContain('only *.sh files (1 file), *.toml files (1 file)');
  });

  it('refuses a Helm chart where Kustomize was asked', async () => {
    await scratch.write({
      'chart/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.1.0\n',
      'chart/templates/cm.yaml': 'kind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n',
    });
    // Without a kind the chart is detected and rendered (Argo CD's rule), and an
    // explicit `kind: plain` takes its files as they are; only Kustomize is refused.
    const error = await failure({ path: 'chart', kind: 'kustomize' });
    expect(error.code).toBe(RenderingErrorCode.UnsupportedFormat);
    expect(error.message).toBe(
      `path "chart" holds a Helm chart (Chart.yaml) where a Kustomize path was expected; ${RENDERED}: ` +
        "set the release's helm.chart to this path to render it with Helm",
    );
  });

  it('keeps an empty directory, or one of documentation only, an empty render', async () => {
    await scratch.write({ 'docs/README.md': '# later', 'docs/LICENSE': 'MIT' });
    const { sut } = makeRenderingService(scratch);
    const result = await sut.render(makeRequest(scratch, { release: { path: 'docs' } }));
    expect(result.objects).toEqual([]);
  });
});
