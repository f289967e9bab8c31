import { SourceErrorCode, SourceFetchError } from 'src/modules/sources/sources.errors';
import type { SecretScrubber } from 'src/common/redaction/secret-scrubber';
import { certificateVerificationMessage, X509 } from 'src/modules/sources/tls-verification';

export interface HttpTrace {
  /** Last HTTP status seen by git's curl. */
  status?: number;
  /** Raw Retry-After header of that response. */
  retryAfter?: string;
}

/** Parses a Retry-After value (delta seconds or HTTP date) into seconds from now. */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (value === null || value === undefined || value.trim() === '') {
    return undefined;
  }
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) {
    return Number.parseInt(trimmed, 10);
  }
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) {
    return undefined;
  }
  return Math.max(0, Math.ceil((date - now.getTime()) / 1000));
}

/**
 * Reads the status line and Retry-After header of the last response from a
 * GIT_TRACE_CURL file (headers only; git redacts Authorization itself, and nothing
 * from the trace except these two values ever leaves this function).
 */
export function parseCurlTrace(trace: string): HttpTrace {
  const result: HttpTrace = {};
  for (const line of trace.split('\n')) {
    const status = /<= Recv header: HTTP\/[\d.]+ (\d{3})/.exec(line);
    if (status?.[1] !== undefined) {
      result.status = Number.parseInt(status[1], 10);
      delete result.retryAfter;
      continue;
    }
    const retryAfter = /<= Recv header: retry-after:\s*(.+?)\s*$/i.exec(line);
    if (retryAfter?.[1] !== undefined) {
      result.retryAfter = retryAfter[1];
    }
  }
  return result;
}

// curl's TLS verification failures (OpenSSL and GnuTLS builds) in Go's x509 wording, as
// the Helm client reports them. Order matters: the first matching entry wins. The
// stderr itself is never echoed: GnuTLS names the CA file, a temporary path.
const TLS_VERIFICATION: ReadonlyArray<readonly [RegExp, string]> = [
  [
    /no alternative certificate subject name matches|certificate subject name .* does not match target host/i,
    X509.wrongHost,
  ],
  [
    /certificate (has expired|is not yet valid|has not got a valid activation time|is not yet activated)/i,
    X509.expired,
  ],
  [
    /unable to get (local )?issuer certificate|unable to verify the first certificate|self[- ]signed certificate|issuer is unknown|signer not found|certificate signature failure|server (certificate )?verification failed/i,
    X509.unknownAuthority,
  ],
];

/** Go-style wording of a TLS verification failure in git's stderr, if it is one. */
export function tlsVerificationFailure(stderr: string): string | undefined {
  for (const [pattern, x509] of TLS_VERIFICATION) {
    if (pattern.test(stderr)) {
      return x509;
    }
  }
  // Another OpenSSL verify error: its fixed text ("certificate revoked", ...) only.
  const other = /SSL certificate problem: ([A-Za-z0-9 ,'-]{1,100})/.exec(stderr);
  return other?.[1] === undefined ? undefined : `x509: ${other[1].trim()}`;
}

interface Rule {
  code: SourceErrorCode;
  pattern: RegExp;
  summary: string;
}

// Order matters: the first matching rule wins.
const RULES: readonly Rule[] = [
  {
    code: SourceErrorCode.HostKeyMismatch,
    pattern:
      /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key is known for|No \S+ host key is known/i,
    summary: 'the SSH host key is not in known_hosts',
  },
  {
    code: SourceErrorCode.AuthenticationFailed,
    pattern:
      /Authentication failed|could not read (Username|Password)|terminal prompts disabled|Permission denied \(|returned error: 40[13]|HTTP 40[13]|Invalid username or password|Load key .*: invalid format/i,
    summary: 'authentication failed',
  },
  {
    code: SourceErrorCode.RateLimited,
    pattern: /returned error: 429|HTTP 429/i,
    summary: 'the host is rate limiting requests',
  },
  {
    code: SourceErrorCode.ServerError,
    pattern: /returned error: 5\d\d|HTTP 5\d\d/i,
    summary: 'the host answered with a server error',
  },
  {
    code: SourceErrorCode.Unreachable,
    pattern:
      /Could not resolve host|Could not resolve hostname|Connection refused|Failed to connect|Connection timed out|Network is unreachable|No route to host|Connection reset|Connection closed by|kex_exchange_identification|Empty reply from server|SSL_connect|gnutls_handshake/i,
    summary: 'the host cannot be reached',
  },
  {
    code: SourceErrorCode.RefNotFound,
    pattern:
      /couldn't find remote ref|not our ref|unadvertised object|no such remote ref|repository '.*' not found|returned error: 404|HTTP 404|does not appear to be a git repository/i,
    summary: 'the reference or repository was not found',
  },
];

/** The last few meaningful lines of git's stderr, bounded, for the error message. */
function tail(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('hint:'));
  return lines.slice(-3).join(' | ').slice(0, 600);
}

/** Turns a failed git invocation into a typed error whose message is free of secrets. */
export function classifyGitFailure(input: {
  operation: string;
  displayUrl: string;
  stderr: string;
  trace: HttpTrace;
  scrubber: SecretScrubber;
  now: Date;
  /** Whether the Source's caCertificate was trusted (for the hint of a certificate failure). */
  withCa?: boolean;
}): SourceFetchError {
  const { stderr, trace } = input;
  const x509 = tlsVerificationFailure(stderr);
  if (x509 !== undefined) {
    // Not retried before the next interval, like the Helm client's. git trusts the
    // source's CA instead of the system roots.
    return new SourceFetchError(
      SourceErrorCode.CertificateVerificationFailed,
      input.scrubber.scrub(
        certificateVerificationMessage(
          `${input.operation} ${input.displayUrl}`,
          x509,
          input.withCa === true ? 'only' : 'none',
        ),
      ),
    );
  }
  let code: SourceErrorCode = SourceErrorCode.FetchFailed;
  let summary = 'git failed';
  if (trace.status === 429) {
    code = SourceErrorCode.RateLimited;
    summary = 'the host is rate limiting requests';
  } else {
    const rule = RULES.find((candidate) => candidate.pattern.test(stderr));
    if (rule !== undefined) {
      code = rule.code;
      summary = rule.summary;
    }
  }
  const retryAfterSeconds =
    code === SourceErrorCode.RateLimited || code === SourceErrorCode.ServerError
      ? parseRetryAfter(trace.retryAfter, input.now)
      : undefined;
  const detail = input.scrubber.scrub(tail(stderr));
  const after = retryAfterSeconds === undefined ? '' : ` (retry after ${retryAfterSeconds}s)`;
  const message = input.scrubber.scrub(
    `${input.operation} ${input.displayUrl}: ${summary}${after}${detail === '' ? '' : `: ${detail}`}`,
  );
  return new SourceFetchError(
    code,
    message,
    retryAfterSeconds === undefined ? {} : { retryAfterSeconds },
  );
}
