import { describe, expect, it } from 'vitest';
import {
  configMap,
  reconcileContext,
  renderResultOf,
} from 'test/support/factories/reconcile-context.factory';
import { automock } from 'test/support/mocks/automock';
import { AdmitStep } from './admit.step';

const ctx = reconcileContext();
const grant = ctx.grant!;

describe(AdmitStep.name, () => {
  it("checks the render against the grant's namespaces, with ownership", () => {
    const { sut, deps } = automock(AdmitStep, ['policy']);
    deps.policy.check.mockReturnValue({ objects: [configMap('a')] });

    const outcome = sut.run(ctx, grant, renderResultOf([configMap('a')]), 'main@sha1:abc');

    expect(outcome).toEqual({ ok: true, value: [configMap('a')] });
    expect(deps.policy.check).toHaveBeenCalledWith(
      [configMap('a')],
      { namespaces: ['apps'], clusterScopedKinds: [], targetNamespace: 'apps' },
      { owner: { tenant: 'team-a', release: 'web' } },
    );
  });

  it('stalls with PolicyViolation when the policy refuses an object', () => {
    const { sut, deps } = automock(AdmitStep, ['policy']);
    deps.policy.check.mockImplementation(() => {
      throw new Error('namespace "kube-system" is not granted');
    });

    expect(sut.run(ctx, grant, renderResultOf([configMap('a')]), 'rev')).toMatchObject({
      ok: false,
      end: { reason: 'PolicyViolation', stalled: true, revision: 'rev' },
    });
  });

  it('refuses an empty render unless the release allows it, and never for a plan', () => {
    const { sut, deps } = automock(AdmitStep, ['policy']);
    deps.policy.check.mockReturnValue({ objects: [] });
    const empty = renderResultOf([]);

    expect(sut.run(ctx, grant, empty, 'rev')).toMatchObject({
      ok: false,
      end: { reason: 'EmptyRender', stalled: true },
    });
    expect(
      sut.run(reconcileContext({ release: { allowEmpty: true } }), grant, empty, 'rev'),
    ).toEqual({ ok: true, value: [] });
    expect(sut.run(ctx, grant, empty, 'rev', { refuseEmpty: false })).toEqual({
      ok: true,
      value: [],
    });
  });
});
