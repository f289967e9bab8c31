import * as semver from 'semver';
import { isCommitSha } from 'src/modules/sources/revision';
import { SourceErrorCode, SourceFetchError } from 'src/modules/sources/sources.errors';

/** What a git Source follows. */
export type GitReference =
  | { kind: 'branch'; name: string }
  | { kind: 'tag'; name: string }
  | { kind: 'semver'; range: string }
  | { kind: 'commit'; sha: string };

/** A reference resolved against the remote's ref advertisement. */
export interface ResolvedReference {
  /** Short name used in the revision string (`main`, `v1.2.0`); absent for commit pins. */
  refName?: string;
  /** Full ref to fetch (`refs/heads/main`); absent for commit pins. */
  fullRef?: string;
  commit: string;
}

function invalidReference(message: string): SourceFetchError {
  return new SourceFetchError(SourceErrorCode.InvalidReference, message);
}

/** A conservative subset of git-check-ref-format; names reach git's argv. */
export function isSafeRefName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 255 &&
    !name.startsWith('-') &&
    !name.startsWith('/') &&
    !name.endsWith('/') &&
    !name.endsWith('.') &&
    !name.endsWith('.lock') &&
    !name.includes('..') &&
    !name.includes('//') &&
    !name.includes('@{') &&
    name !== '@' &&
    ![...name].some((char) => char.charCodeAt(0) <= 0x20 || char.charCodeAt(0) === 0x7f) &&
    !/[~^:?*[\\]/.test(name) &&
    !name.split('/').some((part) => part.startsWith('.'))
  );
}

export function validateReference(reference: GitReference): void {
  switch (reference.kind) {
    case 'branch':
    case 'tag':
      if (!isSafeRefName(reference.name)) {
        throw invalidReference(
          `"${reference.name.slice(0, 100)}" is not a valid ${reference.kind} name`,
        );
      }
      return;
    case 'semver':
      if (semver.validRange(reference.range) === null) {
        throw invalidReference(`"${reference.range.slice(0, 100)}" is not a valid semver range`);
      }
      return;
    case 'commit':
      if (!isCommitSha(reference.sha)) {
        throw invalidReference('a commit pin must be a full 40 (or 64) hex digit SHA');
      }
      return;
  }
}

export function describeReference(reference: GitReference): string {
  switch (reference.kind) {
    case 'branch':
      return `branch "${reference.name}"`;
    case 'tag':
      return `tag "${reference.name}"`;
    case 'semver':
      return `semver range "${reference.range}"`;
    case 'commit':
      return `commit ${reference.sha}`;
  }
}

/**
 * Parses `git ls-remote` output into ref name → commit. For annotated tags the peeled
 * (`^{}`) line wins, so tags always map to the commit they point at.
 */
export function parseLsRemote(output: string): Map<string, string> {
  const refs = new Map<string, string>();
  const peeled = new Map<string, string>();
  for (const line of output.split('\n')) {
    const match = /^([0-9a-f]{40}|[0-9a-f]{64})\t(\S+)$/.exec(line.trim());
    if (match?.[1] === undefined || match[2] === undefined) {
      continue;
    }
    if (match[2].endsWith('^{}')) {
      peeled.set(match[2].slice(0, -3), match[1]);
    } else {
      refs.set(match[2], match[1]);
    }
  }
  for (const [name, commit] of peeled) {
    refs.set(name, commit);
  }
  return refs;
}

/**
 * Picks the highest tag satisfying the range. Tags are read as semver with an optional
 * leading "v"; tags that are not versions are ignored. 1.10.0 beats 1.9.0.
 */
export function resolveSemverTag(range: string, tagNames: readonly string[]): string | undefined {
  const byVersion = new Map<string, string>();
  for (const tag of [...tagNames].sort()) {
    const version = semver.valid(tag);
    if (version !== null && !byVersion.has(version)) {
      byVersion.set(version, tag);
    }
  }
  const best = semver.maxSatisfying([...byVersion.keys()], range);
  return best === null ? undefined : byVersion.get(best);
}

/** Resolves a branch, tag or semver reference against an ls-remote advertisement. */
export function selectReference(
  reference: GitReference,
  refs: ReadonlyMap<string, string>,
): ResolvedReference {
  const notFound = (): SourceFetchError =>
    new SourceFetchError(
      SourceErrorCode.RefNotFound,
      `${describeReference(reference)} not found in the repository`,
    );
  switch (reference.kind) {
    case 'branch':
    case 'tag': {
      const fullRef = `refs/${reference.kind === 'branch' ? 'heads' : 'tags'}/${reference.name}`;
      const commit = refs.get(fullRef);
      if (commit === undefined) {
        throw notFound();
      }
      return { refName: reference.name, fullRef, commit };
    }
    case 'semver': {
      const tags = [...refs.keys()]
        .filter((name) => name.startsWith('refs/tags/'))
        .map((name) => name.slice(10));
      const tag = resolveSemverTag(reference.range, tags);
      const commit = tag === undefined ? undefined : refs.get(`refs/tags/${tag}`);
      if (tag === undefined || commit === undefined) {
        throw new SourceFetchError(
          SourceErrorCode.RefNotFound,
          `no tag matches ${describeReference(reference)}`,
        );
      }
      return { refName: tag, fullRef: `refs/tags/${tag}`, commit };
    }
    case 'commit':
      return { commit: reference.sha };
  }
}
