import { performance } from 'node:perf_hooks';
import { transition } from 'src/common/conditions/conditions';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from 'src/common/config/config';
import { AppError } from 'src/common/errors/app-error';
import { DomainEventBus } from 'src/common/events/domain-event-bus';
import { ArtifactStore } from 'src/modules/sources/artifacts/artifact-store';
import { GitFetcher } from 'src/modules/sources/git/git-fetcher';
import { HelmRepositoryClient } from 'src/modules/sources/helm/helm-repository.client';
import { helmRequest } from 'src/modules/sources/helm/helm-request';
import { SecretScrubber } from 'src/common/redaction/secret-scrubber';
import { retryDelaySeconds } from 'src/modules/sources/source-backoff';
import {
  credentialSecrets,
  SourceCredentialsCodec,
} from 'src/modules/sources/source-credentials.codec';
import { SourceRepository } from 'src/modules/sources/source.repository';
import {
  type ClaimedSource,
  type FetchOutcome,
  type SourceCondition,
  type SourceCredentials,
  SourceReason,
} from 'src/modules/sources/source.types';
import { isSourceFetchError } from 'src/modules/sources/sources.errors';
import { SourceRevisionChanged } from 'src/modules/sources/sources.events';
import { type FetchResult, SourceMetrics } from 'src/modules/sources/sources.metrics';

/** What a successful fetch of either kind yields. */
interface Fetched {
  /** `main@sha1:<commit>` (git) or `sha256:<index digest>` (helm). */
  revision: string;
  digest: string;
  sizeBytes: number;
  dir: string;
  /** False when nothing was transferred (cached commit, index not modified). */
  downloaded: boolean;
}

interface Failure {
  reason: string;
  message: string;
  retryable: boolean;
  retryAfterSeconds?: number;
}

/**
 * Fetches one claimed source and records the result, in Flux's shape: do the work,
 * then always write status (Ready / FetchFailed with a PascalCase reason). The write
 * carries the claim's fencing token; a stale claim's result is dropped. A failure
 * keeps the last revision and artifact.
 */
@Injectable()
export class SourceReconciler {
  private readonly logger = new Logger(SourceReconciler.name);
  private gcRunning = false;

  constructor(
    private readonly sources: SourceRepository,
    private readonly fetcher: GitFetcher,
    private readonly store: ArtifactStore,
    private readonly codec: SourceCredentialsCodec,
    private readonly events: DomainEventBus,
    private readonly metrics: SourceMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly helm: HelmRepositoryClient,
  ) {}

  async reconcile(source: ClaimedSource): Promise<void> {
    const started = performance.now();
    let credentials: SourceCredentials | undefined;
    let result: Fetched | undefined;
    let failure: Failure | undefined;
    try {
      credentials =
        source.credentialsCiphertext === null
          ? undefined
          : this.codec.open(source.id, source.credentialsCiphertext);
      result = await this.fetch(source, credentials);
    } catch (error) {
      failure = this.describeFailure(source, error, credentials);
    }
    const now = new Date().toISOString();
    let outcome: FetchOutcome;
    if (result !== undefined) {
      outcome = {
        kind: 'success',
        revision: result.revision,
        artifactDigest: result.digest,
        artifactSizeBytes: result.sizeBytes,
        conditions: [
          condition(source.status.conditions, now, 'Ready', 'True', SourceReason.Succeeded,
            `stored artifact for revision '${result.revision}'`),
        ], // prettier-ignore
        nextFetchInSeconds: source.intervalSeconds,
      };
    } else {
      const f = failure!;
      const failureCount = source.status.failureCount + 1;
      outcome = {
        kind: 'failure',
        conditions: [
          condition(source.status.conditions, now, 'Ready', 'False', f.reason, f.message),
          condition(source.status.conditions, now, 'FetchFailed', 'True', f.reason, f.message),
        ],
        nextFetchInSeconds: retryDelaySeconds(
          {
            failureCount,
            retryable: f.retryable,
            intervalSeconds: source.intervalSeconds,
            ...(f.retryAfterSeconds === undefined
              ? {}
              : { retryAfterSeconds: f.retryAfterSeconds }),
          },
          {
            baseSeconds: this.config.sourceFetchBackoffBaseSeconds,
            maxSeconds: this.config.sourceFetchBackoffMaxSeconds,
          },
        ),
      };
    }
    const written = await this.sources.complete(
      source.tenantId,
      source.id,
      source.leaseOwner,
      source.fencingToken,
      source.generation,
      outcome,
    );
    const fetchResult: FetchResult = !written
      ? 'stale'
      : result !== undefined
        ? 'success'
        : 'failure';
    this.metrics.observeFetch(source.kind, fetchResult, (performance.now() - started) / 1000);
    this.log(source, fetchResult, result, failure, outcome.nextFetchInSeconds);
    if (written && result !== undefined) {
      if (result.revision !== source.status.revision) {
        this.events.publish(
          new SourceRevisionChanged(
            source.tenantId,
            source.id,
            source.name,
            result.revision,
            result.dir,
            result.digest,
            source.status.revision,
          ),
        );
      }
      await this.collectGarbage();
    }
  }

