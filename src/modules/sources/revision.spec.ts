import { describe, expect, it } from 'vitest';
import { formatRevision, isCommitSha, parseRevision } from 'src/modules/sources/revision';
import { SourceErrorCode } from 'src/modules/sources/sources.errors';

const SHA = 'a'.repeat(40);

describe('revision strings', () => {
  it('formats branch, tag and commit pin revisions like Flux', () => {
    expect(formatRevision('main', SHA)).toBe(`main@sha1:${SHA}`);
    expect(formatRevision('v1.2.0', SHA)).toBe(`v1.2.0@sha1:${SHA}`);
    expect(formatRevision(undefined, SHA)).toBe(`sha1:${SHA}`);
    expect(formatRevision('main', 'b'.repeat(64))).toBe(`main@sha256:${'b'.repeat(64)}`);
  });

  it('parses what it formats, including ref names with slashes and @', () => {
    expect(parseRevision(`feature/x@y@sha1:${SHA}`)).toEqual({
      refName: 'feature/x@y',
      commit: SHA,
    });
    expect(parseRevision(`sha1:${SHA}`)).toEqual({ commit: SHA });
  });

  it.each([
    'main',
    `main@sha1:${SHA.slice(1)}`,
    `main@sha256:${SHA}`,
    `main@md5:${SHA}`,
    `sha1:${SHA.toUpperCase()}`,
  ])('refuses %s', (revision) => {
    expect(() => parseRevision(revision)).toThrow(
      expect.objectContaining({ code: SourceErrorCode.InvalidReference }),
    );
  });

  it('refuses to format a revision from a non-SHA', () => {
    expect(() => formatRevision('main', 'HEAD')).toThrow(
      expect.objectContaining({ code: SourceErrorCode.InvalidReference }),
    );
    expect(isCommitSha('abc')).toBe(false);
  });
});
