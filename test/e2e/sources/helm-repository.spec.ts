import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from 'src/modules/sources/artifacts/artifact-store';
import { HelmRepositoryClient } from 'src/modules/sources/helm/helm-repository.client';
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

const AUTH = { username: 'charts', password: 'helm-canary-Pw-91c4' };

describe('Helm repository client against a real helm-packaged repository', () => {
  let repo: HelmRepoServer;
  let other: HelmRepoServer;
  let engine: FetchEngine;
  let sut: HelmRepositoryClient;

  beforeAll(async () => {
    repo = await HelmRepoServer.start({ auth: AUTH });
    other = await HelmRepoServer.start();
    for (const version of ['1.2.0', '1.9.0', '1.10.0', '2.0.0', '1.11.0-rc.1']) {
      await repo.addChart('podinfo', version);
    }
    await repo.addChart('broken', '0.1.0');
    await repo.reindex();
    engine = await createFetchEngine({ allowHttp: true });
    sut = createHelmRepositoryClient(engine);
  });
  afterAll(async () => {
    await repo.close();
    await other.close();
    await engine.dispose();
  });

  const request = (): { url: string; credentials: typeof AUTH } => ({
    url: repo.url(),
    credentials: AUTH,
  });

  async function failure(promise: Promise<unknown>): Promise<SourceFetchError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SourceFetchError);
    expect(String((error as Error).message)).not.toContain(AUTH.password);
    return error as SourceFetchError;
  }

  it('resolves a version range to the highest matching chart version', async () => {
    expect((await sut.resolveChart(request(), 'podinfo', '^1.0.0')).version).toBe('1.10.0');
    expect((await sut.resolveChart(request(), 'podinfo', '1.9.x')).version).toBe('1.9.0');
    expect((await sut.resolveChart(request(), 'podinfo', '*')).version).toBe('2.0.0');
    expect((await sut.resolveChart(request(), 'podinfo', '>=1.11.0-rc.0 <2.0.0')).version).toBe(
      '1.11.0-rc.1',
    );
    expect((await failure(sut.resolveChart(request(), 'podinfo', '^3'))).code).toBe(
      SourceErrorCode.ChartNotFound,
    );
    expect((await failure(sut.resolveChart(request(), 'missing', '*'))).code).toBe(
      SourceErrorCode.ChartNotFound,
    );
  });

  it('does not download an unchanged index again (304)', async () => {
    const before = repo.count('/index.yaml', 200);
    const first = await sut.fetchIndex(request());
    const second = await sut.fetchIndex(request());
    expect(second.notModified).toBe(true);
    expect(second.digest).toBe(first.digest);
    expect(repo.count('/index.yaml', 200) - before).toBeLessThanOrEqual(1);
    expect(repo.count('/index.yaml', 304)).toBeGreaterThanOrEqual(1);

    await repo.addChart('podinfo', '2.1.0');
    await repo.reindex();
    const changed = await sut.fetchIndex(request());
    expect(changed.notModified).toBe(false);
    expect(changed.index.entries.podinfo?.some((c) => c.version === '2.1.0')).toBe(true);
  });

  it('downloads a chart verified against the index digest, once per digest', async () => {
    const result = await sut.fetchChart(request(), 'podinfo', '~1.10');
    expect(result.chart.version).toBe('1.10.0');
    expect(result.downloaded).toBe(true);
    const archive = await readFile(result.archivePath);
    expect(`sha256:${createHash('sha256').update(archive).digest('hex')}`).toBe(
      result.revision.replace(/^1\.10\.0@/, ''),
    );
    expect(result.artifact.fileCount).toBe(1);

    const downloads = repo.count('/podinfo-1.10.0.tgz', 200);
    const again = await sut.fetchChart(request(), 'podinfo', '~1.10');
    expect(again.downloaded).toBe(false);
    expect(repo.count('/podinfo-1.10.0.tgz', 200)).toBe(downloads);
  });

  it('refuses an archive whose digest does not match the index', async () => {
    await repo.tamperChart('broken', '0.1.0');
    const error = await failure(sut.fetchChart(request(), 'broken', '*'));
    expect(error.code).toBe(SourceErrorCode.DigestMismatch);
    expect(error.retryable).toBe(false);
  });

  it('returns RateLimited with the Retry-After delay on 429, and ServerError with it on 503', async () => {
    repo.injectFault({ status: 429, retryAfter: 30 }, { pathPrefix: '/index.yaml' });
    const limited = await failure(sut.fetchIndex(request()));
    expect(limited).toMatchObject({
      code: SourceErrorCode.RateLimited,
      retryAfterSeconds: 30,
      retryable: true,
    });

    repo.injectFault(
      { status: 503, retryAfter: new Date(Date.now() + 120_000).toUTCString() },
      { pathPrefix: '/index.yaml' },
    );
    const unavailable = await failure(sut.fetchIndex(request()));
    expect(unavailable.code).toBe(SourceErrorCode.ServerError);
    expect(unavailable.retryAfterSeconds).toBeGreaterThan(100);
    expect(unavailable.retryAfterSeconds).toBeLessThanOrEqual(121);
  });

  it('reports wrong credentials as AuthenticationFailed', async () => {
    const error = await failure(
      sut.fetchIndex({ url: repo.url(), credentials: { username: 'charts', password: 'nope' } }),
    );
    expect(error.code).toBe(SourceErrorCode.AuthenticationFailed);
  });

  it('never forwards credentials to another host on a redirect', async () => {
    await other.addChart('podinfo', '1.10.0');
    // Same bytes, so the digest in the first repository's index still matches.
    await other.reindex();
    const original = await readFile(`${repo.dir}/podinfo-1.10.0.tgz`);
    await import('node:fs/promises').then((fs) =>
      fs.writeFile(`${other.dir}/podinfo-1.10.0.tgz`, original),
    );
    repo.redirectChartsTo(other.url('localhost'));
    try {
      const fresh = await createFetchEngine({ allowHttp: true });
      const clock = new Clock();
      const client = new HelmRepositoryClient(
        fresh.options,
        new HttpClient(),
        new ArtifactStore(fresh.options, clock),
        clock,
        new HostResolver(),
      );
      const result = await client.fetchChart(request(), 'podinfo', '1.10.0');
      expect(result.downloaded).toBe(true);
      const hits = other.requests.filter((r) => r.path === '/podinfo-1.10.0.tgz');
      expect(hits.length).toBe(1);
      expect(hits[0]?.authorization).toBeUndefined();
      await fresh.dispose();
    } finally {
      repo.redirectChartsTo(undefined);
    }
  });

  it('refuses metadata hosts and disallowed schemes before any request', async () => {
    for (const url of [
      'http://169.254.169.254/charts/',
      'file:///etc/',
      'http://[fe80::1]/',
      'http://metadata.google.internal/',
    ]) {
      expect((await failure(sut.fetchIndex({ url }))).code).toBe(SourceErrorCode.InvalidUrl);
    }
  });
});