  private async fetch(
    source: ClaimedSource,
    credentials: SourceCredentials | undefined,
  ): Promise<Fetched> {
    switch (source.kind) {
      case 'git': {
        if (source.reference === null) {
          throw new UnsupportedSourceError('the git source has no reference');
        }
        const fetched = await this.fetcher.fetch({
          url: source.url,
          reference: source.reference,
          ignore: source.ignore,
          timeoutSeconds: source.timeoutSeconds,
          ...(credentials === undefined ? {} : { credentials }),
          ...(source.caCertificate === null ? {} : { caCertificate: source.caCertificate }),
        });
        return {
          revision: fetched.revision,
          digest: fetched.artifact.digest,
          sizeBytes: fetched.artifact.sizeBytes,
          dir: fetched.artifact.path,
          downloaded: fetched.fetched,
        };
      }
      case 'helm': {
        // Only the index is fetched here (conditionally); charts are downloaded when a
        // release asks for one. The index digest is the source's revision.
        const index = await this.helm.fetchIndex(helmRequest(source, credentials));
        return {
          revision: index.digest,
          digest: index.digest,
          sizeBytes: index.sizeBytes,
          dir: index.cacheDir,
          downloaded: !index.notModified,
        };
      }
    }
  }

  // Messages reaching status, logs and events go through a scrubber of this source's
  // secrets even though the fetch engine scrubs already: defence in depth.
  private describeFailure(
    source: ClaimedSource,
    error: unknown,
    credentials: SourceCredentials | undefined,
  ): Failure {
    const scrubber = new SecretScrubber(credentialSecrets(credentials));
    if (isSourceFetchError(error)) {
      return {
        reason: error.code,
        message: scrubber.scrub(error.message),
        retryable: error.retryable,
        ...(error.retryAfterSeconds === undefined
          ? {}
          : { retryAfterSeconds: error.retryAfterSeconds }),
      };
    }
    if (error instanceof UnsupportedSourceError) {
      return { reason: SourceReason.UnsupportedKind, message: error.message, retryable: false };
    }
    if (error instanceof AppError) {
      // Vault failures: the message names the object, never key material.
      return {
        reason: SourceReason.CredentialsUnavailable,
        message: scrubber.scrub(error.message),
        retryable: false,
      };
    }
    this.logger.error({
      msg: 'unexpected error while fetching a source',
      tenantId: source.tenantId,
      sourceId: source.id,
      error: scrubber.scrub(
        error instanceof Error ? (error.stack ?? error.message) : String(error),
      ),
    });
    return {
      reason: SourceReason.InternalError,
      message: 'internal error while fetching; see the service log',
      retryable: true,
    };
  }

  private log(
    source: ClaimedSource,
    fetchResult: FetchResult,
    result: Fetched | undefined,
    failure: Failure | undefined,
    nextFetchInSeconds: number,
  ): void {
    const base = { tenantId: source.tenantId, sourceId: source.id, source: source.name };
    switch (fetchResult) {
      case 'success':
        this.logger.log({
          msg: 'source fetched',
          ...base,
          revision: result?.revision,
          downloaded: result?.downloaded,
        });
        return;
      case 'failure':
        this.logger.warn({
          msg: 'source fetch failed',
          ...base,
          reason: failure?.reason,
          message: failure?.message,
          retryInSeconds: Math.round(nextFetchInSeconds),
        });
        return;
      case 'stale':
        this.logger.warn({ msg: 'source fetch result dropped: the lease moved on', ...base });
        return;
    }
  }

  private async collectGarbage(): Promise<void> {
    if (this.gcRunning) {
      return;
    }
    this.gcRunning = true;
    try {
      const keep = await this.sources.currentDigestsAcrossTenants();
      const { totalBytes } = await this.store.gc({ keep });
      this.metrics.cacheBytes.set(totalBytes);
    } catch (error) {
      this.logger.warn({
        msg: 'artifact cache GC failed',
        error: error instanceof Error ? error.message : String(error),
      });
    } finally {
      this.gcRunning = false;
    }
  }
}

class UnsupportedSourceError extends Error {}

/** A condition, through the one setter: its transition time moves only when its status changes. */
function condition(
  previous: readonly SourceCondition[],
  now: string,
  type: SourceCondition['type'],
  status: SourceCondition['status'],
  reason: string,
  message: string,
): SourceCondition {
  return transition(
    previous.find((c) => c.type === type),
    { type, status, reason, message },
    now,
  );
}
