import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from 'src/common/config/config';
import type { FieldProblem } from 'src/common/errors/app-error';
import { ArtifactStore } from 'src/modules/sources/artifacts/artifact-store';
import { parseCaBundle } from 'src/modules/sources/ca-bundle';
import { GitFetcher } from 'src/modules/sources/git/git-fetcher';
import { validateReference } from 'src/modules/sources/git/git-reference';
import { parseGitUrl } from 'src/modules/sources/git/git-url';
import {
  type HelmChartVersion,
  type HelmIndex,
  resolveChartVersion,
} from 'src/modules/sources/helm/helm-index';
import {
  type HelmChartResult,
  HelmRepositoryClient,
} from 'src/modules/sources/helm/helm-repository.client';
import { helmRequest } from 'src/modules/sources/helm/helm-request';
import { parseRevision } from 'src/modules/sources/revision';
import { SourceCredentialsCodec } from 'src/modules/sources/source-credentials.codec';
import { SourceScheduler } from 'src/modules/sources/source-scheduler';
import {
  type SealedCredentials,
  SourceRepository,
  type SourceSpecUpdate,
} from 'src/modules/sources/source.repository';
import type {
  NewSource,
  Source,
  SourceCredentials,
  SourcePatch,
  SourceSpec,
} from 'src/modules/sources/source.types';
import { SourceError } from 'src/modules/sources/sources-api.errors';
import { isSourceFetchError, PLAIN_HTTP_REFUSED } from 'src/modules/sources/sources.errors';
import { hostRefusal } from 'src/common/net/address-policy';
import { isUniqueViolation } from 'src/common/database/db-errors';
import { decodeContinueToken, filterDigest, type Page, toPage } from 'src/common/api/pagination';
import type { TenantRowId } from 'src/common/database/tenant-row-ids';

/** What the reconcile engine renders from: a revision and its read-only directory. */
export interface SourceArtifact {
  /** `main@sha1:<commit>`. */
  readonly revision: string;
  /** Read-only artifact directory in this replica's cache. */
  readonly dir: string;
  /** `sha256:<hex>` of the content. */
  readonly digest: string;
}

/**
 * A chart from a helm source: an artifact directory holding one verified chart archive
 * and nothing else. The reconciler tells rendering so (`fromHelmRepository`), which then
 * reads a release's valuesFiles from inside the chart.
 */
export interface ChartArtifact extends SourceArtifact {
  /** `<version>@sha256:<archive digest>`. */
  readonly revision: string;
  /** The archive's path relative to `dir`: `<name>-<version>.tgz`. */
  readonly archive: string;
}

/** What a release renders from; `chartPath` (relative to `dir`) is set for charts of helm sources. */
export interface ReleaseArtifact extends SourceArtifact {
  readonly chartPath?: string;
  /** Set by the Helm-repository branch: the chart is a packaged archive, not a folder in Git. */
  readonly fromHelmRepository?: true;
}

/**
 * Sources of one tenant: CRUD, on-demand refresh, suspend/resume, and the artifact
 * hand-over to the reconcile engine. Every method takes the tenant id first.
 */
@Injectable()
export class SourcesService {
  private readonly logger = new Logger(SourcesService.name);
  /**
   * Helm sources whose recorded index this replica found the repository no longer
   * serves, with that recorded revision: until the source records another one,
   * their charts answer ArtifactNotReady at once (no credentials, fetch or write).
   */
  private readonly staleIndexes = new Map<string, string | null>();

  constructor(
    private readonly sources: SourceRepository,
    private readonly codec: SourceCredentialsCodec,
    private readonly scheduler: SourceScheduler,
    private readonly fetcher: GitFetcher,
    private readonly store: ArtifactStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly helm: HelmRepositoryClient,
  ) {}

  async create(tenantId: string, input: NewSource): Promise<Source> {
    this.validateSpec(input, input.credentials);
    const id = randomUUID();
    const sealed = input.credentials === null ? null : this.codec.seal(id, input.credentials);
    let source: Source;
    try {
      source = await this.sources.insert(tenantId, id, input.name, input, sealed);
    } catch (error) {
      if (isUniqueViolation(error, 'UQ_source_tenant_name')) {
        throw new SourceError(
          'SourceNameTaken',
          `A source named "${input.name}" already exists in this tenant`,
        );
      }
      throw error;
    }
    this.logger.log({ msg: 'source created', tenantId, sourceId: id, name: input.name });
    this.scheduler.kick();
    return source;
  }

