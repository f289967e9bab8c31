export const SOURCES_OPTIONS = Symbol('SOURCES_OPTIONS');

export type SymlinkPolicy = 'remove' | 'fail';

export interface SourcesLimits {
  /** Sum of the sizes of all files of one commit's tree. */
  maxRepositorySizeBytes: number;
  maxFileCount: number;
  maxFileSizeBytes: number;
  /** Bytes a single git transfer may write to disk before it is killed. */
  maxTransferBytes: number;
}

export interface SourcesOptions {
  /** Root of the artifact cache and of the private scratch space of fetches. */
  cacheDir: string;
  /** Upper bound of the artifact cache; GC deletes least recently used artifacts above it. */
  maxCacheBytes: number;
  /** Plain `http://` repositories are refused unless this is set. */
  allowHttp: boolean;
  limits: SourcesLimits;
  /** What to do with a symlink that points outside the checkout. */
  symlinkPolicy: SymlinkPolicy;
  /** Default for a whole fetch (ls-remote, fetch and checkout together). */
  fetchTimeoutSeconds: number;
  git: {
    /** Absolute path of the git binary or a name looked up in `searchPath`. */
    binary: string;
    /** Path of the ssh client used by git. */
    sshBinary: string;
    /** PATH given to git; the service's own environment is never passed on. */
    searchPath: string;
  };
  helm: {
    maxIndexBytes: number;
    maxChartBytes: number;
    timeoutSeconds: number;
    maxRedirects: number;
  };
}

export function defaultSourcesOptions(
  overrides: Partial<Omit<SourcesOptions, 'limits' | 'git' | 'helm'>> & {
    cacheDir: string;
    limits?: Partial<SourcesLimits>;
    git?: Partial<SourcesOptions['git']>;
    helm?: Partial<SourcesOptions['helm']>;
  },
): SourcesOptions {
  const { limits, git, helm, ...rest } = overrides;
  return {
    maxCacheBytes: 2 * 1024 ** 3,
    allowHttp: false,
    symlinkPolicy: 'fail',
    fetchTimeoutSeconds: 120,
    ...rest,
    limits: {
      maxRepositorySizeBytes: 256 * 1024 ** 2,
      maxFileCount: 20_000,
      maxFileSizeBytes: 16 * 1024 ** 2,
      maxTransferBytes: 512 * 1024 ** 2,
      ...limits,
    },
    git: {
      binary: 'git',
      sshBinary: 'ssh',
      searchPath: '/usr/local/bin:/usr/bin:/bin',
      ...git,
    },
    helm: {
      maxIndexBytes: 32 * 1024 ** 2,
      maxChartBytes: 64 * 1024 ** 2,
      timeoutSeconds: 60,
      maxRedirects: 5,
      ...helm,
    },
  };
}
