import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Tunables of the rendering context. Built once from validated config; frozen. */
export interface RenderingOptions {
  /** kubectl with kustomize built in. */
  readonly kubectlPath: string;
  /** helm 4. */
  readonly helmPath: string;
  /** Allow kustomize remote bases (http(s), git). Off by default; when off, children get no network. */
  readonly allowRemoteBases: boolean;
  /** Max objects in one render. */
  readonly maxObjects: number;
  /** Max bytes of rendered text (also the cap on a child's stdout). */
  readonly maxRenderedBytes: number;
  /** Max YAML alias resolutions per document (billion laughs). */
  readonly maxAliasCount: number;
  /** Max size of one manifest/values/kustomization file read. */
  readonly maxFileBytes: number;
  /** Max manifest files in a plain directory, and max files copied for a tool run. */
  readonly maxFiles: number;
  /** Max total bytes copied from the artifact into a render's temp dir. */
  readonly maxArtifactBytes: number;
  /** Wall-clock limit of one child process; the whole process group is killed. */
  readonly processTimeoutMs: number;
  /** Soft memory limit handed to Go tools via GOMEMLIMIT. */
  readonly processMemoryLimitBytes: number;
  /** Max child processes running at once across all renders of this process. */
  readonly maxConcurrentProcesses: number;
  /** Max bytes of a child's stderr kept for error messages. */
  readonly maxStderrBytes: number;
  /** Where per-render temp dirs are created. */
  readonly tempRoot: string;
  /**
   * Flux's StrictPostBuildSubstitutions feature gate: a `${var}` without value and
   * without default fails the render instead of becoming empty. Off, as in Flux.
   */
  readonly strictPostBuildSubstitutions: boolean;
}

export const RENDERING_OPTIONS = Symbol('RENDERING_OPTIONS');

const MiB = 1024 * 1024;

/** Walks up from this file to the directory holding package.json (works from src/ and dist/src/). */
export function findRepoRoot(start: string = __dirname): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src'))) {
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) {
      return start;
    }
    dir = parent;
  }
}

/** Defaults: bundled binaries in `<repo>/.tools/bin`, conservative caps. */
export function defaultRenderingOptions(
  overrides: Partial<RenderingOptions> = {},
): RenderingOptions {
  const bin = join(findRepoRoot(), '.tools', 'bin');
  return Object.freeze({
    kubectlPath: join(bin, 'kubectl'),
    helmPath: join(bin, 'helm'),
    allowRemoteBases: false,
    maxObjects: 5_000,
    maxRenderedBytes: 32 * MiB,
    maxAliasCount: 100,
    maxFileBytes: 4 * MiB,
    maxFiles: 10_000,
    maxArtifactBytes: 256 * MiB,
    processTimeoutMs: 60_000,
    processMemoryLimitBytes: 512 * MiB,
    maxConcurrentProcesses: 4,
    maxStderrBytes: 16 * 1024,
    tempRoot: tmpdir(),
    strictPostBuildSubstitutions: false,
    ...overrides,
  });
}
