import { describe, expect, it } from 'vitest';
import { EnvsubstError, envsubst, envsubstNames } from './envsubst';

const lax = { strict: false };
const strict = { strict: true };
const run = (text: string, vars: Record<string, string>, options = lax): string =>
  envsubst(text, (name) => vars[name], options);

// Expected values are those of Flux's postBuild (fluxcd/pkg/envsubst) for the same input.
describe('envsubst', () => {
  it.each([
    ['text only', 'abcdEFGH28ij', {}, 'abcdEFGH28ij'],
    ['plain reference', 'x: ${v}', { v: 'abc' }, 'x: abc'],
    ['length', '${#v}', { v: 'abcdEFGH28ij' }, '12'],
    ['upper first', '${v^}', { v: 'abcdEFGH28ij' }, 'AbcdEFGH28ij'],
    ['upper', '${v^^}', { v: 'abcdEFGH28ij' }, 'ABCDEFGH28IJ'],
    ['lower first', '${v,}', { v: 'ABCDEFGH28IJ' }, 'aBCDEFGH28IJ'],
    ['lower', '${v,,}', { v: 'ABCDEFGH28IJ' }, 'abcdefgh28ij'],
    [
      'substring',
      '${p:11}',
      { p: '/home/bozo/ideas/thoughts.for.today' },
      'ideas/thoughts.for.today',
    ],
    ['substring with length', '${p:11:5}', { p: '/home/bozo/ideas/thoughts.for.today' }, 'ideas'],
    ['= default not used', '${v=xyz}', { v: 'abc' }, 'abc'],
    ['= default used', '${v=xyz}', {}, 'xyz'],
    [':= default used', '${v:=xyz}', {}, 'xyz'],
    [':- default used', '${HOME:-/root}', {}, '/root'],
    [':- default not used', '${HOME:-/root}', { HOME: '/home/app' }, '/home/app'],
    [':- default used for an empty value', '${v:-d}', { v: '' }, 'd'],
    [':+ behaves as a default (not bash)', '${v:+alt}', { v: 'set' }, 'set'],
    ['nested default', 'something ${v=${d}}', { d: 'foo' }, 'something foo'],
    ['nested default with suffix', 'foo: ${v=${d}-suffix}', { d: 'foo1' }, 'foo: foo1-suffix'],
    [
      'nested default with prefix',
      'foo: ${v=prefix${d}-suffix}',
      { d: 'foo1' },
      'foo: prefixfoo1-suffix',
    ],
    ['replace suffix', '${s/%abc/XYZ}', { s: 'abcABC123ABCabc' }, 'abcABC123ABCXYZ'],
    ['replace prefix', '${s/#abc/XYZ}', { s: 'abcABC123ABCabc' }, 'XYZABC123ABCabc'],
    ['prepend', '${s/#/prefix-}', { s: 'somevalue' }, 'prefix-somevalue'],
    ['append', '${s/%/-suffix}', { s: 'somevalue' }, 'somevalue-suffix'],
    ['replace all', '${s//abc/xyz}', { s: 'abcABC123ABCabc' }, 'xyzABC123ABCxyz'],
    ['replace first', '${s/abc/xyz}', { s: 'abcABC123ABCabc' }, 'xyzABC123ABCabc'],
    ['replace with blank', '${s/./}', { s: 'foo.bar' }, 'foobar'],
    ['escaped slash', '${s/\\//-}', { s: 'foo/bar' }, 'foo-bar'],
    ['escaped slash, all', '${s//\\//-}', { s: 'foo/bar/baz' }, 'foo-bar-baz'],
    ['shortest prefix', '${f#*.}', { f: 'bash.string.txt' }, 'string.txt'],
    ['shortest prefix up to /', '${f#*/}', { f: 'path/to/file' }, 'to/file'],
    ['longest prefix', '${f##*.}', { f: 'bash.string.txt' }, 'txt'],
    ['longest prefix up to /', '${f##*/}', { f: '/path/to/file' }, 'file'],
    ['shortest suffix', '${f%.*}', { f: 'bash.string.txt' }, 'bash.string'],
    ['longest suffix', '${f%%.*}', { f: 'bash.string.txt' }, 'bash'],
    ['nested transformation', '${v=${w^^}}', { w: 'abcdEFGH28ij' }, 'ABCDEFGH28IJ'],
    ['escape', '$${v}', { v: 'x' }, '${v}'],
    [
      'escapes among references',
      'some text ${v}$${var$${v}$v${v}',
      { v: 'abc' },
      'some text abc${var${v}$vabc',
    ],
    ['escaped default', 'something $${v=${d}}', { d: 'foo' }, 'something ${v=foo}'],
    [
      'backslashes outside an expansion',
      '\\\\something ${v=${d}}',
      { d: 'foo' },
      '\\\\something foo',
    ],
    ['$var is not expanded', 'echo $HOME $v', { v: 'x', HOME: '/h' }, 'echo $HOME $v'],
    ['$$ is one $ anywhere in text', 'pid=$$ cost=$$5', {}, 'pid=$ cost=$5'],
    ['undefined is empty', 'a: "${missing}"', {}, 'a: ""'],
  ])('%s', (_what, input, vars: Record<string, string>, output) => {
    expect(run(input, vars)).toBe(output);
  });

  it.each([
    ['${var-default}', 'missing closing brace'],
    ['${var+x}', 'missing closing brace'],
    ['${}', 'unable to parse variable name'],
    ['${@}', 'unable to parse variable name'],
    ['${unclosed', 'missing closing brace'],
    ['${v:-unclosed', 'unable to parse substitution within function'],
  ])('refuses %s as Flux does (%s)', (input, message) => {
    expect(() => run(input, { v: 'x' })).toThrow(new EnvsubstError(message));
  });

  describe('strict (StrictPostBuildSubstitutions)', () => {
    it('fails on a bare or transformed reference to a variable without value', () => {
      for (const input of [
        '${missing}',
        '${#missing}',
        '${missing^^}',
        '${missing:0:2}',
        '${missing/a/b}',
        '${missing%x}',
      ]) {
        expect(() => run(input, {}, strict)).toThrow('variable not set (strict mode): "missing"');
      }
    });

    it('lets the default forms name a variable without value', () => {
      expect(run('${a:-x} ${b:=y} ${c=z}', {}, strict)).toBe('x y z');
      expect(run('${empty}', { empty: '' }, strict)).toBe('');
    });
  });

  it('names every referenced variable, also inside defaults, but not escaped ones', () => {
    expect(envsubstNames('a: ${cluster_name}\nb: $${literal}\nc: ${HOME:-${tenant}}')).toEqual([
      'cluster_name',
      'HOME',
      'tenant',
    ]);
    expect(envsubstNames('no references')).toEqual([]);
  });
});
