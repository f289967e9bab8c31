import { createHash } from 'node:crypto';
import { copyFile, cp, lstat, mkdir, readdir, readFile, realpath } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { parse } from 'yaml';
import { isWithin } from './artifact-fs';
import { readChartFiles, type ChartArchiveLimits } from './chart-archive';
import { RenderingError, RenderingErrorCode } from './rendering.errors';
import type { ChartDependencyFetcher, ChartDependencyRequest } from './rendering.types';

/** One entry of Chart.yaml `dependencies` or Chart.lock `dependencies`, as Helm models it. */
export interface ChartDependency {
  name: string;
  version?: string;
  repository: string;
  condition?: string;
  tags?: string[];
  enabled?: boolean;
  'import-values'?: unknown[];
  alias?: string;
}

/** Helm's words when Chart.lock does not match Chart.yaml (`helm dependency build`). */
export const LOCK_OUT_OF_SYNC =
  'the lock file (Chart.lock) is out of sync with the dependencies file (Chart.yaml). Please update the dependencies';

/**
 * Go's encoding/json of Helm's `chart.Dependency`: fields in struct order, empty
 * optional fields left out, and `<`, `>`, `&`, U+2028/9 escaped as Go does.
 */
function goJson(deps: readonly ChartDependency[]): string {
  const ordered = deps.map((d) => {
    const out: Record<string, unknown> = { name: d.name };
    if (d.version !== undefined && d.version !== '') {
      out.version = d.version;
    }
    out.repository = d.repository;
    if (d.condition !== undefined && d.condition !== '') {
      out.condition = d.condition;
    }
    if (d.tags !== undefined && d.tags.length > 0) {
      out.tags = d.tags;
    }
    if (d.enabled === true) {
      out.enabled = true;
    }
    if (d['import-values'] !== undefined && d['import-values'].length > 0) {
      out['import-values'] = d['import-values'];
    }
    if (d.alias !== undefined && d.alias !== '') {
      out.alias = d.alias;
    }
    return out;
  });
  return JSON.stringify(ordered).replace(
    /[<>&\u2028\u2029]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Helm's `resolver.HashReq`: sha256 over the JSON of `[Chart.yaml deps, Chart.lock deps]`. */
export function hashDependencies(
  req: readonly ChartDependency[],
  lock: readonly ChartDependency[],
): string {
  const text = `[${goJson(req)},${goJson(lock)}]`;
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

function asDependencies(value: unknown, file: string): ChartDependency[] {
  if (value === undefined || value === null) {
    return [];
  }
  if (!Array.isArray(value)) {
    throw new RenderingError(
      RenderingErrorCode.InvalidInput,
      `${file}: dependencies must be a list`,
    );
  }
  return value.map((raw: unknown, i) => {
    const d = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    if (typeof d.name !== 'string' || d.name === '') {
      throw new RenderingError(
        RenderingErrorCode.InvalidInput,
        `${file}: dependency ${i + 1} has no name`,
      );
    }
    const str = (key: string): string | undefined =>
      typeof d[key] === 'string' ? d[key] : typeof d[key] === 'number' ? String(d[key]) : undefined;
    const dep: ChartDependency = { name: d.name, repository: str('repository') ?? '' };
    const version = str('version');
    if (version !== undefined) {
      dep.version = version;
    }
    const condition = str('condition');
    if (condition !== undefined) {
      dep.condition = condition;
    }
    if (Array.isArray(d.tags)) {
      dep.tags = d.tags.map(String);
    }
    if (d.enabled === true) {
      dep.enabled = true;
    }
    if (Array.isArray(d['import-values'])) {
      dep['import-values'] = d['import-values'] as unknown[];
    }
    const alias = str('alias');
    if (alias !== undefined) {
      dep.alias = alias;
    }
    return dep;
  });
}

async function readYaml(path: string, file: string, maxBytes: number): Promise<unknown> {
  let text: string;
  try {
    const info = await lstat(path);
    if (!info.isFile()) {
      return undefined;
    }
    if (info.size > maxBytes) {
      throw new RenderingError(
        RenderingErrorCode.LimitExceeded,
        `${file} is larger than ${maxBytes} bytes`,
      );
    }
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof RenderingError) {
      throw error;
    }
    return undefined;
  }
  try {
    return parse(text, { maxAliasCount: 100 }) as unknown;
  } catch {
    throw new RenderingError(RenderingErrorCode.InvalidInput, `${file} is not valid YAML`);
  }
}

/** Chart names of what `charts/` already holds (directories and `.tgz`), as Helm's loader sees them. */
async function vendoredChartNames(
  chartDir: string,
  limits: ChartArchiveLimits,
): Promise<Set<string>> {
  const names = new Set<string>();
  const chartsDir = join(chartDir, 'charts');
  const entries = await readdir(chartsDir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const path = join(chartsDir, entry.name);
    let meta: unknown;
    if (entry.isDirectory()) {
      meta = await readYaml(
        join(path, 'Chart.yaml'),
        `charts/${entry.name}/Chart.yaml`,
        limits.maxFileBytes,
      );
    } else if (entry.isFile() && entry.name.endsWith('.tgz')) {
      try {
        const [data] = await readChartFiles(path, ['Chart.yaml'], limits);
        meta = parse(data?.toString('utf8') ?? '', { maxAliasCount: 100 }) as unknown;
      } catch {
        // Helm fails on a broken archive in charts/ itself, with its own message.
        continue;
      }
    }
    const name = (meta as { name?: unknown } | undefined)?.name;
    if (typeof name === 'string') {
      names.add(name);
    }
  }
  return names;
}

export interface DependencyPlacement {
  /** Dependencies fetched (or copied from `file://`) into `charts/`, as `name version`. */
  readonly placed: readonly string[];
}

/**
 * Completes `charts/` of a chart (in the render's own copy) as `helm dependency build`
 * would before `helm template`: every Chart.yaml (apiVersion v2) dependency not already
 * vendored in `charts/` (matched by chart name, as Helm's dependency check does) is
 * fetched — at the version Chart.lock pins when there is a lock, whose digest must match
 * Chart.yaml as Helm requires — and placed as `charts/<name>-<version>.tgz`.
 * `file://` dependencies are copied from inside the artifact.
 */
export async function placeChartDependencies(
  chartDir: string,
  copyRoot: string,
  fetch: ChartDependencyFetcher | undefined,
  limits: ChartArchiveLimits,
  signal?: AbortSignal,
): Promise<DependencyPlacement> {
  const chart = (await readYaml(
    join(chartDir, 'Chart.yaml'),
    'Chart.yaml',
    limits.maxFileBytes,
  )) as { apiVersion?: unknown; dependencies?: unknown } | undefined;
  // apiVersion v1 charts keep dependencies in requirements.yaml; only vendored ones are used.
  if (chart?.apiVersion !== 'v2') {
    return { placed: [] };
  }
  const req = asDependencies(chart.dependencies, 'Chart.yaml');
  if (req.length === 0) {
    return { placed: [] };
  }
  const lockFile = (await readYaml(
    join(chartDir, 'Chart.lock'),
    'Chart.lock',
    limits.maxFileBytes,
  )) as { digest?: unknown; dependencies?: unknown } | undefined;
  let pinned: ChartDependency[] | undefined;
  if (lockFile !== undefined) {
    const lock = asDependencies(lockFile.dependencies, 'Chart.lock');
    // Go marshals YAML maps of child/parent import-values in an order not reproduced here;
    // such charts keep their versions pinned but skip the digest comparison.
    const mapImports = req.some((d) => d['import-values']?.some((v) => typeof v !== 'string'));
    if (!mapImports && hashDependencies(req, lock) !== lockFile.digest) {
      throw new RenderingError(RenderingErrorCode.InvalidInput, `Chart.lock: ${LOCK_OUT_OF_SYNC}`);
    }
    pinned = lock;
  }
  const vendored = await vendoredChartNames(chartDir, limits);
  const placed: string[] = [];
  await mkdir(join(chartDir, 'charts'), { recursive: true });
  for (const [i, dep] of req.entries()) {
    if (vendored.has(dep.name)) {
      continue;
    }
    // Helm writes the lock in Chart.yaml's order; aliases may repeat a name.
    const locked =
      pinned?.[i]?.name === dep.name ? pinned[i] : pinned?.find((d) => d.name === dep.name);
    if (pinned !== undefined && locked === undefined) {
      throw new RenderingError(RenderingErrorCode.InvalidInput, `Chart.lock: ${LOCK_OUT_OF_SYNC}`);
    }
    const repository = locked?.repository ?? dep.repository;
    const version = locked?.version ?? dep.version ?? '*';
    if (repository.startsWith('file://')) {
      await copyFileDependency(chartDir, copyRoot, dep.name, repository);
      placed.push(`${dep.name} (${repository})`);
      continue;
    }
    if (fetch === undefined) {
      throw dependencyFailed(dep.name, repository, 'no chart dependency fetcher is configured');
    }
    const request: ChartDependencyRequest = { name: dep.name, repository, version, signal };
    let fetched: { archivePath: string; version: string };
    try {
      fetched = await fetch(request);
    } catch (error) {
      throw dependencyFailed(
        dep.name,
        repository,
        error instanceof Error ? error.message : String(error),
      );
    }
    await copyFile(
      fetched.archivePath,
      join(chartDir, 'charts', `${dep.name}-${fetched.version}.tgz`),
    );
    placed.push(`${dep.name} ${fetched.version}`);
  }
  return { placed };
}

/** `ChartDependencyFetchFailed`-worthy: names the dependency, its repository and the cause. */
function dependencyFailed(name: string, repository: string, cause: string): RenderingError {
  return new RenderingError(
    RenderingErrorCode.DependencyFetchFailed,
    `chart dependency "${name}" from ${displayRepository(repository)} could not be fetched: ${cause}`,
  );
}

/** A repository URL without user info or query, which may hold credentials. */
export function displayRepository(repository: string): string {
  return repository
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1***@')
    .replace(/\?.*$/s, (query) => (query === '' ? '' : '?***'))
    .slice(0, 300);
}

/** A `file://` dependency: a chart directory that must lie inside the artifact copy. */
async function copyFileDependency(
  chartDir: string,
  copyRoot: string,
  name: string,
  repository: string,
): Promise<void> {
  const rel = repository.slice('file://'.length);
  if (posix.isAbsolute(rel)) {
    throw new RenderingError(
      RenderingErrorCode.PathEscapesArtifact,
      `chart dependency "${name}": ${repository} must be a relative path inside the artifact`,
    );
  }
  let real: string;
  try {
    real = await realpath(join(chartDir, rel));
  } catch {
    throw new RenderingError(
      RenderingErrorCode.InvalidInput,
      `chart dependency "${name}": ${repository} does not exist in the artifact`,
    );
  }
  if (!isWithin(copyRoot, real)) {
    throw new RenderingError(
      RenderingErrorCode.PathEscapesArtifact,
      `chart dependency "${name}": ${repository} leads outside the artifact`,
    );
  }
  await cp(real, join(chartDir, 'charts', name), { recursive: true, verbatimSymlinks: true });
}
