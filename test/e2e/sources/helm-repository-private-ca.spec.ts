import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from 'src/modules/sources/artifacts/artifact-store';
import {
  HelmRepositoryClient,
  type HelmRepositoryRequest,
} from 'src/modules/sources/helm/helm-repository.client';
import { Clock } from 'src/modules/sources/ports/clock';
import { HostResolver } from 'src/common/net/host-resolver';
import { HttpClient } from 'src/modules/sources/ports/http-client';
import { SourceErrorCode, SourceFetchError } from 'src/modules/sources/sources.errors';
import {
  createFetchEngine,
  createHelmRepositoryClient,
  type FetchEngine,
} from 'test/e2e/sources/fetch-engine.factory';
import { HelmRepoServer } from 'test/support/helm-repo/helm-repo-server';
import { createCertificateAuthority } from 'test/support/kube-sim/certs';

const AUTH = { username: 'charts', password: 'tls-canary-Pw-5d2e' };

describe('Helm repository client against an HTTPS repository with a private CA', () => {
  let repo: HelmRepoServer;
  let cdn: HelmRepoServer;
  let engine: FetchEngine;
  let sut: HelmRepositoryClient;

  beforeAll(async () => {
    repo = await HelmRepoServer.start({ auth: AUTH, tls: true });
    cdn = await HelmRepoServer.start({ tls: true });
    await repo.addChart('podinfo', '1.0.0');
    await repo.reindex();
    // https only: the default policy, nothing relaxed for the test.
    engine = await createFetchEngine();
    sut = createHelmRepositoryClient(engine);
  });
  afterAll(async () => {
    await repo.close();
    await cdn.close();
    await engine.dispose();
  });

  const request = (overrides: Partial<HelmRepositoryRequest> = {}): HelmRepositoryRequest => ({
    url: repo.url(),
    credentials: AUTH,
    caCertificate: repo.caCertificate,
    ...overrides,
  });

  async function failure(promise: Promise<unknown>): Promise<SourceFetchError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SourceFetchError);
    const text = `${(error as Error).message} ${(error as Error).stack ?? ''}`;
    expect(text).not.toContain(AUTH.password);
    expect(text).not.toContain(Buffer.from(`${AUTH.username}:${AUTH.password}`).toString('base64'));
    return error as SourceFetchError;
  }

  it('fetches the index and a verified chart when the CA is trusted', async () => {
    expect(repo.url()).toMatch(/^https:/);
    const index = await sut.fetchIndex(request());
    expect(index.index.entries.podinfo?.[0]?.version).toBe('1.0.0');
    const chart = await sut.fetchChart(request(), 'podinfo', '*');
    expect(chart.downloaded).toBe(true);
    expect(repo.count('/podinfo-1.0.0.tgz', 200)).toBe(1);
    expect(repo.requests.every((r) => r.authorization !== undefined)).toBe(true);
  });

  it('refuses the repository without its CA: x509 unknown authority, no request served', async () => {
    const before = repo.requests.length;
    const error = await failure(sut.fetchIndex(request({ caCertificate: undefined })));
    expect(error.code).toBe(SourceErrorCode.CertificateVerificationFailed);
    expect(error.message).toContain('x509: certificate signed by unknown authority');
    expect(error.message).toContain('caCertificate');
    expect(error.retryable).toBe(false);
    // The handshake failed: the credentials never went over the wire.
    expect(repo.requests.length).toBe(before);
  });

  it('refuses the repository with an unrelated CA: trust is added, not replaced by any CA', async () => {
    const other = await createCertificateAuthority('unrelated CA');
    const error = await failure(sut.fetchIndex(request({ caCertificate: other.certPem })));
    expect(error.code).toBe(SourceErrorCode.CertificateVerificationFailed);
    expect(error.message).toMatch(
      /x509: certificate signed by unknown authority.*neither the system roots nor the source's caCertificate/,
    );
  });

  it('trusts a bundle of several CAs (the chart host one of them) for a redirect to it', async () => {
    await cdn.addChart('podinfo', '1.0.0');
    // Same bytes as the indexed archive, so the digest still matches.
    const { readFile, writeFile } = await import('node:fs/promises');
    await writeFile(
      `${cdn.dir}/podinfo-1.0.0.tgz`,
      await readFile(`${repo.dir}/podinfo-1.0.0.tgz`),
    );
    repo.redirectChartsTo(cdn.url('localhost'));
    try {
      const fresh = await createFetchEngine();
      const clock = new Clock();
      const client = new HelmRepositoryClient(
        fresh.options,
        new HttpClient(),
        new ArtifactStore(fresh.options, clock),
        clock,
        new HostResolver(),
      );
      // Only the repository's CA: the redirect target is not trusted.
      const refused = await failure(client.fetchChart(request(), 'podinfo', '1.0.0'));
      expect(refused.code).toBe(SourceErrorCode.CertificateVerificationFailed);
      expect(refused.message).toContain(cdn.url('localhost'));

      const bundle = `${repo.caCertificate ?? ''}${cdn.caCertificate ?? ''}`;
      const chart = await client.fetchChart(request({ caCertificate: bundle }), 'podinfo', '1.0.0');
      expect(chart.downloaded).toBe(true);
      expect(cdn.count('/podinfo-1.0.0.tgz', 200)).toBe(1);
      await fresh.dispose();
    } finally {
      repo.redirectChartsTo(undefined);
    }
  });

  it('refuses a CA bundle that does not parse', async () => {
    const error = await failure(
      sut.fetchIndex(
        request({
          caCertificate:
            '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n',
        }),
      ),
    );
    expect(error.code).toBe(SourceErrorCode.InvalidCredentials);
  });
});
