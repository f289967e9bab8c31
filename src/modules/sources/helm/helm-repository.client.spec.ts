import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArtifactStore } from 'src/modules/sources/artifacts/artifact-store';
import {
  chartArchiveName,
  chartRevision,
  HelmRepositoryClient,
} from 'src/modules/sources/helm/helm-repository.client';
import { Clock } from 'src/modules/sources/ports/clock';
import { HostResolver } from 'src/common/net/host-resolver';
import { HttpClient, type HttpTrust } from 'src/modules/sources/ports/http-client';
import { SourceErrorCode } from 'src/modules/sources/sources.errors';
import { defaultSourcesOptions } from 'src/modules/sources/sources.options';
import { createCertificateAuthority } from 'test/support/kube-sim/certs';

const CHART = Buffer.from('chart-bytes');
const DIGEST = createHash('sha256').update(CHART).digest('hex');

class FakeHttp extends HttpClient {
  readonly requests: Array<{ url: string; headers: Record<string, string>; trust?: HttpTrust }> =
    [];
  routes = new Map<string, () => Response>();
  override fetch(url: string, init: RequestInit, trust?: HttpTrust): Promise<Response> {
    this.requests.push({
      url,
      headers: { ...(init.headers as Record<string, string>) },
      ...(trust === undefined ? {} : { trust }),
    });
    const route = this.routes.get(url);
    return Promise.resolve(
      route === undefined ? new Response('missing', { status: 404 }) : route(),
    );
  }
}

class StaticResolver extends HostResolver {
  override resolve(): Promise<string[]> {
    return Promise.resolve(['140.82.112.3']);
  }
}

function index(url: string, digest = DIGEST): string {
  return `apiVersion: v1\nentries:\n  app:\n    - name: app\n      version: 1.0.0\n      digest: ${digest}\n      urls: ["${url}"]\n`;
}

