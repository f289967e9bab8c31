import { describe, expect, it } from 'vitest';
import {
  isSafeRefName,
  parseLsRemote,
  resolveSemverTag,
  selectReference,
  validateReference,
} from 'src/modules/sources/git/git-reference';
import { SourceErrorCode } from 'src/modules/sources/sources.errors';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

describe('resolveSemverTag', () => {
  it('picks the highest matching version: 1.10.0 beats 1.9.0', () => {
    expect(resolveSemverTag('^1.0.0', ['v1.9.0', 'v1.10.0', 'v1.2.0', 'v2.0.0'])).toBe('v1.10.0');
  });

  it('reads tags with and without a leading v, ignores non-versions and prereleases unless asked', () => {
    expect(
      resolveSemverTag('>=1.0.0', ['1.0.0', 'v1.1.0', 'latest', 'v1.2.0-rc.1', 'release-2']),
    ).toBe('v1.1.0');
    expect(resolveSemverTag('>=1.2.0-rc.0', ['v1.1.0', 'v1.2.0-rc.1'])).toBe('v1.2.0-rc.1');
    expect(resolveSemverTag('^3', ['v1.0.0'])).toBeUndefined();
  });
});

describe('parseLsRemote', () => {
  it('maps annotated tags to the commit they point at', () => {
    const refs = parseLsRemote(
      `${A}\trefs/heads/main\n${B}\trefs/tags/v1.0.0\n${C}\trefs/tags/v1.0.0^{}\n`,
    );
    expect(refs.get('refs/heads/main')).toBe(A);
    expect(refs.get('refs/tags/v1.0.0')).toBe(C);
  });
});

describe('selectReference', () => {
  const refs = new Map([
    ['refs/heads/main', A],
    ['refs/tags/main', B],
    ['refs/tags/v1.9.0', B],
    ['refs/tags/v1.10.0', C],
  ]);

  it('distinguishes a branch from a tag of the same name', () => {
    expect(selectReference({ kind: 'branch', name: 'main' }, refs)).toEqual({
      refName: 'main',
      fullRef: 'refs/heads/main',
      commit: A,
    });
    expect(selectReference({ kind: 'tag', name: 'main' }, refs).commit).toBe(B);
  });

  it('resolves a semver range to its tag', () => {
    expect(selectReference({ kind: 'semver', range: '1.x' }, refs)).toEqual({
      refName: 'v1.10.0',
      fullRef: 'refs/tags/v1.10.0',
      commit: C,
    });
  });

  it('reports missing refs as RefNotFound', () => {
    expect(() => selectReference({ kind: 'branch', name: 'gone' }, refs)).toThrow(
      expect.objectContaining({ code: SourceErrorCode.RefNotFound }),
    );
  });
});

describe('validateReference', () => {
  it.each([
    '-x',
    '--upload-pack=x',
    'a..b',
    'a b',
    'x:y',
    'x~1',
    'x^',
    '.hidden',
    'a/.b',
    'x.lock',
    'a//b',
    '@',
    'x@{1}',
    'a\\b',
  ])('refuses the ref name %s', (name) => {
    expect(isSafeRefName(name)).toBe(false);
    expect(() => validateReference({ kind: 'branch', name })).toThrow(
      expect.objectContaining({ code: SourceErrorCode.InvalidReference }),
    );
  });

  it('accepts ordinary names, ranges and full SHAs, refuses short SHAs and bad ranges', () => {
    expect(isSafeRefName('release/v1.2')).toBe(true);
    expect(() => validateReference({ kind: 'semver', range: '>=1.0.0 <2' })).not.toThrow();
    expect(() => validateReference({ kind: 'commit', sha: A })).not.toThrow();
    expect(() => validateReference({ kind: 'commit', sha: 'abc123' })).toThrow(/full/);
    expect(() => validateReference({ kind: 'semver', range: 'not a range' })).toThrow(/semver/);
  });
});