  async get(tenantId: string, name: string): Promise<Source> {
    return this.found(name, await this.sources.findByName(tenantId, name));
  }

  async getById(tenantId: string, sourceId: string): Promise<Source> {
    const source = await this.sources.findById(tenantId, sourceId);
    if (source === undefined) {
      throw new SourceError('SourceNotFound', `Source ${sourceId} not found`);
    }
    return source;
  }

  /** Sources of several tenants by id, each id with its tenant, for the reconcile worker's batch. */
  async getByTenantRowIds(keys: readonly TenantRowId[]): Promise<Map<string, Source>> {
    const found = await this.sources.findByTenantRowIds(keys);
    return new Map(found.map((s) => [s.id, s]));
  }

  /** Id of a source by name; SourceNotFound (404) when the tenant has none of that name. */
  async idOf(tenantId: string, name: string): Promise<string> {
    return (await this.get(tenantId, name)).id;
  }

  /** Names of the tenant's sources with these ids; ids of other tenants are absent. */
  async namesByIds(tenantId: string, ids: readonly string[]): Promise<Map<string, string>> {
    return this.sources.namesByIds(tenantId, [...new Set(ids)]);
  }

  async list(tenantId: string, page: { limit: number; continue?: string }): Promise<Page<Source>> {
    const digest = filterDigest({ list: 'sources', tenantId });
    const after = decodeContinueToken(page.continue, digest, 1);
    const rows = await this.sources.list(tenantId, after?.[0], page.limit);
    return toPage(
      rows,
      page.limit,
      (s) => [s.name],
      digest,
      (s) => s,
    );
  }

  async update(tenantId: string, name: string, patch: SourcePatch): Promise<Source> {
    const updated = await this.sources.transaction(async (m) => {
      const current = this.found(name, await this.sources.findByName(tenantId, name, m));
      const merged: SourceSpec = {
        kind: current.kind,
        url: patch.url ?? current.url,
        reference: patch.reference ?? current.reference,
        intervalSeconds: patch.intervalSeconds ?? current.intervalSeconds,
        timeoutSeconds: patch.timeoutSeconds ?? current.timeoutSeconds,
        ignore: patch.ignore ?? current.ignore,
        caCertificate:
          patch.caCertificate === undefined ? current.caCertificate : patch.caCertificate,
        suspended: patch.suspended ?? current.suspended,
      };
      if (current.kind === 'helm' && patch.reference !== undefined) {
        throw invalidSource([
          {
            field: 'reference',
            message: 'helm sources have no reference; charts are chosen by releases',
          },
        ]);
      }
      // Credentials kept as they are are checked by kind only: they stay sealed.
      const credentialsKind =
        patch.credentials === undefined
          ? current.credentialsKind
          : (patch.credentials?.kind ?? null);
      // A stored CA bundle was checked when it was given; only a new one is checked here.
      this.validateSpec(
        merged,
        credentialsKind === null ? null : { kind: credentialsKind },
        patch.caCertificate !== undefined,
      );
      let credentials: SealedCredentials | null | undefined;
      if (patch.credentials !== undefined) {
        credentials =
          patch.credentials === null ? null : this.codec.seal(current.id, patch.credentials);
      }
      // The plaintext never goes further than the vault.
      const { credentials: _plaintext, ...specChanges } = patch;
      const update: SourceSpecUpdate = {
        ...specChanges,
        ...(credentials === undefined ? {} : { credentials }),
      };
      return this.found(name, await this.sources.update(tenantId, name, update, m));
    });
    this.logger.log({
      msg: 'source updated',
      tenantId,
      sourceId: updated.id,
      generation: updated.generation,
    });
    this.scheduler.kick();
    return updated;
  }

  async delete(tenantId: string, name: string): Promise<void> {
    const deleted = this.found(name, await this.sources.delete(tenantId, name));
    this.logger.log({ msg: 'source deleted', tenantId, sourceId: deleted.id });
  }

