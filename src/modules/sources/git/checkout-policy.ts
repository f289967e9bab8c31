import { posix } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { SourceErrorCode, SourceFetchError } from 'src/modules/sources/sources.errors';
import type { SourcesLimits, SymlinkPolicy } from 'src/modules/sources/sources.options';

export interface GitTreeEntry {
  mode: string;
  type: string;
  oid: string;
  /** Blob size; undefined for submodule commits. */
  size: number | undefined;
  path: string;
}

/** Parses `git ls-tree -r -l -z` output. */
export function parseLsTree(output: Buffer): GitTreeEntry[] {
  const entries: GitTreeEntry[] = [];
  for (const record of output.toString('utf8').split('\0')) {
    if (record === '') {
      continue;
    }
    const tab = record.indexOf('\t');
    const match = /^(\d{6}) (\w+) ([0-9a-f]+)\s+(-|\d+)$/.exec(record.slice(0, tab));
    if (tab < 0 || match === null) {
      throw new SourceFetchError(
        SourceErrorCode.FetchFailed,
        'cannot parse the tree listing of the commit',
      );
    }
    const [, mode = '', type = '', oid = '', size = '-'] = match;
    entries.push({
      mode,
      type,
      oid,
      size: size === '-' ? undefined : Number(size),
      path: record.slice(tab + 1),
    });
  }
  return entries;
}

export function buildIgnore(patterns: readonly string[] | undefined): Ignore {
  const matcher = ignore();
  if (patterns !== undefined) {
    matcher.add(patterns.flatMap((pattern) => pattern.split(/\r?\n/)));
  }
  return matcher;
}

export interface TreeSelection {
  files: GitTreeEntry[];
  symlinks: GitTreeEntry[];
  sizeBytes: number;
}

function limitExceeded(
  limit: 'repositorySize' | 'fileCount' | 'fileSize',
  message: string,
  path?: string,
): SourceFetchError {
  return new SourceFetchError(SourceErrorCode.LimitExceeded, message, {
    limit,
    ...(path === undefined ? {} : { path }),
  });
}

/**
 * Decides, before anything is written to disk, which entries of a commit's tree become
 * the artifact: ignored paths and submodules are dropped, then the limits are checked
 * over what remains.
 */
export function selectTreeEntries(
  entries: readonly GitTreeEntry[],
  matcher: Ignore,
  limits: SourcesLimits,
): TreeSelection {
  const files: GitTreeEntry[] = [];
  const symlinks: GitTreeEntry[] = [];
  let sizeBytes = 0;
  for (const entry of entries) {
    if (entry.type !== 'blob' || matcher.ignores(entry.path)) {
      continue;
    }
    const size = entry.size ?? 0;
    if (size > limits.maxFileSizeBytes) {
      throw limitExceeded(
        'fileSize',
        `file "${entry.path}" has ${size} bytes, above the limit of ${limits.maxFileSizeBytes} bytes`,
        entry.path,
      );
    }
    sizeBytes += size;
    if (sizeBytes > limits.maxRepositorySizeBytes) {
      throw limitExceeded(
        'repositorySize',
        `the repository content is larger than the limit of ${limits.maxRepositorySizeBytes} bytes`,
      );
    }
    if (entry.mode === '120000') {
      symlinks.push(entry);
    } else {
      files.push(entry);
    }
    if (files.length + symlinks.length > limits.maxFileCount) {
      throw limitExceeded('fileCount', `the repository has more than ${limits.maxFileCount} files`);
    }
  }
  return { files, symlinks, sizeBytes };
}

/** True when a symlink at linkPath with this target can point outside the tree root. */
export function symlinkEscapesLexically(linkPath: string, target: string): boolean {
  if (target === '' || target.startsWith('/') || target.includes('\0')) {
    return true;
  }
  const resolved = posix.normalize(posix.join(posix.dirname(linkPath), target));
  return resolved === '..' || resolved.startsWith('../');
}

export function unsafeSymlink(path: string, policy: SymlinkPolicy): SourceFetchError | undefined {
  switch (policy) {
    case 'fail':
      // The target is not echoed: it may name files of this machine.
      return new SourceFetchError(
        SourceErrorCode.UnsafeSymlink,
        `symlink "${path}" points outside the repository`,
        { path },
      );
    case 'remove':
      return undefined;
  }
}
