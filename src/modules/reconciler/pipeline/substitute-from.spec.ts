import { describe, expect, it } from 'vitest';
import type { KubeApiClient } from 'src/common/kube/kube-api.client';
import { KubeError } from 'src/common/kube/kube.errors';
import type { KubeObject } from 'src/common/kube/kube-object';
import { reconcileContext } from 'test/support/factories/reconcile-context.factory';
import { automock, mockOf } from 'test/support/mocks/automock';
import { SubstituteFromReader, variablesDigest } from './substitute-from';

const SECRET = 's3cr3t-canary-value';

function setup(objects: Record<string, KubeObject>) {
  const built = automock(SubstituteFromReader, ['pool']);
  const api = mockOf<KubeApiClient>();
  api.get.mockImplementation((ref) => Promise.resolve(objects[`${ref.kind}/${ref.name}`]));
  built.deps.pool.clientFor.mockResolvedValue(api);
  return { ...built, api };
}

const cm = (name: string, data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data,
});
const secret = (name: string, data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name },
  data: Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
});

describe(SubstituteFromReader.name, () => {
  it("merges in Flux's order: later objects override earlier ones, inline wins, newlines go", async () => {
    const { sut, api } = setup({
      'ConfigMap/base': cm('base', { a: 'base', b: 'base', c: 'base' }),
      'Secret/creds': secret('creds', { b: `${SECRET}\n`, c: 'secret' }),
    });
    const ctx = reconcileContext();
    const outcome = await sut.resolve(ctx, {
      substitute: { c: 'inline\nvalue' },
      substituteFrom: [
        { kind: 'ConfigMap', name: 'base' },
        { kind: 'Secret', name: 'creds' },
        { kind: 'ConfigMap', name: 'absent', optional: true },
      ],
    });
    expect(outcome).toEqual({
      ok: true,
      value: {
        variables: { a: 'base', b: SECRET, c: 'inlinevalue' },
        secretValues: [SECRET, 'secret'],
      },
    });
    // Read in the target namespace as the grant's service account.
    expect(api.get).toHaveBeenCalledWith(
      {
        group: '',
        version: 'v1',
        kind: 'Secret',
        namespace: ctx.release.targetNamespace,
        name: 'creds',
      },
      { impersonate: 'system:serviceaccount:apps:deployer' },
    );
  });

  it('ends the run with SubstituteFromNotFound naming kind, name and namespace', async () => {
    const { sut } = setup({});
    const ctx = reconcileContext();
    const outcome = await sut.resolve(ctx, { substituteFrom: [{ kind: 'Secret', name: 'vars' }] });
    expect(outcome).toMatchObject({
      ok: false,
      end: {
        reason: 'SubstituteFromNotFound',
        message: `postBuild.substituteFrom: Secret/vars in namespace ${ctx.release.targetNamespace} not found on cluster prod-eu; create it or mark it optional`,
        ready: 'False',
      },
    });
  });

  it('refuses a key that is not a variable name, naming the key but never a value', async () => {
    const { sut } = setup({ 'Secret/vars': secret('vars', { 'app.conf': SECRET }) });
    const outcome = await sut.resolve(reconcileContext(), {
      substituteFrom: [{ kind: 'Secret', name: 'vars' }],
    });
    expect(outcome).toMatchObject({ ok: false, end: { reason: 'SubstituteFromFailed' } });
    expect(JSON.stringify(outcome)).toContain('app.conf');
    expect(JSON.stringify(outcome)).not.toContain(SECRET);
  });

  it('says which permission is missing when the read is forbidden', async () => {
    const { sut, api } = setup({});
    api.get.mockRejectedValue(new KubeError('Forbidden', 'secrets "vars" is forbidden'));
    const outcome = await sut.resolve(reconcileContext(), {
      substituteFrom: [{ kind: 'Secret', name: 'vars' }],
    });
    expect(outcome).toMatchObject({
      ok: false,
      end: {
        reason: 'SubstituteFromFailed',
        message: expect.stringContaining('grant it get on secrets there'),
      },
    });
  });

  it('touches no cluster for inline variables only', async () => {
    const { sut, deps } = setup({});
    const outcome = await sut.resolve(reconcileContext(), { substitute: { a: '1' } });
    expect(outcome).toEqual({ ok: true, value: { variables: { a: '1' }, secretValues: [] } });
    expect(deps.pool.clientFor).not.toHaveBeenCalled();
  });

  it('digests variables independent of key order and never shows a value', () => {
    expect(variablesDigest({ a: '1', b: SECRET })).toBe(variablesDigest({ b: SECRET, a: '1' }));
    expect(variablesDigest({ a: '1' })).not.toBe(variablesDigest({ a: '2' }));
    expect(variablesDigest({ b: SECRET })).not.toContain(SECRET);
  });
});