  /** The last step before a tenant's row goes: its releases are gone, so no source is in use. */
  async deleteAllOfTenant(tenantId: string): Promise<void> {
    const deleted = await this.sources.deleteAllOfTenant(tenantId);
    if (deleted > 0) {
      this.logger.log({ msg: 'sources of a deleted tenant deleted', tenantId, sources: deleted });
    }
  }

  /** Schedules a fetch now. Any number of refreshes while one fetch runs lead to one more fetch. */
  async refresh(tenantId: string, name: string): Promise<Source> {
    const current = this.found(name, await this.sources.findByName(tenantId, name));
    if (current.suspended) {
      throw new SourceError('SourceSuspended', `Source "${name}" is suspended; resume it first`);
    }
    const source = this.found(name, await this.sources.requestRefresh(tenantId, name));
    this.scheduler.kick();
    return source;
  }

  async setSuspended(tenantId: string, name: string, suspended: boolean): Promise<Source> {
    const source = this.found(name, await this.sources.setSuspended(tenantId, name, suspended));
    if (!suspended) {
      this.scheduler.kick();
    }
    return source;
  }

  /**
   * The current artifact of a git source, for rendering. Served from this replica's
   * cache; when another replica fetched it (or the cache dropped it) the recorded
   * commit is fetched here, so every replica renders exactly the recorded revision.
   */
  private async artifactOf(source: Source): Promise<SourceArtifact> {
    const revision = source.status.revision;
    if (revision === null || source.kind !== 'git' || source.reference === null) {
      throw new SourceError('ArtifactNotReady', `Source "${source.name}" has no artifact yet`);
    }
    const request = { url: source.url, ignore: source.ignore };
    const cached = await this.store.lookup(this.fetcher.sourceKey(request), revision);
    if (cached !== undefined) {
      return { revision, dir: cached.path, digest: cached.digest };
    }
    const { commit } = parseRevision(revision);
    const credentials = await this.openCredentials(source);
    const result = await this.fetcher.fetch({
      ...request,
      reference: { kind: 'commit', sha: commit },
      timeoutSeconds: source.timeoutSeconds,
      ...(credentials === undefined ? {} : { credentials }),
      ...(source.caCertificate === null ? {} : { caCertificate: source.caCertificate }),
    });
    if (
      source.status.artifactDigest !== null &&
      result.artifact.digest !== source.status.artifactDigest
    ) {
      this.logger.warn({
        msg: 'artifact digest differs from the recorded one (limits or ignore rules changed?)',
        tenantId: source.tenantId,
        sourceId: source.id,
        revision,
      });
    }
    return { revision, dir: result.artifact.path, digest: result.artifact.digest };
  }

  /**
   * What a release renders from: the source's artifact for a git source; for a helm
   * source the chart the release names (`helm.chart`, `helm.version` range, default `*`).
   */
  async getReleaseArtifact(
    tenantId: string,
    sourceId: string,
    helm: { readonly chart: string; readonly version?: string } | null,
  ): Promise<ReleaseArtifact> {
    return this.releaseArtifactOf(await this.getById(tenantId, sourceId), helm);
  }

  /** `getReleaseArtifact` for a source already loaded (see `getByTenantRowIds`). */
  async releaseArtifactOf(
    source: Source,
    helm: { readonly chart: string; readonly version?: string } | null,
  ): Promise<ReleaseArtifact> {
    if (source.kind !== 'helm') {
      return this.artifactOf(source);
    }
    if (helm === null) {
      throw new SourceError(
        'SourceKindMismatch',
        `Source "${source.name}" is a Helm repository; use kind helm with helm.chart naming a chart`,
      );
    }
    const chart = await this.chartOf(source, helm.chart, helm.version ?? '*');
    return { ...chart, chartPath: chart.archive, fromHelmRepository: true };
  }

  /**
   * The highest version of a chart matching a semver range, resolved from the index the
   * scheduler recorded (this replica's cached copy; fetched conditionally only when the
   * copy is missing or differs), its archive downloaded once per digest and verified.
   */
  async getChart(
    tenantId: string,
    sourceId: string,
    name: string,
    range = '*',
  ): Promise<ChartArtifact> {
    return this.chartOf(await this.getById(tenantId, sourceId), name, range);
  }

