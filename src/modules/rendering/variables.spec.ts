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
    expect(() => buildVariables(makeTarget(), { tenant: 'other' })).toThrow(
      expect.objectContaining({ code: 'InvalidVariable' }),
    );
  });

  it('substitutes ${var}, turns $${x} into a literal ${x} and leaves other ${...} forms alone', () => {
    const vars = new Map([['name', 'web']]);
    const text = 'a: ${name}\nb: $${name}\nc: ${HOME:-x}\nd: $name\ne: $$${name}\n';
    expect(substituteVariables(text, vars, where)).toBe(
      'a: web\nb: ${name}\nc: ${HOME:-x}\nd: $name\ne: $${name}\n',
    );
  });

  it('fails on an undefined variable, naming it and where it is used', () => {
    let caught: unknown;
    try {
      substituteVariables('a: ${missing_var}', new Map(), where);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RenderingError);
    expect(caught).toMatchObject({ code: 'UndefinedVariable' });
    expect((caught as Error).message).toBe(
      'undefined variable "missing_var" in app/cm.yaml (ConfigMap/app)',
    );
  });

  it('names the variables a text references, not escaped or shell forms', () => {
    expect(
      referencedVariableNames('a: ${cluster_name}\nb: $${literal}\nc: ${HOME:-x} ${tenant}'),
    ).toEqual(['cluster_name', 'tenant']);
    expect(referencedVariableNames('no references')).toEqual([]);
  });
});
