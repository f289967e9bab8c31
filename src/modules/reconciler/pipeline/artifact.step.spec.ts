import { describe, expect, it } from 'vitest';
import { artifactOf, reconcileContext } from 'test/support/factories/reconcile-context.factory';
import { automock } from 'test/support/mocks/automock';
import { ArtifactStep } from './artifact.step';

describe(ArtifactStep.name, () => {
  it("answers the release's artifact", async () => {
    const { sut, deps } = automock(ArtifactStep, ['sources']);
    const ctx = reconcileContext();
    deps.sources.releaseArtifactOf.mockResolvedValue(artifactOf());

    expect(await sut.run(ctx)).toEqual({ ok: true, value: artifactOf() });
    expect(deps.sources.releaseArtifactOf).toHaveBeenCalledWith(ctx.source, null);
  });

  it('fails with ArtifactFailed and a backoff when the source cannot be read', async () => {
    const { sut, deps } = automock(ArtifactStep, ['sources']);
    deps.sources.releaseArtifactOf.mockRejectedValue(new Error('fetch failed: 500'));

    expect(await sut.run(reconcileContext())).toEqual({
      ok: false,
      cause: 'fetch failed: 500',
      end: {
        result: 'Failed',
        reason: 'ArtifactFailed',
        message: 'source artifact unavailable: fetch failed: 500',
        ready: 'False',
        retry: 'backoff',
      },
    });
  });

  it('fails without asking the sources when the source was deleted', async () => {
    const { sut, deps } = automock(ArtifactStep, ['sources']);

    const outcome = await sut.run(reconcileContext({ source: null }));

    expect(outcome).toMatchObject({ ok: false, cause: "the release's source no longer exists" });
    expect(deps.sources.releaseArtifactOf).not.toHaveBeenCalled();
  });
});
