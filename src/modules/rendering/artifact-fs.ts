import {
  copyFile,
  lstat,
  mkdir,
  readdir,
  readFile,
  realpath,
  stat,
  symlink,
} from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { RenderingError, RenderingErrorCode } from './rendering.errors';

/** True when `child` is `parent` or below it (both absolute, normalized). */
export function isWithin(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Validates a user-supplied artifact-relative path: no absolute paths, no `..`
 * segments, no NUL. Returns it normalized with `/` separators ('' for the root).
 * `within` names what the path is relative to, for the message.
 */
export function checkRelativePath(path: string, what: string, within = 'the artifact'): string {
  if (path.includes('\0') || isAbsolute(path) || /^[A-Za-z]:[\\/]/.test(path)) {
    throw new RenderingError(
      RenderingErrorCode.PathEscapesArtifact,
      `${what} "${printable(path)}" must be a relative path inside ${within}`,
    );
  }
  const segments = path.split(/[\\/]+/).filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) {
    throw new RenderingError(
      RenderingErrorCode.PathEscapesArtifact,
      `${what} "${printable(path)}" must not contain "..": it must stay inside ${within}`,
    );
  }
  return segments.join('/');
}

function printable(path: string): string {
  return path.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}

/**
 * Resolves an artifact-relative path to its real absolute path, refusing it when
 * it (or any symlink on the way) leads outside the artifact. Never reads the file.
 */
export async function resolveInArtifact(
  realRoot: string,
  path: string,
  what: string,
): Promise<string> {
  const rel = checkRelativePath(path, what);
  let real: string;
  try {
    real = await realpath(join(realRoot, rel));
  } catch {
    throw new RenderingError(
      RenderingErrorCode.InvalidInput,
      `${what} "${rel}" does not exist in the artifact`,
    );
  }
  if (!isWithin(realRoot, real)) {
    throw new RenderingError(
      RenderingErrorCode.PathEscapesArtifact,
      `${what} "${rel}" resolves outside the artifact`,
    );
  }
  return real;
}

/** Real path of the artifact root; the root must be a directory. */
export async function realArtifactRoot(artifactRoot: string): Promise<string> {
  try {
    const real = await realpath(artifactRoot);
    if (!(await stat(real)).isDirectory()) {
      throw new Error('not a directory');
    }
    return real;
  } catch {
    throw new RenderingError(
      RenderingErrorCode.InvalidInput,
      'artifact root is not a readable directory',
    );
  }
}

/** Reads a file with a size cap, without reading past the cap. */
export async function readCapped(path: string, maxBytes: number, label: string): Promise<string> {
  const info = await stat(path);
  if (info.size > maxBytes) {
    throw new RenderingError(
      RenderingErrorCode.LimitExceeded,
      `${label} is larger than ${maxBytes} bytes`,
    );
  }
  return readFile(path, 'utf8');
}

export interface ManifestFile {
  /** Real absolute path (inside the artifact). */
  readonly realPath: string;
  /** Artifact-relative path with `/`, for messages. */
  readonly relPath: string;
  readonly format: 'yaml' | 'json';
}

export interface WalkLimits {
  readonly maxFiles: number;
  readonly maxFileBytes: number;
}

const MANIFEST_EXT = /\.(ya?ml|json)$/i;

/**
 * Lists manifest files below `dir` in deterministic (code point) order.
 * Hidden entries are skipped; symlinked files inside the artifact are read,
 * symlinked directories are not followed (no cycles), and any symlink leading
 * outside the artifact fails the render.
 */
