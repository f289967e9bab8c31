// Error codes of the sources context. The API filter and the source reconciler map
// these to HTTP statuses and condition reasons; keep the list exhaustive there.
export const SourceErrorCode = {
  InvalidUrl: 'InvalidUrl',
  InvalidReference: 'InvalidReference',
  InvalidCredentials: 'InvalidCredentials',
  AuthenticationFailed: 'AuthenticationFailed',
  HostKeyMismatch: 'HostKeyMismatch',
  Unreachable: 'Unreachable',
  /** The server's TLS certificate is not trusted (unknown authority), expired or for another host. */
  CertificateVerificationFailed: 'CertificateVerificationFailed',
  RateLimited: 'RateLimited',
  ServerError: 'ServerError',
  RefNotFound: 'RefNotFound',
  ChartNotFound: 'ChartNotFound',
  LimitExceeded: 'LimitExceeded',
  UnsafeSymlink: 'UnsafeSymlink',
  Timeout: 'Timeout',
  DigestMismatch: 'DigestMismatch',
  InvalidIndex: 'InvalidIndex',
  FetchFailed: 'FetchFailed',
} as const;
export type SourceErrorCode = (typeof SourceErrorCode)[keyof typeof SourceErrorCode];

export type SourceLimit = 'repositorySize' | 'fileCount' | 'fileSize' | 'indexSize' | 'chartSize';

export interface SourceFetchErrorDetails {
  /** Seconds to wait before retrying, from `Retry-After` (RateLimited, sometimes ServerError). */
  retryAfterSeconds?: number;
  /** Which limit was exceeded (LimitExceeded). */
  limit?: SourceLimit;
  /** Path inside the repository that caused the failure (LimitExceeded, UnsafeSymlink). */
  path?: string;
}

// Transient failures are retried with backoff; the others wait for the next interval
// or for a change of the Source spec.
const RETRYABLE: ReadonlySet<SourceErrorCode> = new Set<SourceErrorCode>([
  SourceErrorCode.Unreachable,
  SourceErrorCode.RateLimited,
  SourceErrorCode.ServerError,
  SourceErrorCode.Timeout,
  SourceErrorCode.FetchFailed,
]);

/**
 * The one error type of the fetch engine. Its message is safe to show to a tenant:
 * every constructor site passes text that went through the secret scrubber.
 */
export class SourceFetchError extends Error {
  override readonly name = 'SourceFetchError';
  readonly retryAfterSeconds: number | undefined;
  readonly limit: SourceLimit | undefined;
  readonly path: string | undefined;

  constructor(
    readonly code: SourceErrorCode,
    message: string,
    details: SourceFetchErrorDetails = {},
  ) {
    super(message);
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.limit = details.limit;
    this.path = details.path;
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }
}

export function isSourceFetchError(
  error: unknown,
  code?: SourceErrorCode,
): error is SourceFetchError {
  return error instanceof SourceFetchError && (code === undefined || error.code === code);
}

/** Names the one setting that would accept plain http://, so an operator knows the way in. */
export const PLAIN_HTTP_REFUSED =
  'plain http:// is refused (content and credentials would travel unencrypted); use https://, or set SOURCE_ALLOW_HTTP=true to accept it';
