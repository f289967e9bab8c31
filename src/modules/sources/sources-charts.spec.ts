import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from 'src/common/config/config';
import type { ArtifactStore } from 'src/modules/sources/artifacts/artifact-store';
import type { GitFetcher } from 'src/modules/sources/git/git-fetcher';
import { parseHelmIndex } from 'src/modules/sources/helm/helm-index';
import type {
  HelmChartResult,
  HelmRepositoryClient,
} from 'src/modules/sources/helm/helm-repository.client';
import type { SourceCredentialsCodec } from 'src/modules/sources/source-credentials.codec';
import type { SourceScheduler } from 'src/modules/sources/source-scheduler';
import type { SourceRepository } from 'src/modules/sources/source.repository';
import type { Source } from 'src/modules/sources/source.types';
import { SourcesService } from 'src/modules/sources/sources.service';

const RECORDED = `sha256:${'1'.repeat(64)}`;
const NEWER = `sha256:${'2'.repeat(64)}`;
const INDEX = parseHelmIndex(`
entries:
  web:
    - { name: web, version: 1.0.0, urls: [web-1.0.0.tgz], digest: ${'a'.repeat(64)} }
    - { name: web, version: 1.2.0, urls: [web-1.2.0.tgz], digest: ${'b'.repeat(64)} }
    - { name: web, version: 2.0.0, urls: [web-2.0.0.tgz], digest: ${'c'.repeat(64)} }
`);

function helmSource(overrides: Partial<Source> = {}): Source {
  return {
    id: 'src-1',
    tenantId: 'tenant-1',
    name: 'charts',
    kind: 'helm',
    url: 'https://charts.example.com/',
    reference: null,
    intervalSeconds: 300,
    timeoutSeconds: 60,
    ignore: [],
    caCertificate: null,
    suspended: false,
    credentialsKind: null,
    generation: 1,
    status: {
      conditions: [],
      revision: RECORDED,
      artifactDigest: RECORDED,
      artifactSizeBytes: 10,
      observedGeneration: 1,
      lastFetchAt: new Date(),
      nextFetchAt: new Date(),
      failureCount: 0,
    },
    createdAt: new Date(),
    updatedAt: new Date(),
    ...overrides,
  };
}

function setup(
  source: Source,
  cachedDigest: string | undefined,
  chartCached = false,
  fetchedDigest = NEWER,
) {
  const index = (digest: string) => ({
    index: INDEX,
    digest,
    sizeBytes: 10,
    cacheDir: '/cache/idx',
  });
  const helm = {
    cachedIndex: vi.fn(() =>
      Promise.resolve(cachedDigest === undefined ? undefined : index(cachedDigest)),
    ),
    fetchIndex: vi.fn(() => Promise.resolve({ ...index(fetchedDigest), notModified: false })),
    downloadChart: vi.fn((_request: unknown, chart: { name: string; version: string }) =>
      Promise.resolve(stored(chart)),
    ),
    cachedChart: vi.fn((_request: unknown, chart: { name: string; version: string }) =>
      Promise.resolve(chartCached ? stored(chart) : undefined),
    ),
  };
  const repo = {
    findById: vi.fn(() => Promise.resolve(source)),
    findCredentials: vi.fn(() => Promise.resolve(null)),
    requestRefresh: vi.fn(() => Promise.resolve(source)),
    requestRefreshOfStale: vi.fn(() => Promise.resolve(true)),
  };
  const scheduler = { kick: vi.fn() };
  const sut = new SourcesService(
    repo as unknown as SourceRepository,
    {} as SourceCredentialsCodec,
    scheduler satisfies Partial<SourceScheduler> as Partial<SourceScheduler> as SourceScheduler,
    {} as GitFetcher,
    {} as ArtifactStore,
    loadConfig({}),
    helm as unknown as HelmRepositoryClient,
  );
  return { sut, helm, repo, scheduler };
}

const stored = (chart: { name: string; version: string }): HelmChartResult =>
  ({
    revision: `${chart.version}@sha256:${'b'.repeat(64)}`,
    artifact: { path: '/cache/artifacts/b', digest: `sha256:${'f'.repeat(64)}` },
    archivePath: `/cache/artifacts/b/${chart.name}-${chart.version}.tgz`,
  }) as HelmChartResult;

