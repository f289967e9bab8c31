import { describe, expect, it } from 'vitest';
import {
  classifyGitFailure,
  parseCurlTrace,
  parseRetryAfter,
} from 'src/modules/sources/git/git-error-classifier';
import { SecretScrubber } from 'src/common/redaction/secret-scrubber';
import { SourceErrorCode } from 'src/modules/sources/sources.errors';

const NOW = new Date('2026-01-01T00:00:00Z');

function classify(stderr: string, trace = {}): ReturnType<typeof classifyGitFailure> {
  return classifyGitFailure({
    operation: 'fetch',
    displayUrl: 'https://git.example.com/repo.git',
    stderr,
    trace,
    scrubber: new SecretScrubber(['hunter2']),
    now: NOW,
  });
}

describe('classifyGitFailure', () => {
  it.each([
    [
      "fatal: Authentication failed for 'https://git.example.com/repo.git/'",
      SourceErrorCode.AuthenticationFailed,
    ],
    [
      "fatal: could not read Username for 'https://git.example.com': terminal prompts disabled",
      SourceErrorCode.AuthenticationFailed,
    ],
    [
      'git@host: Permission denied (publickey).\nfatal: Could not read from remote repository.',
      SourceErrorCode.AuthenticationFailed,
    ],
    [
      'No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\nHost key verification failed.',
      SourceErrorCode.HostKeyMismatch,
    ],
    [
      "fatal: unable to access 'https://x/': Could not resolve host: x",
      SourceErrorCode.Unreachable,
    ],
    ['ssh: connect to host 127.0.0.1 port 1: Connection refused', SourceErrorCode.Unreachable],
    [
      "fatal: unable to access 'https://x/': The requested URL returned error: 429",
      SourceErrorCode.RateLimited,
    ],
    [
      "fatal: unable to access 'https://x/': The requested URL returned error: 502",
      SourceErrorCode.ServerError,
    ],
    ["fatal: couldn't find remote ref refs/heads/gone", SourceErrorCode.RefNotFound],
    ['fatal: remote error: upload-pack: not our ref ffffffff', SourceErrorCode.RefNotFound],
    ['something unexpected', SourceErrorCode.FetchFailed],
  ])('classifies %j', (stderr, code) => {
    expect(classify(stderr).code).toBe(code);
  });

  it('takes the status and Retry-After from the curl trace', () => {
    const error = classify('error: RPC failed; HTTP 429', { status: 429, retryAfter: '17' });
    expect(error).toMatchObject({ code: SourceErrorCode.RateLimited, retryAfterSeconds: 17 });
    expect(error.message).toContain('retry after 17s');
  });

  it('never repeats a secret or URL userinfo from stderr', () => {
    const error = classify(
      "fatal: unable to access 'https://bob:hunter2@git.example.com/': Authentication failed hunter2",
    );
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toContain('bob:');
  });
});

describe('classifyGitFailure of TLS certificate verification', () => {
  const UNKNOWN = 'x509: certificate signed by unknown authority';
  it.each([
    [
      "fatal: unable to access 'https://bob:hunter2@git.example.com/repo.git/': SSL certificate problem: unable to get local issuer certificate",
      UNKNOWN,
    ],
    [
      "fatal: unable to access 'https://git.example.com/repo.git/': server certificate verification failed. CAfile: /tmp/gitfleet-cache-x/scratch/session/ca.pem CRLfile: none",
      UNKNOWN,
    ],
    [
      "fatal: unable to access 'https://git.example.com/repo.git/': SSL certificate problem: self-signed certificate",
      UNKNOWN,
    ],
    [
      "fatal: unable to access 'https://git.example.com/repo.git/': SSL: no alternative certificate subject name matches target host name 'git.example.com'",
      'x509: certificate is not valid for this host',
    ],
  ])('reports %j as CertificateVerificationFailed, not retried', (stderr, x509) => {
    const error = classify(stderr);
    expect(error.code).toBe(SourceErrorCode.CertificateVerificationFailed);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(`TLS certificate verification failed: ${x509}`);
    expect(error.message).toContain('https://git.example.com/repo.git');
    for (const leak of ['hunter2', 'bob', '/tmp/', 'ca.pem', 'CAfile']) {
      expect(error.message).not.toContain(leak);
    }
  });

  it("hints at caCertificate, or at the one that did not issue the server's certificate", () => {
    const stderr = 'fatal: SSL certificate problem: unable to get local issuer certificate';
    expect(classify(stderr).message).toContain(
      "a private repository's CA goes into the source's caCertificate",
    );
    const withCa = classifyGitFailure({
      operation: 'fetch',
      displayUrl: 'https://git.example.com/repo.git',
      stderr,
      trace: {},
      scrubber: new SecretScrubber([]),
      now: NOW,
      withCa: true,
    });
    expect(withCa.message).toContain("the source's caCertificate did not issue it");
  });

  it('keeps a host that cannot be resolved Unreachable and retried', () => {
    const error = classify(
      "fatal: unable to access 'https://git.example.com/repo.git/': Could not resolve host: git.example.com",
    );
    expect(error.code).toBe(SourceErrorCode.Unreachable);
    expect(error.retryable).toBe(true);
  });
});

describe('parseCurlTrace', () => {
  it('keeps the status and Retry-After of the last response', () => {
    const trace = [
      '12:00:00.000000 http.c:700  <= Recv header: HTTP/1.1 401 Unauthorized',
      '12:00:00.000000 http.c:700  <= Recv header: WWW-Authenticate: Basic realm="x"',
      '12:00:00.000000 http.c:700  => Send header: Authorization: Basic <redacted>',
      '12:00:00.000000 http.c:700  <= Recv header: HTTP/1.1 429 Too Many Requests',
      '12:00:00.000000 http.c:700  <= Recv header: Retry-After: 120',
    ].join('\n');
    expect(parseCurlTrace(trace)).toEqual({ status: 429, retryAfter: '120' });
  });
});

describe('parseRetryAfter', () => {
  it('reads delta seconds and HTTP dates', () => {
    expect(parseRetryAfter('30', NOW)).toBe(30);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', NOW)).toBe(60);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', NOW)).toBe(0);
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
  });
});
