import { describe, expect, it } from 'vitest';
import {
  buildIgnore,
  type GitTreeEntry,
  parseLsTree,
  selectTreeEntries,
  symlinkEscapesLexically,
} from 'src/modules/sources/git/checkout-policy';
import { SourceErrorCode } from 'src/modules/sources/sources.errors';

const LIMITS = {
  maxRepositorySizeBytes: 1000,
  maxFileCount: 3,
  maxFileSizeBytes: 500,
  maxTransferBytes: 10_000,
};

function blob(path: string, size: number, mode = '100644'): GitTreeEntry {
  return { mode, type: 'blob', oid: 'a'.repeat(40), size, path };
}

describe('parseLsTree', () => {
  it('reads modes, sizes and paths with spaces and newlines', () => {
    const output = Buffer.from(
      `100644 blob ${'a'.repeat(40)}      12\tdir/a file.yaml\u0000120000 blob ${'b'.repeat(40)}       1\tlink\n2\u0000160000 commit ${'c'.repeat(40)}       -\tsub\u0000`,
    );
    expect(parseLsTree(output)).toEqual([
      { mode: '100644', type: 'blob', oid: 'a'.repeat(40), size: 12, path: 'dir/a file.yaml' },
      { mode: '120000', type: 'blob', oid: 'b'.repeat(40), size: 1, path: 'link\n2' },
      { mode: '160000', type: 'commit', oid: 'c'.repeat(40), size: undefined, path: 'sub' },
    ]);
  });
});

describe('selectTreeEntries', () => {
  it('drops ignored files and submodules before counting', () => {
    const entries = [
      blob('a.yaml', 10),
      blob('docs/x.md', 400),
      blob('docs/y.md', 400),
      blob('b.env', 10),
      { ...blob('sub', 0), type: 'commit' },
    ];
    const selection = selectTreeEntries(entries, buildIgnore(['docs/', '*.env']), LIMITS);
    expect(selection.files.map((e) => e.path)).toEqual(['a.yaml']);
    expect(selection.sizeBytes).toBe(10);
  });

  it.each([
    [[blob('big.bin', 501)], 'fileSize'],
    [[blob('a', 400), blob('b', 400), blob('c', 400)], 'repositorySize'],
    [[blob('a', 1), blob('b', 1), blob('c', 1), blob('d', 1)], 'fileCount'],
  ])('enforces the %#th limit', (entries, limit) => {
    expect(() => selectTreeEntries(entries, buildIgnore([]), LIMITS)).toThrow(
      expect.objectContaining({ code: SourceErrorCode.LimitExceeded, limit }),
    );
  });

  it('separates symlinks from files', () => {
    const selection = selectTreeEntries(
      [blob('a', 1), blob('l', 1, '120000')],
      buildIgnore(undefined),
      LIMITS,
    );
    expect(selection.symlinks.map((e) => e.path)).toEqual(['l']);
  });
});

describe('symlinkEscapesLexically', () => {
  it.each([
    ['escape', '/'],
    ['escape', '/etc/passwd'],
    ['a/b', '../../x'],
    ['x', '..'],
    ['x', ''],
  ])('%s -> %s escapes', (path, target) => {
    expect(symlinkEscapesLexically(path, target)).toBe(true);
  });

  it.each([
    ['overlay/app.yaml', '../base/app.yaml'],
    ['here', '.'],
    ['a/b/c', '../../d'],
  ])('%s -> %s stays inside', (path, target) => {
    expect(symlinkEscapesLexically(path, target)).toBe(false);
  });
});
