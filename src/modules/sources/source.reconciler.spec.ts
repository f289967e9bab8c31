import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from 'src/common/config/config';
import { DomainEventBus } from 'src/common/events/domain-event-bus';
import { MetricsService } from 'src/common/metrics/metrics.service';
import type { ArtifactStore } from 'src/modules/sources/artifacts/artifact-store';
import type { GitFetcher, GitFetchResult } from 'src/modules/sources/git/git-fetcher';
import type {
  HelmIndexResult,
  HelmRepositoryClient,
  HelmRepositoryRequest,
} from 'src/modules/sources/helm/helm-repository.client';
import type { SourceCredentialsCodec } from 'src/modules/sources/source-credentials.codec';
import type { SourceRepository } from 'src/modules/sources/source.repository';
import { SourceReconciler } from 'src/modules/sources/source.reconciler';
import type { ClaimedSource, FetchOutcome } from 'src/modules/sources/source.types';
import { SourceErrorCode, SourceFetchError } from 'src/modules/sources/sources.errors';
import { SourceRevisionChanged } from 'src/modules/sources/sources.events';
import { SourceMetrics } from 'src/modules/sources/sources.metrics';

const SECRET = 'pa55-canary-secret';
const COMMIT = 'a'.repeat(40);

function claimed(overrides: Partial<ClaimedSource> = {}): ClaimedSource {
  return {
    id: 'src-1',
    tenantId: 'tenant-1',
    name: 'apps',
    kind: 'git',
    url: 'https://git.example.com/org/apps.git',
    reference: { kind: 'branch', name: 'main' },
    intervalSeconds: 300,
    timeoutSeconds: 60,
    ignore: [],
    caCertificate: null,
    suspended: false,
    credentialsKind: 'basic',
    generation: 1,
    status: {
      conditions: [],
      revision: null,
      artifactDigest: null,
      artifactSizeBytes: null,
      observedGeneration: 0,
      lastFetchAt: null,
      nextFetchAt: new Date(),
      failureCount: 0,
    },
    createdAt: new Date(),
    updatedAt: new Date(),
    fencingToken: 7n,
    leaseOwner: 'replica-a',
    credentialsCiphertext: 'gfv1.sealed',
    ...overrides,
  };
}

const fetched = (revision = `main@sha1:${COMMIT}`): GitFetchResult => ({
  revision,
  commit: COMMIT,
  refName: 'main',
  fetched: true,
  artifact: {
    sourceKey: 'git:k',
    revision,
    digest: `sha256:${'d'.repeat(64)}`,
    path: '/cache/artifacts/d',
    sizeBytes: 12,
    fileCount: 1,
    createdAt: new Date(),
  },
});

const INDEX_DIGEST = `sha256:${'e'.repeat(64)}`;

const indexFetched = (notModified = false): HelmIndexResult => ({
  index: { apiVersion: 'v1', entries: {} },
  digest: INDEX_DIGEST,
  sizeBytes: 321,
  cacheDir: '/cache/helm-indexes/x',
  notModified,
});

function setup(
  fetch: () => Promise<GitFetchResult>,
  written = true,
  fetchIndex: (request: HelmRepositoryRequest) => Promise<HelmIndexResult> = () =>
    Promise.resolve(indexFetched()),
) {
  const complete = vi.fn<(...args: unknown[]) => Promise<boolean>>().mockResolvedValue(written);
  const repo = {
    complete,
    currentDigestsAcrossTenants: vi.fn().mockResolvedValue([]),
  } as unknown as SourceRepository;
  const codec = {
    open: vi.fn().mockReturnValue({ kind: 'basic', username: 'bot', password: SECRET }),
  } as unknown as SourceCredentialsCodec;
  const store = { gc: vi.fn().mockResolvedValue({ removedDigests: [], totalBytes: 12 }) };
  const events = new DomainEventBus();
  // Recorded as published: delivery (after commit, on a later turn) is the bus's own business.
  const seen: SourceRevisionChanged[] = [];
  vi.spyOn(events, 'publish').mockImplementation((e) => {
    if (e instanceof SourceRevisionChanged) {
      seen.push(e);
    }
  });
  const metrics = new SourceMetrics(new MetricsService());
  const config = loadConfig({ SOURCE_FETCH_BACKOFF_BASE_SECONDS: '10' });
  const sut = new SourceReconciler(
    repo,
    { fetch } as unknown as GitFetcher,
    store as unknown as ArtifactStore,
    codec,
    events,
    metrics,
    config,
    { fetchIndex: vi.fn(fetchIndex) } as unknown as HelmRepositoryClient,
  );
  const outcome = (): FetchOutcome => complete.mock.calls[0][5] as FetchOutcome;
  return { sut, complete, seen, outcome, metrics, store };
}

