import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import {
  type Artifact,
  ArtifactStore,
  removeTree,
} from 'src/modules/sources/artifacts/artifact-store';
import { parseCaBundle } from 'src/modules/sources/ca-bundle';
import { parseRetryAfter } from 'src/modules/sources/git/git-error-classifier';
import {
  type HelmChartVersion,
  type HelmIndex,
  parseHelmIndex,
  resolveChartVersion,
} from 'src/modules/sources/helm/helm-index';
import { Clock } from 'src/modules/sources/ports/clock';
import { HostResolver } from 'src/common/net/host-resolver';
import { HttpClient, type HttpTrust } from 'src/modules/sources/ports/http-client';
import { SecretScrubber } from 'src/common/redaction/secret-scrubber';
import {
  PLAIN_HTTP_REFUSED,
  type SourceLimit,
  SourceErrorCode,
  SourceFetchError,
} from 'src/modules/sources/sources.errors';
import { SOURCES_OPTIONS, type SourcesOptions } from 'src/modules/sources/sources.options';
import { certificateVerificationMessage, X509 } from 'src/modules/sources/tls-verification';
import { hostRefusal, isForbiddenAddress } from 'src/common/net/address-policy';

export interface HelmRepositoryRequest {
  /** Repository base URL; index.yaml is read below it. */
  url: string;
  credentials?: { username: string; password: string };
  /** PEM CA bundle trusted for every HTTPS request, in addition to the default roots. */
  caCertificate?: string;
  timeoutSeconds?: number;
}

export interface HelmIndexResult {
  index: HelmIndex;
  /** `sha256:<hex>` of the index bytes. */
  digest: string;
  /** Size of index.yaml in bytes. */
  sizeBytes: number;
  /** Directory of this replica's cached copy (index.yaml and its validators). */
  cacheDir: string;
  /** True when the server answered 304 and the cached index was used. */
  notModified: boolean;
}

export interface HelmChartResult {
  chart: HelmChartVersion;
  /** `<version>@sha256:<chart digest>` */
  revision: string;
  /** Directory artifact holding `<name>-<version>.tgz`. */
  artifact: Artifact;
  /** Path of the verified chart archive inside the artifact. */
  archivePath: string;
  /** False when the verified archive was already in the cache. */
  downloaded: boolean;
}

interface IndexCacheMeta {
  url: string;
  etag?: string;
  lastModified?: string;
}

interface ParsedIndex {
  /** Identity of the index.yaml file it was parsed from. */
  version: string;
  index: HelmIndex;
  digest: string;
  sizeBytes: number;
}

interface DownloadResult {
  status: number;
  body: Buffer;
  headers: Headers;
}

// Parsed cached indexes kept in memory (one per repository, least recently used out).
const MAX_PARSED_INDEXES = 16;

// Node's verification codes, in the words of Go's x509 errors that Helm and Flux users know.
const TLS_VERIFICATION: ReadonlyMap<string, string> = new Map([
  ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', X509.unknownAuthority],
  ['UNABLE_TO_GET_ISSUER_CERT', X509.unknownAuthority],
  ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', X509.unknownAuthority],
  ['SELF_SIGNED_CERT_IN_CHAIN', X509.unknownAuthority],
  ['DEPTH_ZERO_SELF_SIGNED_CERT', X509.unknownAuthority],
  ['CERT_UNTRUSTED', X509.unknownAuthority],
  // A CA of the same name but another key: Go reports that as unknown authority too.
  ['CERT_SIGNATURE_FAILURE', X509.unknownAuthority],
  ['CERT_HAS_EXPIRED', X509.expired],
  ['CERT_NOT_YET_VALID', X509.expired],
  ['ERR_TLS_CERT_ALTNAME_INVALID', X509.wrongHost],
]);

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Client of classic (index.yaml) Helm repositories: conditional index requests, semver
 * resolution, chart downloads verified against the index digest and stored as
 * artifacts. Credentials go only to the repository's own origin, never along a redirect
 * to another one.
 */
@Injectable()
export class HelmRepositoryClient {
  // One download per chart digest at a time, however many targets ask for it.
  private readonly downloads = new Map<string, Promise<HelmChartResult>>();
  // Every release render asks for the cached index: it is read, hashed and parsed once
  // per version of the file (identified by its stat), not once per render.
  private readonly parsedIndexes = new Map<string, ParsedIndex>();

