import { describe, expect, it } from 'vitest';
import { makeTarget } from 'test/fixtures/rendering/rendering.factory';
import { RenderingError } from './rendering.errors';
import {
  referencedVariableNames,
  buildVariables,
  clusterLabelVariableName,
  releaseVariableProblems,
  substituteVariables,
} from './variables';

const where = (): string => 'app/cm.yaml (ConfigMap/app)';

describe('variables', () => {
  it('builds built-ins from the target facts and sanitized cluster label keys', () => {
    const vars = buildVariables(makeTarget(), { image_tag: 'v2' });
    expect(Object.fromEntries(vars)).toEqual({
      cluster_name: 'eu-1',
      target_namespace: 'team-a',
      tenant: 'team-a',
      cluster_label_env: 'prod',
      cluster_label_topology_kubernetes_io_region: 'eu-west',
      image_tag: 'v2',
    });
    expect(clusterLabelVariableName('a.b/c-d')).toBe('cluster_label_a_b_c_d');
  });

  it('picks the lexicographically first label when two keys sanitize alike', () => {
    const vars = buildVariables(makeTarget({ clusterLabels: { a_b: 'second', 'a.b': 'first' } }));
    expect(vars.get('cluster_label_a_b')).toBe('first');
  });

  it('refuses release variables that would override built-ins or have bad names', () => {
    expect(
      releaseVariableProblems({
        cluster_name: 'x',
        cluster_label_env: 'y',
        '1bad': 'z',
        ok_1: 'v',
      }),
    ).toEqual([
      'variable "cluster_name" is reserved for a built-in variable',
      'variable "cluster_label_env" is reserved for a built-in variable',
      'variable name "1bad" must match [A-Za-z_][A-Za-z0-9_]*',
    ]);
    // A substituteFrom key named like a built-in does not override it; a bad name fails.
    expect(buildVariables(makeTarget(), { tenant: 'other' }).get('tenant')).toBe('team-a');
    expect(() => buildVariables(makeTarget(), { 'my-key': 'x' })).toThrow(
      expect.objectContaining({ code: 'InvalidVariable' }),
    );
  });

  it('substitutes as Flux does: $${x} is a literal ${x}, $$ is $, $name and defaults', () => {
    const vars = new Map([['name', 'web']]);
    const text = 'a: ${name}\nb: $${name}\nc: ${HOME:-x}\nd: $name\ne: $$${name}\n';
    expect(substituteVariables(text, vars, where)).toBe(
      'a: web\nb: ${name}\nc: x\nd: $name\ne: $web\n',
    );
  });

  it('fails on a malformed ${...}, naming where it is, never a value', () => {
    let caught: unknown;
    try {
      substituteVariables('a: ${name-x}', new Map([['name', 'sekrit']]), where);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RenderingError);
    expect(caught).toMatchObject({ code: 'RenderFailed' });
    expect((caught as Error).message).toBe(
      'variable substitution failed in app/cm.yaml (ConfigMap/app): missing closing brace',
    );
  });

  it('names the variables a text references, also in defaults, not escaped ones', () => {
    expect(
      referencedVariableNames('a: ${cluster_name}\nb: $${literal}\nc: ${HOME:-x} ${tenant}'),
    ).toEqual(['cluster_name', 'HOME', 'tenant']);
    expect(referencedVariableNames('no references')).toEqual([]);
  });
});