  private async chartOf(source: Source, name: string, range: string): Promise<ChartArtifact> {
    if (source.kind !== 'helm') {
      throw new SourceError(
        'SourceKindMismatch',
        `Source "${source.name}" is not a Helm repository`,
      );
    }
    if (source.status.revision === null) {
      throw new SourceError('ArtifactNotReady', `Source "${source.name}" has no index yet`);
    }
    // Every render of an unchanged release ends here: the recorded index and the chart
    // already cached need no request, so no credentials are read or decrypted for them.
    let index = await this.helm.cachedIndex(helmRequest(source, undefined));
    if (index?.digest === source.status.revision) {
      this.staleIndexes.delete(source.id);
      const cached = await this.helm.cachedChart(
        helmRequest(source, undefined),
        resolveChartVersion(index.index, name, range),
      );
      if (cached !== undefined) {
        return toChartArtifact(cached);
      }
    } else if (this.staleIndexes.get(source.id) === source.status.revision) {
      throw staleIndex(source);
    }
    // The source's CA applies to the index and to the chart download alike.
    const request = helmRequest(source, await this.openCredentials(source));
    if (index?.digest !== source.status.revision) {
      // Fetched by another replica: the repository usually still serves the recorded index.
      index = await this.helm.fetchIndex(request);
      if (index.digest !== source.status.revision) {
        // The repository moved on and the old index cannot be asked for: rendering the
        // newest would deploy a revision nobody recorded. Ask the source, once, to
        // record it, and wait for that.
        this.staleIndexes.set(source.id, source.status.revision);
        if (
          !source.suspended &&
          (await this.sources.requestRefreshOfStale(
            source.tenantId,
            source.id,
            source.status.revision,
          ))
        ) {
          this.scheduler.kick();
        }
        throw staleIndex(source);
      }
      this.staleIndexes.delete(source.id);
    }
    return toChartArtifact(
      await this.helm.downloadChart(request, resolveChartVersion(index.index, name, range)),
    );
  }

  /**
   * A chart dependency (Chart.yaml `dependencies`) of a tenant's chart: from its `https://`
   * Helm repository, through the outbound address policy, with the credentials and CA of
   * the tenant's helm source of the same URL if there is one (the first by name), else
   * anonymously. Resolved against this replica's cached index and served from the chart
   * cache when both hold it, so a render of an unchanged chart makes no request; otherwise
   * the index is fetched and the archive downloaded once, verified by the index digest.
   */
  async fetchChartDependency(
    tenantId: string,
    dependency: { readonly name: string; readonly repository: string; readonly version: string },
  ): Promise<{ archivePath: string; version: string }> {
    const { name, repository, version } = dependency;
    if (repository.startsWith('oci://')) {
      throw new SourceError(
        'SourceKindMismatch',
        'OCI registries are not supported for chart dependencies; vendor the chart into charts/',
      );
    }
    if (repository.startsWith('@') || repository.startsWith('alias:')) {
      throw new SourceError(
        'SourceKindMismatch',
        'repository aliases need a local Helm repository config; name the repository URL',
      );
    }
    const trimmed = repository.replace(/\/+$/, '');
    const [source] = await this.sources.findHelmByUrls(tenantId, [trimmed, `${trimmed}/`]);
    const spec = source ?? { url: repository, timeoutSeconds: 60, caCertificate: null };
    const anonymous = helmRequest(spec, undefined);
    const cachedIndex = await this.helm.cachedIndex(anonymous);
    if (cachedIndex !== undefined) {
      const chart = tryResolve(cachedIndex.index, name, version);
      const cached = chart && (await this.helm.cachedChart(anonymous, chart));
      if (cached) {
        return { archivePath: cached.archivePath, version: cached.chart.version };
      }
    }
    const request = helmRequest(spec, source && (await this.openCredentials(source)));
    const index = await this.helm.fetchIndex(request);
    const fetched = await this.helm.downloadChart(
      request,
      resolveChartVersion(index.index, name, version),
    );
    return { archivePath: fetched.archivePath, version: fetched.chart.version };
  }