describe('SourceReconciler', () => {
  it('records a new revision under the fencing token and emits it once stored', async () => {
    const { sut, complete, seen, outcome, store } = setup(() => Promise.resolve(fetched()));
    await sut.reconcile(claimed());
    expect(complete).toHaveBeenCalledWith(
      'tenant-1',
      'src-1',
      'replica-a',
      7n,
      1,
      expect.anything(),
    );
    expect(outcome()).toMatchObject({
      kind: 'success',
      revision: `main@sha1:${COMMIT}`,
      nextFetchInSeconds: 300,
      conditions: [{ type: 'Ready', status: 'True', reason: 'Succeeded' }],
    });
    expect(seen).toEqual([
      {
        tenantId: 'tenant-1',
        sourceId: 'src-1',
        sourceName: 'apps',
        revision: `main@sha1:${COMMIT}`,
        artifactDir: '/cache/artifacts/d',
        digest: `sha256:${'d'.repeat(64)}`,
        previousRevision: null,
      },
    ]);
    expect(store.gc).toHaveBeenCalledOnce();
  });

  it('emits nothing when the revision did not change', async () => {
    const { sut, seen } = setup(() => Promise.resolve(fetched()));
    await sut.reconcile(
      claimed({ status: { ...claimed().status, revision: `main@sha1:${COMMIT}` } }),
    );
    expect(seen).toEqual([]);
  });

  it('emits nothing when the result was stale (the lease moved on)', async () => {
    const { sut, seen, metrics } = setup(() => Promise.resolve(fetched()), false);
    await sut.reconcile(claimed());
    expect(seen).toEqual([]);
    expect((await metrics.fetchTotal.get()).values).toEqual([
      expect.objectContaining({ labels: { kind: 'git', result: 'stale' }, value: 1 }),
    ]);
  });

  it('records a failure with the error code as reason, no secret, and backoff honouring Retry-After', async () => {
    const { sut, seen, outcome } = setup(() =>
      Promise.reject(
        new SourceFetchError(SourceErrorCode.RateLimited, `429 from host (token ${SECRET})`, {
          retryAfterSeconds: 120,
        }),
      ),
    );
    await sut.reconcile(claimed());
    const o = outcome();
    expect(o.kind).toBe('failure');
    expect(o.conditions.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'False', 'RateLimited'],
      ['FetchFailed', 'True', 'RateLimited'],
    ]);
    expect(JSON.stringify(o)).not.toContain(SECRET);
    expect(o.nextFetchInSeconds).toBeGreaterThanOrEqual(120);
    expect(seen).toEqual([]);
  });

  it('waits an interval after a failure retrying cannot fix', async () => {
    const { sut, outcome } = setup(() =>
      Promise.reject(new SourceFetchError(SourceErrorCode.AuthenticationFailed, 'denied')),
    );
    await sut.reconcile(claimed());
    expect(outcome().nextFetchInSeconds).toBeGreaterThanOrEqual(300);
  });

  it('hides unexpected errors behind a generic message', async () => {
    const { sut, outcome } = setup(() => Promise.reject(new Error(`boom ${SECRET}`)));
    await sut.reconcile(claimed());
    expect(outcome().conditions[0]).toMatchObject({
      reason: 'InternalError',
      message: 'internal error while fetching; see the service log',
    });
  });

  it('keeps the transition time of a condition whose status did not change', async () => {
    const since = '2020-01-01T00:00:00.000Z';
    const { sut, outcome } = setup(() => Promise.resolve(fetched()));
    await sut.reconcile(
      claimed({
        status: {
          ...claimed().status,
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'Succeeded',
              message: '',
              lastTransitionTime: since,
            },
          ],
        },
      }),
    );
    expect(outcome().conditions[0]?.lastTransitionTime).toBe(since);
  });

  describe('helm repositories', () => {
    const helmSource = (overrides: Partial<ClaimedSource> = {}): ClaimedSource =>
      claimed({
        kind: 'helm',
        url: 'https://charts.example.com/',
        reference: null,
        ...overrides,
      });

    it('records the index digest as the revision, with basic credentials for the repository', async () => {
      const requests: HelmRepositoryRequest[] = [];
      const { sut, seen, outcome } = setup(
        () => Promise.reject(new Error('git must not be used')),
        true,
        (request) => {
          requests.push(request);
          return Promise.resolve(indexFetched());
        },
      );
      await sut.reconcile(helmSource());
      expect(requests).toEqual([
        {
          url: 'https://charts.example.com/',
          timeoutSeconds: 60,
          credentials: { username: 'bot', password: SECRET },
        },
      ]);
      expect(outcome()).toMatchObject({
        kind: 'success',
        revision: INDEX_DIGEST,
        artifactDigest: INDEX_DIGEST,
        artifactSizeBytes: 321,
        conditions: [{ type: 'Ready', status: 'True', reason: 'Succeeded' }],
      });
      expect(seen.map((e) => e.revision)).toEqual([INDEX_DIGEST]);
    });

    it('stays Ready and emits nothing when the index was not modified', async () => {
      const { sut, seen, outcome } = setup(
        () => Promise.reject(new Error('git must not be used')),
        true,
        () => Promise.resolve(indexFetched(true)),
      );
      await sut.reconcile(helmSource({ status: { ...claimed().status, revision: INDEX_DIGEST } }));
      expect(outcome()).toMatchObject({ kind: 'success', revision: INDEX_DIGEST });
      expect(seen).toEqual([]);
    });

    it('backs off after a rate limit, honouring Retry-After', async () => {
      const { sut, outcome } = setup(
        () => Promise.reject(new Error('git must not be used')),
        true,
        () =>
          Promise.reject(
            new SourceFetchError(SourceErrorCode.RateLimited, 'index.yaml: rate limited', {
              retryAfterSeconds: 90,
            }),
          ),
      );
      await sut.reconcile(helmSource());
      expect(outcome().conditions.map((c) => [c.type, c.status, c.reason])).toEqual([
        ['Ready', 'False', 'RateLimited'],
        ['FetchFailed', 'True', 'RateLimited'],
      ]);
      expect(outcome().nextFetchInSeconds).toBeGreaterThanOrEqual(90);
    });
  });
});