  constructor(
    @Inject(SOURCES_OPTIONS) private readonly options: SourcesOptions,
    private readonly http: HttpClient,
    private readonly store: ArtifactStore,
    private readonly clock: Clock,
    private readonly resolver: HostResolver,
  ) {}

  private repositoryBase(request: HelmRepositoryRequest): URL {
    const base = this.checkUrl(request.url, request.url);
    if (!base.pathname.endsWith('/')) {
      base.pathname = `${base.pathname}/`;
    }
    return base;
  }

  private checkUrl(raw: string, context: string): URL {
    const invalid = (reason: string): SourceFetchError =>
      new SourceFetchError(
        SourceErrorCode.InvalidUrl,
        `invalid Helm repository URL "${displayUrl(context)}": ${reason}`,
      );
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw invalid('the URL cannot be parsed');
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.options.allowHttp)) {
      throw invalid(
        url.protocol === 'http:'
          ? PLAIN_HTTP_REFUSED
          : `the "${url.protocol}" scheme is not allowed`,
      );
    }
    if (url.username !== '' || url.password !== '') {
      throw invalid('credentials must not be part of the URL');
    }
    const refusal = hostRefusal(url.hostname.replace(/^\[|\]$/g, ''));
    if (refusal !== undefined) {
      throw invalid(refusal);
    }
    return url;
  }

  private indexCacheDir(base: URL): string {
    return join(this.options.cacheDir, 'helm-indexes', sha256(base.toString()));
  }

  /** Fetches index.yaml, sending the validators of the cached copy; 304 reuses it. */
  async fetchIndex(request: HelmRepositoryRequest): Promise<HelmIndexResult> {
    const base = this.repositoryBase(request);
    const cacheDir = this.indexCacheDir(base);
    const cachedMeta = await readJson<IndexCacheMeta>(join(cacheDir, 'meta.json'));
    const cachedIndex = await readFile(join(cacheDir, 'index.yaml')).catch(() => undefined);
    const headers: Record<string, string> = { accept: 'application/x-yaml, text/yaml, */*' };
    if (cachedMeta !== undefined && cachedIndex !== undefined) {
      if (cachedMeta.etag !== undefined) {
        headers['if-none-match'] = cachedMeta.etag;
      }
      if (cachedMeta.lastModified !== undefined) {
        headers['if-modified-since'] = cachedMeta.lastModified;
      }
    }
    const indexUrl = new URL('index.yaml', base);
    const response = await this.get(
      request,
      indexUrl,
      headers,
      this.options.helm.maxIndexBytes,
      'indexSize',
    );
    if (response.status === 304 && cachedIndex !== undefined) {
      return {
        index: parseHelmIndex(cachedIndex.toString('utf8')),
        digest: `sha256:${sha256(cachedIndex)}`,
        sizeBytes: cachedIndex.length,
        cacheDir,
        notModified: true,
      };
    }
    const index = parseHelmIndex(response.body.toString('utf8'));
    await mkdir(cacheDir, { recursive: true, mode: 0o700 });
    await atomicWrite(join(cacheDir, 'index.yaml'), response.body);
    const meta: IndexCacheMeta = { url: base.toString() };
    const etag = response.headers.get('etag');
    const lastModified = response.headers.get('last-modified');
    if (etag !== null) {
      meta.etag = etag;
    }
    if (lastModified !== null) {
      meta.lastModified = lastModified;
    }
    await atomicWrite(join(cacheDir, 'meta.json'), Buffer.from(JSON.stringify(meta)));
    return {
      index,
      digest: `sha256:${sha256(response.body)}`,
      sizeBytes: response.body.length,
      cacheDir,
      notModified: false,
    };
  }

  /** This replica's cached index of a repository, without any request; undefined when absent. */
  async cachedIndex(
    request: HelmRepositoryRequest,
  ): Promise<Omit<HelmIndexResult, 'notModified'> | undefined> {
    const cacheDir = this.indexCacheDir(this.repositoryBase(request));
    const path = join(cacheDir, 'index.yaml');
    const info = await stat(path).catch(() => undefined);
    if (info === undefined) {
      return undefined;
    }
    // index.yaml is only ever replaced by a rename, so a new version has a new inode.
    const version = `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
    let parsed = this.parsedIndexes.get(cacheDir);
    if (parsed?.version !== version) {
      const cached = await readFile(path).catch(() => undefined);
      if (cached === undefined) {
        return undefined;
      }
      parsed = {
        version,
        index: parseHelmIndex(cached.toString('utf8')),
        digest: `sha256:${sha256(cached)}`,
        sizeBytes: cached.length,
      };
    }
    this.parsedIndexes.delete(cacheDir);
    if (this.parsedIndexes.size >= MAX_PARSED_INDEXES) {
      this.parsedIndexes.delete(this.parsedIndexes.keys().next().value as string);
    }
    this.parsedIndexes.set(cacheDir, parsed);
    return { index: parsed.index, digest: parsed.digest, sizeBytes: parsed.sizeBytes, cacheDir };
  }

  async resolveChart(
    request: HelmRepositoryRequest,
    name: string,
    range: string,
  ): Promise<HelmChartVersion> {
    const { index } = await this.fetchIndex(request);
    return resolveChartVersion(index, name, range);
  }

  /**
   * Resolves a chart version and returns its verified archive. A version whose archive
   * (same digest) is already stored is not downloaded again.
   */
  async fetchChart(
    request: HelmRepositoryRequest,
    name: string,
    range: string,
  ): Promise<HelmChartResult> {
    return this.downloadChart(request, await this.resolveChart(request, name, range));
  }

  /**
   * The verified archive of a resolved chart version, as an artifact. Downloaded at most
   * once per digest: a stored archive is reused, concurrent callers share one download.
   */
  async downloadChart(
    request: HelmRepositoryRequest,
    chart: HelmChartVersion,
  ): Promise<HelmChartResult> {
    const base = this.repositoryBase(request);
    const digest = chart.digest?.toLowerCase().replace(/^sha256:/, '');
    if (digest === undefined || !/^[0-9a-f]{64}$/.test(digest)) {
      throw new SourceFetchError(
        SourceErrorCode.DigestMismatch,
        `chart ${chart.name} ${chart.version} has no sha256 digest in the index; refusing an unverifiable archive`,
      );
    }
    const revision = chartRevision(chart.version, digest);
    const sourceKey = chartSourceKey(base, chart);
    const key = `${sourceKey}\n${revision}`;
    const running = this.downloads.get(key);
    if (running !== undefined) {
      return running;
    }
    const download = this.storeChart(request, base, chart, digest, sourceKey, revision).finally(
      () => this.downloads.delete(key),
    );
    this.downloads.set(key, download);
    return download;
  }

  /**
   * The chart archive if it is in the cache already, without any request: what every
   * render of an unchanged release needs, so it needs no credentials either.
   */
  async cachedChart(
    request: HelmRepositoryRequest,
    chart: HelmChartVersion,
  ): Promise<HelmChartResult | undefined> {
    const digest = chart.digest?.toLowerCase().replace(/^sha256:/, '');
    if (digest === undefined || !/^[0-9a-f]{64}$/.test(digest)) {
      return undefined;
    }
    const base = this.repositoryBase(request);
    return this.lookupChart(
      chart,
      chartRevision(chart.version, digest),
      chartSourceKey(base, chart),
    );
  }

  private async lookupChart(
    chart: HelmChartVersion,
    revision: string,
    sourceKey: string,
  ): Promise<HelmChartResult | undefined> {
    const cached = await this.store.lookup(sourceKey, revision);
    return cached === undefined
      ? undefined
      : {
          chart,
          revision,
          artifact: cached,
          archivePath: join(cached.path, chartArchiveName(chart)),
          downloaded: false,
        };
  }

  private async storeChart(
    request: HelmRepositoryRequest,
    base: URL,
    chart: HelmChartVersion,
    digest: string,
    sourceKey: string,
    revision: string,
  ): Promise<HelmChartResult> {
    const fileName = chartArchiveName(chart);
    const cached = await this.lookupChart(chart, revision, sourceKey);
    if (cached !== undefined) {
      return cached;
    }
    const chartUrl = this.checkUrl(new URL(chart.urls[0] ?? '', base).toString(), base.toString());
    const response = await this.get(
      request,
      chartUrl,
      { accept: 'application/gzip, application/octet-stream, */*' },
      this.options.helm.maxChartBytes,
      'chartSize',
    );
    const actual = sha256(response.body);
    if (actual !== digest) {
      throw new SourceFetchError(
        SourceErrorCode.DigestMismatch,
        `chart ${chart.name} ${chart.version}: archive sha256 ${actual} does not match the index digest ${digest}`,
      );
    }
    const staging = await this.store.createScratchDir('chart');
    try {
      await writeFile(join(staging, fileName), response.body, { mode: 0o644 });
      const artifact = await this.store.commit(sourceKey, revision, staging);
      return {
        chart,
        revision,
        artifact,
        archivePath: join(artifact.path, fileName),
        downloaded: true,
      };
    } finally {
      await removeTree(staging);
    }
  }

  /** GET with manual redirects, credentials only for the repository's origin, bounded body. */
  private async get(
    request: HelmRepositoryRequest,
    start: URL,
    headers: Record<string, string>,
    maxBytes: number,
    limit: SourceLimit,
  ): Promise<DownloadResult> {
    const origin = this.repositoryBase(request).origin;
    const scrubber = new SecretScrubber([
      request.credentials?.password,
      request.credentials === undefined
        ? undefined
        : `${request.credentials.username}:${request.credentials.password}`,
    ]);
    const trust = this.trustOf(request);
    const timeoutMs = (request.timeoutSeconds ?? this.options.helm.timeoutSeconds) * 1000;
    const signal = AbortSignal.timeout(timeoutMs);
    let url = start;
    for (let hop = 0; hop <= this.options.helm.maxRedirects; hop += 1) {
      await this.checkResolvedAddresses(url);
      const hopHeaders: Record<string, string> = { ...headers };
      if (request.credentials !== undefined && url.origin === origin) {
        hopHeaders.authorization = `Basic ${Buffer.from(`${request.credentials.username}:${request.credentials.password}`).toString('base64')}`;
      }
      let response: Response;
      try {
        // Redirect targets (a CDN) get the same trust: every HTTPS hop of the source.
        response = await this.http.fetch(
          url.toString(),
          { method: 'GET', headers: hopHeaders, redirect: 'manual', signal },
          trust,
        );
      } catch (error) {
        throw this.networkError(error, url, scrubber, timeoutMs, trust !== undefined);
      }
      if (response.status >= 300 && response.status < 400 && response.status !== 304) {
        await response.body?.cancel();
        const location = response.headers.get('location');
        if (location === null) {
          throw new SourceFetchError(
            SourceErrorCode.ServerError,
            `${displayUrl(url.toString())}: redirect without a location`,
          );
        }
        const next = this.checkUrl(new URL(location, url).toString(), location);
        if (url.protocol === 'https:' && next.protocol !== 'https:') {
          throw new SourceFetchError(
            SourceErrorCode.InvalidUrl,
            `${displayUrl(url.toString())}: refusing a redirect from https to http`,
          );
        }
        url = next;
        continue;
      }
      if (response.status === 304) {
        await response.body?.cancel();
        return { status: 304, body: Buffer.alloc(0), headers: response.headers };
      }
      if (response.status !== 200) {
        await response.body?.cancel();
        throw this.statusError(response, url);
      }
      const body = await readBounded(response, maxBytes).catch((error: unknown) => {
        throw error instanceof SourceFetchError
          ? error
          : this.networkError(error, url, scrubber, timeoutMs, trust !== undefined);
      });
      if (body === undefined) {
        throw new SourceFetchError(
          SourceErrorCode.LimitExceeded,
          `${displayUrl(url.toString())}: larger than ${maxBytes} bytes`,
          { limit },
        );
      }
      return { status: 200, body, headers: response.headers };
    }
    throw new SourceFetchError(
      SourceErrorCode.ServerError,
      `${displayUrl(start.toString())}: too many redirects`,
    );
  }

  /** The source's CA bundle, parsed; a bundle that does not parse fails the fetch. */
  private trustOf(request: HelmRepositoryRequest): HttpTrust | undefined {
    if (request.caCertificate === undefined || request.caCertificate.trim() === '') {
      return undefined;
    }
    const caCertificates = parseCaBundle(request.caCertificate);
    if (caCertificates === undefined) {
      throw new SourceFetchError(
        SourceErrorCode.InvalidCredentials,
        'caCertificate is not a bundle of PEM certificates',
      );
    }
    return { caCertificates };
  }

  private statusError(response: Response, url: URL): SourceFetchError {
    const where = displayUrl(url.toString());
    const retryAfterSeconds = parseRetryAfter(
      response.headers.get('retry-after'),
      this.clock.now(),
    );
    const withDelay = retryAfterSeconds === undefined ? {} : { retryAfterSeconds };
    const after = retryAfterSeconds === undefined ? '' : ` (retry after ${retryAfterSeconds}s)`;
    if (response.status === 401 || response.status === 403) {
      return new SourceFetchError(
        SourceErrorCode.AuthenticationFailed,
        `${where}: authentication failed (HTTP ${response.status})`,
      );
    }
    if (response.status === 404) {
      return new SourceFetchError(SourceErrorCode.ChartNotFound, `${where}: not found (HTTP 404)`);
    }
    if (response.status === 429) {
      return new SourceFetchError(
        SourceErrorCode.RateLimited,
        `${where}: rate limited (HTTP 429)${after}`,
        withDelay,
      );
    }
    if (response.status >= 500) {
      return new SourceFetchError(
        SourceErrorCode.ServerError,
        `${where}: server error (HTTP ${response.status})${after}`,
        withDelay,
      );
    }
    return new SourceFetchError(
      SourceErrorCode.FetchFailed,
      `${where}: unexpected HTTP ${response.status}`,
    );
  }

  private networkError(
    error: unknown,
    url: URL,
    scrubber: SecretScrubber,
    timeoutMs: number,
    withCa: boolean,
  ): SourceFetchError {
    const name = (error as Error | undefined)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return new SourceFetchError(
        SourceErrorCode.Timeout,
        `${displayUrl(url.toString())}: timed out after ${timeoutMs / 1000}s`,
      );
    }
    const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
    const x509 = cause?.code === undefined ? undefined : TLS_VERIFICATION.get(cause.code);
    if (x509 !== undefined) {
      return new SourceFetchError(
        SourceErrorCode.CertificateVerificationFailed,
        certificateVerificationMessage(
          displayUrl(url.toString()),
          x509,
          withCa ? 'added' : 'none',
          cause?.code,
        ),
      );
    }
    const detail = scrubber.scrub(
      cause?.code ?? cause?.message ?? (error as Error | undefined)?.message ?? 'network error',
    );
    return new SourceFetchError(
      SourceErrorCode.Unreachable,
      `${displayUrl(url.toString())}: cannot connect (${detail})`,
    );
  }

  private async checkResolvedAddresses(url: URL): Promise<void> {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0) {
      return;
    }
    let addresses: string[];
    try {
      addresses = await this.resolver.resolve(host);
    } catch {
      return; // fetch reports the unresolvable host as Unreachable.
    }
    if (addresses.some((address) => isForbiddenAddress(address))) {
      throw new SourceFetchError(
        SourceErrorCode.InvalidUrl,
        `${displayUrl(url.toString())}: the host resolves to a link-local or metadata address`,
      );
    }
  }
}

/**
 * A URL as messages show it: without userinfo, and without the query and fragment,
 * where chart URLs and redirect targets (pre-signed CDN links) carry their tokens.
 */
function displayUrl(raw: string): string {
  try {
    const url = new URL(raw);
    url.username = '';
    url.password = '';
    if (url.search !== '') {
      url.search = '?***';
    }
    url.hash = '';
    return url.toString();
  } catch {
    return raw
      .replace(/\/\/[^/@]*@/, '//***@')
      .replace(/[?#].*$/s, '?***')
      .slice(0, 200);
  }
}

/** `<version>@sha256:<hex>`: the revision of a chart version, given its archive digest. */
export function chartRevision(version: string, digestHex: string): string {
  return `${version}@sha256:${digestHex}`;
}

/** File name of a chart archive inside its artifact: `<name>-<version>.tgz`, made safe. */
export function chartArchiveName(chart: Pick<HelmChartVersion, 'name' | 'version'>): string {
  return `${safeFileName(chart.name)}-${safeFileName(chart.version)}.tgz`;
}

function safeFileName(value: string): string {
  return value.replace(/[^A-Za-z0-9._+-]/g, '_');
}

/** Reads a response body up to maxBytes; undefined when it is larger. */
async function readBounded(response: Response, maxBytes: number): Promise<Buffer | undefined> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > maxBytes) {
    await response.body?.cancel();
    return undefined;
  }
  if (response.body === null) {
    return Buffer.alloc(0);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  // Leaving the loop early cancels the stream.
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      return undefined;
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

async function atomicWrite(path: string, data: Buffer): Promise<void> {
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temp, data, { mode: 0o600 });
  await rename(temp, path);
}

/** The artifact store's key of a chart of a repository (one per repository URL and chart name). */
function chartSourceKey(base: URL, chart: HelmChartVersion): string {
  return `helm:${sha256(`${base.toString()}\n${chart.name}`)}`;
}