export async function listManifestFiles(
  realRoot: string,
  dir: string,
  limits: WalkLimits,
): Promise<ManifestFile[]> {
  const out: ManifestFile[] = [];
  const walk = async (current: string): Promise<void> => {
    const entries = (await readdir(current, { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const entry of entries) {
      if (entry.name.startsWith('.')) {
        continue;
      }
      const full = join(current, entry.name);
      const relPath = relative(realRoot, full).split(sep).join('/');
      if (entry.isDirectory()) {
        await walk(full);
        continue;
      }
      if (!MANIFEST_EXT.test(entry.name)) {
        continue;
      }
      let real = full;
      if (entry.isSymbolicLink()) {
        try {
          real = await realpath(full);
        } catch {
          throw new RenderingError(
            RenderingErrorCode.RenderFailed,
            `${relPath} is a dangling symlink`,
          );
        }
        if (!isWithin(realRoot, real)) {
          throw new RenderingError(
            RenderingErrorCode.PathEscapesArtifact,
            `${relPath} is a symlink that resolves outside the artifact`,
          );
        }
        if (!(await stat(real)).isFile()) {
          continue;
        }
      } else if (!entry.isFile()) {
        continue;
      }
      const size = (await stat(real)).size;
      if (size > limits.maxFileBytes) {
        throw new RenderingError(
          RenderingErrorCode.LimitExceeded,
          `${relPath} is larger than ${limits.maxFileBytes} bytes`,
        );
      }
      out.push({ realPath: real, relPath, format: /\.json$/i.test(entry.name) ? 'json' : 'yaml' });
      if (out.length > limits.maxFiles) {
        throw new RenderingError(
          RenderingErrorCode.LimitExceeded,
          `more than ${limits.maxFiles} manifest files`,
        );
      }
    }
  };
  await walk(dir);
  return out;
}

export interface CopyLimits {
  readonly maxFiles: number;
  readonly maxArtifactBytes: number;
}

export interface CopyResult {
  readonly files: number;
  readonly bytes: number;
  /** Artifact-relative paths of symlinks that lead outside the artifact (not copied). */
  readonly escapingSymlinks: readonly string[];
}

/**
 * Copies the artifact into a render's temp dir so tools can neither write into
 * the artifact nor follow a symlink out of it. `.git` is skipped; symlinks
 * resolving inside the artifact are recreated as relative links into the copy;
 * symlinks leading outside (or dangling) are dropped and reported; special
 * files are dropped.
 */
export async function copyArtifact(
  realRoot: string,
  dest: string,
  limits: CopyLimits,
): Promise<CopyResult> {
  let files = 0;
  let bytes = 0;
  const escaping: string[] = [];
  const count = (size: number): void => {
    files += 1;
    bytes += size;
    if (files > limits.maxFiles) {
      throw new RenderingError(
        RenderingErrorCode.LimitExceeded,
        `artifact has more than ${limits.maxFiles} files`,
      );
    }
    if (bytes > limits.maxArtifactBytes) {
      throw new RenderingError(
        RenderingErrorCode.LimitExceeded,
        `artifact is larger than ${limits.maxArtifactBytes} bytes`,
      );
    }
  };
  const walk = async (src: string, dst: string): Promise<void> => {
    await mkdir(dst, { recursive: true });
    for (const entry of await readdir(src, { withFileTypes: true })) {
      const from = join(src, entry.name);
      const to = join(dst, entry.name);
      if (entry.isDirectory()) {
        if (entry.name === '.git' && src === realRoot) {
          continue;
        }
        count(0);
        await walk(from, to);
      } else if (entry.isFile()) {
        const info = await lstat(from);
        count(info.size);
        await copyFile(from, to);
      } else if (entry.isSymbolicLink()) {
        const relPath = relative(realRoot, from).split(sep).join('/');
        let real: string;
        try {
          real = await realpath(from);
        } catch {
          continue; // dangling: nothing to copy
        }
        if (!isWithin(realRoot, real)) {
          escaping.push(relPath);
          continue;
        }
        count(0);
        const targetInCopy = join(dest, relative(realRoot, real));
        await symlink(relative(dirname(to), targetInCopy) || '.', to);
      }
    }
  };
  await walk(realRoot, dest);
  return { files, bytes, escapingSymlinks: escaping };
}

/** Fails when a symlink leading outside the artifact sits at or below `relDir`. */
export function refuseEscapingSymlinksUnder(copy: CopyResult, relDir: string): void {
  const prefix = relDir === '' ? '' : `${relDir}/`;
  const hit = copy.escapingSymlinks.find(
    (p) => prefix === '' || p === relDir || p.startsWith(prefix),
  );
  if (hit !== undefined) {
    throw new RenderingError(
      RenderingErrorCode.PathEscapesArtifact,
      `${hit} is a symlink that resolves outside the artifact`,
    );
  }
}
