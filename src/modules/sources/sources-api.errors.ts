import { defineErrors } from 'src/common/errors/app-error';

/**
 * Errors of the Source API and of the artifact hand-over to the reconcile engine.
 * (Fetch failures are SourceFetchError in sources.errors.ts; they become conditions.)
 */
export const SourceError = defineErrors('SourceError', {
  SourceNotFound: 404,
  SourceNameTaken: 409,
  /** The spec is invalid in a way the DTO cannot see (URL policy, reference syntax, credentials/URL mismatch). */
  InvalidSource: 400,
  SourceSuspended: 409,
  /** No revision has been fetched yet. */
  ArtifactNotReady: 409,
  /** A release reads the source the wrong way (a helm source without a chart, a chart from a git source). */
  SourceKindMismatch: 409,
  /** The stored credentials cannot be used (vault key missing, envelope tampered). */
  CredentialsUnavailable: 500,
});
export type SourceErrorCode = InstanceType<typeof SourceError>['code'];
