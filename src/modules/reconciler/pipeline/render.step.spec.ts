import { describe, expect, it } from 'vitest';
import {
  artifactOf,
  configMap,
  reconcileContext,
  renderResultOf,
} from 'test/support/factories/reconcile-context.factory';
import { automock } from 'test/support/mocks/automock';
import { RenderingError, RenderingErrorCode } from 'src/modules/rendering/rendering.errors';
import { RenderStep } from './render.step';

function setup() {
  const built = automock(RenderStep, ['rendering', 'renderCache', 'substituteFrom', 'sources']);
  // The cache runs the render it is asked for.
  built.deps.renderCache.get.mockImplementation((_key, render) => render());
  built.deps.renderCache.referencedVariables.mockResolvedValue(new Set(['clusterName']));
  built.deps.renderCache.chartDetected.mockImplementation((_root, _path, detect) => detect());
  return built;
}

describe(RenderStep.name, () => {
  it('renders plain manifests through the cache keyed by the variables they use', async () => {
    const { sut, deps } = setup();
    deps.rendering.render.mockResolvedValue(renderResultOf([configMap('a')]));

    const outcome = await sut.run(reconcileContext(), artifactOf());

    expect(outcome).toEqual({ ok: true, value: renderResultOf([configMap('a')]) });
    expect(deps.renderCache.referencedVariables).toHaveBeenCalledWith('/artifacts/abc');
    expect(deps.rendering.render).toHaveBeenCalledWith(
      expect.objectContaining({
        artifactRoot: '/artifacts/abc',
        release: expect.objectContaining({ path: 'apps', helm: undefined }),
        target: expect.objectContaining({ clusterName: 'prod-eu', tenant: 'team-a' }),
      }),
    );
  });

  it('renders literally without a postBuild: no variables, no cluster read, no facts in the key', async () => {
    const { sut, deps } = setup();
    deps.rendering.render.mockResolvedValue(renderResultOf([configMap('a')]));

    await sut.run(reconcileContext(), artifactOf());
    await sut.run(reconcileContext({ cluster: { name: 'other', labels: {} } }), artifactOf());

    expect(deps.substituteFrom.resolve).not.toHaveBeenCalled();
    expect(deps.rendering.render).toHaveBeenCalledWith(
      expect.objectContaining({ release: expect.objectContaining({ postBuild: undefined }) }),
    );
    const keys = deps.renderCache.get.mock.calls.map(([key]) => key);
    expect(keys[0]).toBe(keys[1]);
  });

  it('passes resolved postBuild variables and keys the cache by their digest', async () => {
    const { sut, deps } = setup();
    deps.rendering.render.mockResolvedValue(renderResultOf([configMap('a')]));
    deps.renderCache.referencedVariables.mockResolvedValue(new Set(['greeting']));
    const postBuild = { substituteFrom: [{ kind: 'ConfigMap' as const, name: 'vars' }] };
    const ctx = reconcileContext({ release: { postBuild } });
    const resolved = (greeting: string) => ({
      ok: true as const,
      value: { variables: { greeting, unused: greeting }, secretValues: [] },
    });

    deps.substituteFrom.resolve.mockResolvedValueOnce(resolved('hello'));
    await sut.run(ctx, artifactOf());
    deps.substituteFrom.resolve.mockResolvedValueOnce(resolved('hello'));
    await sut.run(ctx, artifactOf());
    deps.substituteFrom.resolve.mockResolvedValueOnce(resolved('changed'));
    await sut.run(ctx, artifactOf());

    expect(deps.rendering.render).toHaveBeenCalledWith(
      expect.objectContaining({
        release: expect.objectContaining({
          postBuild: { variables: { greeting: 'changed', unused: 'changed' } },
        }),
      }),
    );
    const keys = deps.renderCache.get.mock.calls.map(([key]) => key);
    expect(keys[0]).toBe(keys[1]);
    // A changed ConfigMap value is a new render, not a cache hit.
    expect(keys[2]).not.toBe(keys[0]);
  });

  it('passes the kustomize overlay and keys the cache by it, even at one generation', async () => {
    const { sut, deps } = setup();
    deps.rendering.render.mockResolvedValue(renderResultOf([configMap('a')]));
    const overlay = (prefix: string) =>
      reconcileContext({ release: { kustomize: { namePrefix: prefix } } });

    await sut.run(overlay('eu-'), artifactOf());
    await sut.run(overlay('eu-'), artifactOf());
    await sut.run(overlay('us-'), artifactOf());
    await sut.run(reconcileContext(), artifactOf());

    expect(deps.rendering.render).toHaveBeenCalledWith(
      expect.objectContaining({
        release: expect.objectContaining({ kustomize: { namePrefix: 'us-' } }),
      }),
    );
    const keys = deps.renderCache.get.mock.calls.map(([key]) => key);
    expect(keys[0]).toBe(keys[1]);
    expect(new Set([keys[0], keys[2], keys[3]]).size).toBe(3);
  });

  it('ends the run with the substituteFrom failure before rendering', async () => {
    const { sut, deps } = setup();
    deps.substituteFrom.resolve.mockResolvedValue({
      ok: false,
      end: {
        result: 'Failed',
        reason: 'SubstituteFromNotFound',
        message: 'postBuild.substituteFrom: Secret/vars in namespace apps not found',
        ready: 'False',
        retry: 'backoff',
      },
      cause: 'postBuild.substituteFrom: Secret/vars in namespace apps not found',
    });

    const outcome = await sut.run(
      reconcileContext({ release: { postBuild: { substitute: {} } } }),
      artifactOf(),
    );

    expect(outcome).toMatchObject({
      ok: false,
      end: { reason: 'SubstituteFromNotFound', revision: 'main@sha1:abc' },
    });
    expect(deps.rendering.render).not.toHaveBeenCalled();
  });

  it('scrubs values read from Secrets out of a render failure', async () => {
    const { sut, deps } = setup();
    deps.substituteFrom.resolve.mockResolvedValue({
      ok: true,
      value: { variables: { password: 'hunter2-canary' }, secretValues: ['hunter2-canary'] },
    });
    deps.rendering.render.mockRejectedValue(new Error('webhook said: hunter2-canary is weak'));

    const outcome = await sut.run(
      reconcileContext({ release: { postBuild: { substituteFrom: [] } } }),
      artifactOf(),
    );

    expect(outcome).toMatchObject({
      ok: false,
      end: { reason: 'BuildFailed', message: 'webhook said: [redacted] is weak' },
    });
  });

  it("gives a chart every fact and the helm source's archive as its chart", async () => {
    const { sut, deps } = setup();
    deps.rendering.render.mockResolvedValue(renderResultOf([configMap('a')]));
    const helm = { chart: 'web', valuesFiles: [], values: {} };

    await sut.run(
      reconcileContext({ release: { helm } }),
      artifactOf({ chartPath: 'web.tgz', fromHelmRepository: true }),
    );

    expect(deps.renderCache.referencedVariables).not.toHaveBeenCalled();
    expect(deps.rendering.render).toHaveBeenCalledWith(
      expect.objectContaining({
        release: expect.objectContaining({
          helm: {
            chartPath: 'web.tgz',
            fromHelmRepository: true,
            valuesFiles: [],
            values: {},
            releaseName: 'web',
          },
        }),
      }),
    );
  });

  it('stalls with BuildFailed at the revision when the render fails', async () => {
    const { sut, deps } = setup();
    deps.rendering.render.mockRejectedValue(new Error('kustomize: no such file'));

    expect(await sut.run(reconcileContext(), artifactOf())).toMatchObject({
      ok: false,
      end: {
        reason: 'BuildFailed',
        message: 'kustomize: no such file',
        stalled: true,
        revision: 'main@sha1:abc',
        retry: 'interval',
      },
    });
  });

  it('ends with ChartDependencyFetchFailed and retries with backoff when a dependency cannot be fetched', async () => {
    const { sut, deps } = setup();
    deps.rendering.render.mockRejectedValue(
      new RenderingError(
        RenderingErrorCode.DependencyFetchFailed,
        'chart dependency "redis" from https://charts.example could not be fetched: 503',
      ),
    );

    expect(await sut.run(reconcileContext(), artifactOf())).toMatchObject({
      ok: false,
      end: {
        reason: 'ChartDependencyFetchFailed',
        message: expect.stringContaining('"redis"'),
        retry: 'backoff',
      },
    });
  });

  it('renders a path holding a Chart.yaml with every fact and a fetcher for its dependencies', async () => {
    const { sut, deps } = setup();
    deps.rendering.detectsChart.mockResolvedValue(true);
    deps.rendering.render.mockResolvedValue(renderResultOf([configMap('a')]));
    deps.sources.fetchChartDependency.mockResolvedValue({
      archivePath: '/c/redis.tgz',
      version: '1.0.0',
    });

    await sut.run(reconcileContext(), artifactOf());

    expect(deps.renderCache.referencedVariables).not.toHaveBeenCalled();
    const request = deps.rendering.render.mock.calls[0]?.[0];
    expect(request?.release.releaseName).toBe(reconcileContext().release.name);
    await request?.fetchChartDependency?.({
      name: 'redis',
      repository: 'https://c',
      version: '1.0.0',
    });
    expect(deps.sources.fetchChartDependency).toHaveBeenCalledWith(
      reconcileContext().release.tenantId,
      { name: 'redis', repository: 'https://c', version: '1.0.0' },
    );
  });
});
