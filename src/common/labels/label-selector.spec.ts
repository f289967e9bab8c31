import { describe, expect, it } from 'vitest';
import { matchesSelector, parseLabelSelector, selectorToSql } from './label-selector';
import { labelProblems } from './labels';

describe('parseLabelSelector', () => {
  it('parses every Kubernetes requirement form', () => {
    expect(parseLabelSelector('a=b,c!=d,e in (x,y),!f,g,h==i,j notin (k)')).toEqual([
      { op: 'eq', key: 'a', value: 'b' },
      { op: 'neq', key: 'c', value: 'd' },
      { op: 'in', key: 'e', values: ['x', 'y'] },
      { op: 'notexists', key: 'f' },
      { op: 'exists', key: 'g' },
      { op: 'eq', key: 'h', value: 'i' },
      { op: 'notin', key: 'j', values: ['k'] },
    ]);
  });

  it('accepts prefixed keys, spaces and empty values; empty selects all', () => {
    expect(parseLabelSelector(' example.com/team = a , tier in ( x , y ) ')).toHaveLength(2);
    expect(parseLabelSelector('a=')).toEqual([{ op: 'eq', key: 'a', value: '' }]);
    expect(parseLabelSelector('')).toEqual([]);
  });

  it.each([
    'a=b,',
    '=b',
    'a in x',
    'a in (x',
    'a in ()',
    'a b',
    '!',
    'a=b=c',
    'Bad_/x=1',
    `a=${'v'.repeat(64)}`,
  ])('rejects %s', (input) => {
    expect(() => parseLabelSelector(input)).toThrow();
  });

  it('matches with Kubernetes semantics (!= and notin match a missing key)', () => {
    const labels = { env: 'prod', tier: 'web' };
    const m = (s: string): boolean => matchesSelector(parseLabelSelector(s), labels);
    expect(m('env=prod')).toBe(true);
    expect(m('env!=prod')).toBe(false);
    expect(m('missing!=x')).toBe(true);
    expect(m('tier in (web,api)')).toBe(true);
    expect(m('missing notin (x)')).toBe(true);
    expect(m('missing in (x)')).toBe(false);
    expect(m('!env')).toBe(false);
    expect(m('env,tier')).toBe(true);
  });

  it('renders parameterised SQL, never inlining values', () => {
    const { sql, params } = selectorToSql(
      [
        { op: 'eq', key: 'a', value: "x'" },
        { op: 'notexists', key: 'b' },
      ],
      'labels',
      2,
    );
    expect(sql).not.toContain("x'");
    expect(sql).toContain('$3');
    expect(params).toEqual(['a', "x'", 'b']);
  });
});

describe('labelProblems', () => {
  it('accepts valid labels and names invalid ones by key', () => {
    expect(labelProblems({ 'example.com/team': 'a', env: '' })).toEqual([]);
    const problems = labelProblems({ 'bad key': 'x', ok: 'bad value!' });
    expect(problems.map((p) => p.field)).toEqual(['labels.bad key', 'labels.ok']);
    expect(problems.map((p) => p.message).join()).not.toContain('bad value!');
  });
});