describe('SourcesService charts', () => {
  it('resolves the highest matching version from the cached index without a request', async () => {
    const { sut, helm } = setup(helmSource(), RECORDED);
    const chart = await sut.getChart('tenant-1', 'src-1', 'web', '^1.0.0');
    expect(chart).toEqual({
      revision: `1.2.0@sha256:${'b'.repeat(64)}`,
      dir: '/cache/artifacts/b',
      digest: `sha256:${'f'.repeat(64)}`,
      archive: 'web-1.2.0.tgz',
    });
    expect(helm.fetchIndex).not.toHaveBeenCalled();
  });

  it('serves a cached chart of the recorded index without reading credentials', async () => {
    const { sut, helm, repo } = setup(helmSource(), RECORDED, true);
    const chart = await sut.getChart('tenant-1', 'src-1', 'web', '^1.0.0');
    expect(chart).toMatchObject({ archive: 'web-1.2.0.tgz' });
    expect(repo.findCredentials).not.toHaveBeenCalled();
    expect(helm.downloadChart).not.toHaveBeenCalled();
    expect(helm.fetchIndex).not.toHaveBeenCalled();
  });

  it('fetches the index when this replica has none or another revision', async () => {
    const { sut, helm } = setup(helmSource(), undefined, false, RECORDED);
    await sut.getChart('tenant-1', 'src-1', 'web');
    expect(helm.fetchIndex).toHaveBeenCalledOnce();
    expect(helm.downloadChart.mock.calls[0]?.[1]).toMatchObject({ version: '2.0.0' });
  });

  it('never resolves from an index newer than the recorded revision: ArtifactNotReady and a refresh', async () => {
    const { sut, helm, repo, scheduler } = setup(helmSource(), NEWER, true, NEWER);
    await expect(sut.getChart('tenant-1', 'src-1', 'web')).rejects.toMatchObject({
      code: 'ArtifactNotReady',
      message: expect.stringContaining('newer than its recorded revision'),
    });
    expect(helm.fetchIndex).toHaveBeenCalledOnce();
    expect(helm.cachedChart).not.toHaveBeenCalled();
    expect(helm.downloadChart).not.toHaveBeenCalled();
    expect(repo.requestRefreshOfStale).toHaveBeenCalledWith(
      'tenant-1',
      'src-1',
      helmSource().status.revision,
    );
    expect(scheduler.kick).toHaveBeenCalledOnce();

    // Asked once: until the source records another revision, this replica answers
    // at once, without credentials, another index fetch or another refresh.
    await expect(sut.getChart('tenant-1', 'src-1', 'web')).rejects.toMatchObject({
      code: 'ArtifactNotReady',
    });
    expect(helm.fetchIndex).toHaveBeenCalledOnce();
    expect(repo.findCredentials).toHaveBeenCalledOnce();
    expect(repo.requestRefreshOfStale).toHaveBeenCalledOnce();

    const suspended = setup(helmSource({ suspended: true }), undefined, false, NEWER);
    await expect(suspended.sut.getChart('tenant-1', 'src-1', 'web')).rejects.toMatchObject({
      code: 'ArtifactNotReady',
    });
    expect(suspended.repo.requestRefreshOfStale).not.toHaveBeenCalled();
    expect(suspended.helm.downloadChart).not.toHaveBeenCalled();
  });

  it('gives a release on a helm source the chart archive as chart path (range defaults to *)', async () => {
    const { sut } = setup(helmSource(), RECORDED);
    const artifact = await sut.getReleaseArtifact('tenant-1', 'src-1', { chart: 'web' });
    expect(artifact).toMatchObject({
      revision: `2.0.0@sha256:${'b'.repeat(64)}`,
      chartPath: 'web-2.0.0.tgz',
    });
  });

  it('refuses a helm source without a chart, and a source with no index yet', async () => {
    const { sut, helm } = setup(helmSource(), RECORDED);
    await expect(sut.getReleaseArtifact('tenant-1', 'src-1', null)).rejects.toMatchObject({
      code: 'SourceKindMismatch',
    });
    const notReady = setup(
      helmSource({ status: { ...helmSource().status, revision: null } }),
      RECORDED,
    );
    await expect(notReady.sut.getChart('tenant-1', 'src-1', 'web')).rejects.toMatchObject({
      code: 'ArtifactNotReady',
    });
    expect(helm.downloadChart).not.toHaveBeenCalled();
  });

  it('reports a range no version matches', async () => {
    const { sut } = setup(helmSource(), RECORDED);
    await expect(sut.getChart('tenant-1', 'src-1', 'web', '^3')).rejects.toMatchObject({
      code: 'ChartNotFound',
    });
  });
});