describe('HelmRepositoryClient (HTTP replaced)', () => {
  let cacheDir: string;
  let http: FakeHttp;
  let sut: HelmRepositoryClient;
  const credentials = { username: 'u', password: 'helm-small-canary' };

  beforeEach(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'helm-'));
    const options = defaultSourcesOptions({ cacheDir, helm: { maxChartBytes: 100 } });
    http = new FakeHttp();
    sut = new HelmRepositoryClient(
      options,
      http,
      new ArtifactStore(options, new Clock()),
      new Clock(),
      new StaticResolver(),
    );
  });
  afterEach(async () => {
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('sends credentials to the repository origin only, not along a redirect to another host', async () => {
    http.routes.set(
      'https://charts.example.com/index.yaml',
      () => new Response(index('app-1.0.0.tgz')),
    );
    http.routes.set(
      'https://charts.example.com/app-1.0.0.tgz',
      () =>
        new Response(null, {
          status: 302,
          headers: { location: 'https://cdn.example.net/app.tgz' },
        }),
    );
    http.routes.set('https://cdn.example.net/app.tgz', () => new Response(CHART));

    const result = await sut.fetchChart(
      { url: 'https://charts.example.com', credentials },
      'app',
      '*',
    );

    expect(result.revision).toBe(`1.0.0@sha256:${DIGEST}`);
    expect(http.requests.map((r) => [r.url, r.headers.authorization !== undefined])).toEqual([
      ['https://charts.example.com/index.yaml', true],
      ['https://charts.example.com/app-1.0.0.tgz', true],
      ['https://cdn.example.net/app.tgz', false],
    ]);
  });

  it('refuses redirects to http and to metadata addresses', async () => {
    http.routes.set(
      'https://charts.example.com/index.yaml',
      () =>
        new Response(null, {
          status: 301,
          headers: { location: 'http://charts.example.com/index.yaml' },
        }),
    );
    await expect(sut.fetchIndex({ url: 'https://charts.example.com/' })).rejects.toMatchObject({
      code: SourceErrorCode.InvalidUrl,
    });
    http.routes.set(
      'https://charts.example.com/index.yaml',
      () =>
        new Response(null, {
          status: 302,
          headers: { location: 'https://169.254.169.254/latest' },
        }),
    );
    await expect(sut.fetchIndex({ url: 'https://charts.example.com/' })).rejects.toMatchObject({
      code: SourceErrorCode.InvalidUrl,
    });
    expect(http.requests.map((r) => r.url)).not.toContain('https://169.254.169.254/latest');
  });

  it('refuses archives over the size limit and without a digest', async () => {
    http.routes.set('https://charts.example.com/index.yaml', () => new Response(index('big.tgz')));
    http.routes.set('https://charts.example.com/big.tgz', () => new Response(Buffer.alloc(500)));
    await expect(
      sut.fetchChart({ url: 'https://charts.example.com/' }, 'app', '*'),
    ).rejects.toMatchObject({
      code: SourceErrorCode.LimitExceeded,
      limit: 'chartSize',
    });
    http.routes.set(
      'https://charts.example.com/index.yaml',
      () => new Response(index('big.tgz', '""')),
    );
    await expect(
      sut.fetchChart({ url: 'https://charts.example.com/' }, 'app', '*'),
    ).rejects.toMatchObject({
      code: SourceErrorCode.DigestMismatch,
    });
  });

  it('keeps the query of a pre-signed redirect target out of error messages', async () => {
    const signed = 'https://cdn.example.net/app.tgz?X-Amz-Signature=presigned-canary-0123';
    http.routes.set('https://charts.example.com/index.yaml', () => new Response(index('app.tgz')));
    http.routes.set(
      'https://charts.example.com/app.tgz',
      () => new Response(null, { status: 302, headers: { location: signed } }),
    );
    http.routes.set(signed, () => new Response('denied', { status: 403 }));
    const error = (await sut
      .fetchChart({ url: 'https://charts.example.com/' }, 'app', '*')
      .catch((e: unknown) => e)) as Error;
    expect(http.requests.map((r) => r.url)).toContain(signed);
    expect(error.message).toContain('https://cdn.example.net/app.tgz');
    expect(error.message).not.toContain('presigned-canary-0123');
  });

  it('reports connection failures as Unreachable without the credentials', async () => {
    http.fetch = () =>
      Promise.reject(
        Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }),
      );
    const error = (await sut
      .fetchIndex({ url: 'https://charts.example.com/', credentials })
      .catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ code: SourceErrorCode.Unreachable });
    expect(error.message).not.toContain(credentials.password);
  });

  it("hands the source's parsed CA bundle to every request, redirects included", async () => {
    const ca = (await createCertificateAuthority('client spec CA')).certPem;
    http.routes.set(
      'https://charts.example.com/index.yaml',
      () => new Response(index('app-1.0.0.tgz')),
    );
    http.routes.set(
      'https://charts.example.com/app-1.0.0.tgz',
      () =>
        new Response(null, { status: 302, headers: { location: 'https://cdn.example.net/a.tgz' } }),
    );
    http.routes.set('https://cdn.example.net/a.tgz', () => new Response(CHART));
    await sut.fetchChart({ url: 'https://charts.example.com/', caCertificate: ca }, 'app', '*');
    expect(http.requests).toHaveLength(3);
    for (const request of http.requests) {
      expect(request.trust?.caCertificates).toEqual([ca]);
    }
  });

  it('reports certificate failures as CertificateVerificationFailed in x509 terms, not retried', async () => {
    for (const code of ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN']) {
      http.fetch = () =>
        Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: { code } }));
      const error = (await sut
        .fetchIndex({ url: 'https://charts.example.com/', credentials })
        .catch((e: unknown) => e)) as Error;
      expect(error).toMatchObject({
        code: SourceErrorCode.CertificateVerificationFailed,
        retryable: false,
      });
      expect(error.message).toBe(
        `https://charts.example.com/index.yaml: TLS certificate verification failed: x509: certificate signed by unknown authority (${code}); a private repository's CA goes into the source's caCertificate`,
      );
    }
    http.fetch = () =>
      Promise.reject(
        Object.assign(new TypeError('fetch failed'), {
          cause: { code: 'ERR_TLS_CERT_ALTNAME_INVALID' },
        }),
      );
    await expect(sut.fetchIndex({ url: 'https://charts.example.com/' })).rejects.toThrow(
      /x509: certificate is not valid for this host/,
    );
  });

  it('refuses a CA bundle that does not parse before any request', async () => {
    await expect(
      sut.fetchIndex({
        url: 'https://charts.example.com/',
        caCertificate: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
      }),
    ).rejects.toMatchObject({ code: SourceErrorCode.InvalidCredentials });
    expect(http.requests).toHaveLength(0);
  });

  it('reads the cached index without a request, and downloads one archive per digest however many ask', async () => {
    http.routes.set(
      'https://charts.example.com/index.yaml',
      () => new Response(index('app-1.0.0.tgz')),
    );
    http.routes.set('https://charts.example.com/app-1.0.0.tgz', () => new Response(CHART));
    const request = { url: 'https://charts.example.com/' };
    expect(await sut.cachedIndex(request)).toBeUndefined();
    const fetched = await sut.fetchIndex(request);
    const cached = await sut.cachedIndex(request);
    expect(cached?.digest).toBe(fetched.digest);
    expect(cached?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(cached?.sizeBytes).toBe(fetched.sizeBytes);
    const requestsBefore = http.requests.length;

    const chart = cached?.index.entries.app?.[0];
    if (chart === undefined) {
      throw new Error('chart app missing from the cached index');
    }
    const results = await Promise.all([1, 2, 3].map(() => sut.downloadChart(request, chart)));
    const again = await sut.downloadChart(request, chart);

    const downloads = http.requests.slice(requestsBefore).map((r) => r.url);
    expect(downloads).toEqual(['https://charts.example.com/app-1.0.0.tgz']);
    expect(new Set(results.map((r) => r.revision))).toEqual(new Set([`1.0.0@sha256:${DIGEST}`]));
    expect(again).toMatchObject({ downloaded: false, revision: `1.0.0@sha256:${DIGEST}` });
    expect(again.archivePath).toBe(join(again.artifact.path, 'app-1.0.0.tgz'));
  });

  it('parses a cached index once per version of the file, not once per lookup', async () => {
    let body = index('app-1.0.0.tgz');
    http.routes.set('https://charts.example.com/index.yaml', () => new Response(body));
    const request = { url: 'https://charts.example.com/' };
    await sut.fetchIndex(request);
    const first = await sut.cachedIndex(request);
    const second = await sut.cachedIndex(request);
    expect(second?.index).toBe(first?.index);

    body = index('app-1.0.0.tgz', 'f'.repeat(64));
    const refetched = await sut.fetchIndex(request);
    const third = await sut.cachedIndex(request);
    expect(third?.digest).toBe(refetched.digest);
    expect(third?.digest).not.toBe(first?.digest);
    expect(third?.index.entries.app?.[0]?.digest).toBe('f'.repeat(64));
  });
});

describe('chart revision strings', () => {
  it('are <version>@sha256:<archive digest>, archives named <name>-<version>.tgz', () => {
    expect(chartRevision('1.2.0', DIGEST)).toBe(`1.2.0@sha256:${DIGEST}`);
    expect(chartArchiveName({ name: 'web', version: '1.2.0+build.1' })).toBe(
      'web-1.2.0+build.1.tgz',
    );
    expect(chartArchiveName({ name: '../x', version: '1.0.0' })).toBe('.._x-1.0.0.tgz');
  });
});
