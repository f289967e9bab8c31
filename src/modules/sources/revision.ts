import { SourceErrorCode, SourceFetchError } from 'src/modules/sources/sources.errors';

const COMMIT = /^([0-9a-f]{40}|[0-9a-f]{64})$/;

export interface ParsedRevision {
  /** Branch or tag name; absent for commit pins. */
  refName?: string;
  commit: string;
}

export function isCommitSha(value: string): boolean {
  return COMMIT.test(value);
}

function algorithm(commit: string): string {
  return commit.length === 40 ? 'sha1' : 'sha256';
}

/**
 * The revision string Flux users know: `main@sha1:<commit>`, `v1.2.0@sha1:<commit>`,
 * or `sha1:<commit>` for a commit pin.
 */
export function formatRevision(refName: string | undefined, commit: string): string {
  if (!COMMIT.test(commit)) {
    throw new SourceFetchError(
      SourceErrorCode.InvalidReference,
      'a commit must be 40 or 64 lowercase hex digits',
    );
  }
  const digest = `${algorithm(commit)}:${commit}`;
  return refName === undefined || refName === '' ? digest : `${refName}@${digest}`;
}

export function parseRevision(revision: string): ParsedRevision {
  const match = /^(?:(.+)@)?(sha1|sha256):([0-9a-f]+)$/.exec(revision);
  const commit = match?.[3];
  if (
    match === null ||
    commit === undefined ||
    !COMMIT.test(commit) ||
    match[2] !== algorithm(commit)
  ) {
    throw new SourceFetchError(
      SourceErrorCode.InvalidReference,
      `"${revision}" is not a revision string`,
    );
  }
  return match[1] === undefined ? { commit } : { refName: match[1], commit };
}