  private async openCredentials(source: Source): Promise<SourceCredentials | undefined> {
    const envelope = await this.sources.findCredentials(source.tenantId, source.id);
    try {
      return envelope === null ? undefined : this.codec.open(source.id, envelope);
    } catch {
      throw new SourceError(
        'CredentialsUnavailable',
        `The credentials of source "${source.name}" cannot be decrypted`,
      );
    }
  }

  private found(name: string, source: Source | undefined): Source {
    if (source === undefined) {
      throw new SourceError('SourceNotFound', `Source "${name}" not found`);
    }
    return source;
  }

  /** Checks the URL policy, the reference, the CA bundle and that the credentials fit the transport. */
  private validateSpec(
    spec: SourceSpec,
    credentials: Pick<SourceCredentials, 'kind'> | null,
    checkCa = true,
  ): void {
    const problems: FieldProblem[] = [];
    if (checkCa && spec.caCertificate !== null && parseCaBundle(spec.caCertificate) === undefined) {
      problems.push({
        field: 'caCertificate',
        message: 'must be PEM certificates that parse as X.509',
      });
    }
    const allowHttp = this.config.sourceAllowHttp;
    switch (spec.kind) {
      case 'git': {
        let transport: string | undefined;
        try {
          transport = parseGitUrl(spec.url, { allowHttp }).transport;
        } catch (error) {
          problems.push({ field: 'url', message: fetchErrorMessage(error) });
        }
        if (spec.reference === null) {
          problems.push({ field: 'reference', message: 'git sources need a reference' });
        } else {
          try {
            validateReference(spec.reference);
          } catch (error) {
            problems.push({ field: 'reference', message: fetchErrorMessage(error) });
          }
        }
        if (transport === 'ssh' && credentials?.kind !== 'ssh') {
          problems.push({
            field: 'credentials',
            message: 'ssh URLs need ssh credentials with knownHosts',
          });
        }
        if (transport !== undefined && transport !== 'ssh' && credentials?.kind === 'ssh') {
          problems.push({ field: 'credentials', message: 'ssh credentials need an ssh URL' });
        }
        break;
      }
      case 'helm': {
        const problem = helmUrlProblem(spec.url, allowHttp);
        if (problem !== undefined) {
          problems.push({ field: 'url', message: problem });
        }
        if (credentials?.kind === 'ssh') {
          problems.push({
            field: 'credentials',
            message: 'helm repositories take basic or token credentials',
          });
        }
        break;
      }
    }
    if (spec.timeoutSeconds > spec.intervalSeconds) {
      problems.push({
        field: 'timeoutSeconds',
        message: 'timeoutSeconds must not exceed intervalSeconds',
      });
    }
    if (problems.length > 0) {
      throw invalidSource(problems);
    }
  }
}

function invalidSource(problems: FieldProblem[]): Error {
  return new SourceError(
    'InvalidSource',
    `Invalid source: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`,
    problems,
  );
}

function fetchErrorMessage(error: unknown): string {
  if (isSourceFetchError(error)) {
    return error.message;
  }
  throw error;
}

function helmUrlProblem(raw: string, allowHttp: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an https:// URL';
  }
  if (url.protocol === 'http:' && !allowHttp) {
    return PLAIN_HTTP_REFUSED;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return allowHttp ? 'must be an https:// or http:// URL' : 'must be an https:// URL';
  }
  if (url.username !== '' || url.password !== '') {
    return 'credentials must not be part of the URL; use the source credentials';
  }
  return hostRefusal(url.hostname.replace(/^\[|\]$/g, ''));
}

function toChartArtifact(chart: HelmChartResult): ChartArtifact {
  return {
    revision: chart.revision,
    dir: chart.artifact.path,
    digest: chart.artifact.digest,
    archive: basename(chart.archivePath),
  };
}

function staleIndex(source: Source): InstanceType<typeof SourceError> {
  return new SourceError(
    'ArtifactNotReady',
    `Source "${source.name}" serves an index newer than its recorded revision; the chart resolves once the source records it`,
  );
}

/** The chart version a cached index offers for a range, or undefined when it offers none. */
function tryResolve(index: HelmIndex, name: string, range: string): HelmChartVersion | undefined {
  try {
    return resolveChartVersion(index, name, range);
  } catch {
    return undefined;
  }
}
