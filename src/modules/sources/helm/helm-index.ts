import * as semver from 'semver';
import { parse } from 'yaml';
import { SourceErrorCode, SourceFetchError } from 'src/modules/sources/sources.errors';

export interface HelmChartVersion {
  name: string;
  version: string;
  urls: string[];
  /** Hex sha256 of the chart archive, as written by `helm repo index`. */
  digest?: string;
  appVersion?: string;
  created?: string;
}

export interface HelmIndex {
  apiVersion: string;
  entries: Record<string, HelmChartVersion[]>;
}

function invalidIndex(reason: string): SourceFetchError {
  return new SourceFetchError(
    SourceErrorCode.InvalidIndex,
    `invalid Helm repository index: ${reason}`,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses index.yaml defensively (alias bombs bounded, shapes checked, junk entries skipped). */
export function parseHelmIndex(text: string): HelmIndex {
  let document: unknown;
  try {
    document = parse(text, { maxAliasCount: 100, uniqueKeys: false });
  } catch (error) {
    throw invalidIndex((error as Error).message.split('\n')[0] ?? 'cannot parse YAML');
  }
  if (!isRecord(document) || !isRecord(document.entries)) {
    throw invalidIndex('no "entries" map');
  }
  const entries: Record<string, HelmChartVersion[]> = {};
  for (const [name, versions] of Object.entries(document.entries)) {
    if (!Array.isArray(versions)) {
      continue;
    }
    entries[name] = versions.filter(isRecord).flatMap((raw): HelmChartVersion[] => {
      const version = typeof raw.version === 'string' ? raw.version : undefined;
      const urls = Array.isArray(raw.urls)
        ? raw.urls.filter((u): u is string => typeof u === 'string')
        : [];
      if (version === undefined || urls.length === 0) {
        return [];
      }
      return [
        {
          name,
          version,
          urls,
          ...(typeof raw.digest === 'string' ? { digest: raw.digest } : {}),
          ...(typeof raw.appVersion === 'string' ? { appVersion: raw.appVersion } : {}),
          ...(raw.created instanceof Date || typeof raw.created === 'string'
            ? { created: String(raw.created) }
            : {}),
        },
      ];
    });
  }
  return {
    apiVersion: typeof document.apiVersion === 'string' ? document.apiVersion : 'v1',
    entries,
  };
}

/**
 * Picks the highest chart version satisfying a semver range (an exact version is a
 * range too). Versions that are not semver are ignored.
 */
export function resolveChartVersion(
  index: HelmIndex,
  name: string,
  range: string,
): HelmChartVersion {
  if (semver.validRange(range) === null) {
    throw new SourceFetchError(
      SourceErrorCode.InvalidReference,
      `"${range.slice(0, 100)}" is not a valid semver range`,
    );
  }
  const versions = index.entries[name] ?? [];
  const byVersion = new Map<string, HelmChartVersion>();
  for (const candidate of versions) {
    const version = semver.valid(candidate.version);
    if (version !== null && !byVersion.has(version)) {
      byVersion.set(version, candidate);
    }
  }
  const best = semver.maxSatisfying([...byVersion.keys()], range);
  const chart = best === null ? undefined : byVersion.get(best);
  if (chart === undefined) {
    throw new SourceFetchError(
      SourceErrorCode.ChartNotFound,
      versions.length === 0
        ? `chart "${name}" is not in the repository index`
        : `no version of chart "${name}" matches "${range}"`,
    );
  }
  return chart;
}
