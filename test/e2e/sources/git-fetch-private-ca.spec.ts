import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GitFetchRequest } from 'src/modules/sources/git/git-fetcher';
import { SourceErrorCode, SourceFetchError } from 'src/modules/sources/sources.errors';
import { createFetchEngine, type FetchEngine } from 'test/e2e/sources/fetch-engine.factory';
import { GitHttpServer } from 'test/support/git-server/git-http-server';
import { GitRepositories, type TestRepository } from 'test/support/git-server/git-repositories';
import { createCertificateAuthority } from 'test/support/kube-sim/certs';

const AUTH = { username: 'fleet-bot', password: 'ca-canary-Secret-3c81' };

describe('git fetch over HTTPS from a server with a private CA', () => {
  let repos: GitRepositories;
  let server: GitHttpServer;
  let selfSigned: GitHttpServer;
  let engine: FetchEngine;
  let repo: TestRepository;

  beforeAll(async () => {
    repos = await GitRepositories.create();
    server = await GitHttpServer.start({ root: repos.root, auth: AUTH, privateCa: true });
    selfSigned = await GitHttpServer.start({ root: repos.root, auth: AUTH });
    engine = await createFetchEngine();
    repo = await repos.createRepository('app');
    await repo.commit({ 'app.yaml': 'a: 1\n' });
  });
  afterAll(async () => {
    await server.close();
    await selfSigned.close();
    await repos.dispose();
    await engine.dispose();
  });

  const request = (overrides: Partial<GitFetchRequest> = {}): GitFetchRequest => ({
    url: server.url(repo.path),
    reference: { kind: 'branch', name: 'main' },
    credentials: { kind: 'basic', ...AUTH },
    ...overrides,
  });

  async function certificateFailure(promise: Promise<unknown>): Promise<SourceFetchError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SourceFetchError);
    const failure = error as SourceFetchError;
    expect(failure.code).toBe(SourceErrorCode.CertificateVerificationFailed);
    expect(failure.retryable).toBe(false);
    // No secret, no userinfo, no temporary path (GnuTLS names the CA file).
    for (const leak of [AUTH.password, `${AUTH.username}@`, '/tmp/', 'ca.pem', 'CAfile']) {
      expect(failure.message).not.toContain(leak);
    }
    return failure;
  }

  it('reports a server certificate from an unknown CA in x509 terms without caCertificate', async () => {
    const error = await certificateFailure(engine.fetcher.fetch(request()));
    expect(error.message).toContain(
      'TLS certificate verification failed: x509: certificate signed by unknown authority',
    );
    expect(error.message).toContain(
      "a private repository's CA goes into the source's caCertificate",
    );
    expect(error.message).toContain(server.url(repo.path));
  });

  it('reports the same for ls-remote and a self-signed server certificate', async () => {
    const error = await certificateFailure(
      engine.fetcher.resolve(request({ url: selfSigned.url(repo.path) })),
    );
    expect(error.message).toContain('x509: certificate signed by unknown authority');
  });

  it("says the source's caCertificate did not issue a certificate of another CA", async () => {
    const other = await createCertificateAuthority('gitfleet unrelated test CA');
    const error = await certificateFailure(
      engine.fetcher.fetch(request({ caCertificate: other.certPem })),
    );
    expect(error.message).toContain('x509: certificate signed by unknown authority');
    expect(error.message).toContain("the source's caCertificate did not issue it");
  });

  it('fetches with caCertificate set to the server CA', async () => {
    const result = await engine.fetcher.fetch(request({ caCertificate: server.caCertificate }));
    expect(result.revision).toMatch(/^main@sha1:[0-9a-f]{40}$/);
  });
});
