import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { SecretRedactor } from 'src/common/redaction/secret-redactor';
import { isWithin } from './artifact-fs';
import { KUSTOMIZATION_FILES } from './kustomize-check';

export { REDACTED, SecretRedactor } from 'src/common/redaction/secret-redactor';

const MANIFEST_EXT = /\.(ya?ml|json)$/i;
const KUSTOMIZATION_NAMES: ReadonlySet<string> = new Set(KUSTOMIZATION_FILES);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface ScanLimits {
  readonly maxFiles: number;
  readonly maxFileBytes: number;
  readonly maxAliasCount: number;
}

/** What a failed render may have read, to collect its sensitive values from. */
export interface RenderSecretSources {
  /** Real path of the artifact root: nothing outside it is read. Unknown when the render failed before it. */
  readonly artifactRoot?: string;
  /** Real path of the directory whose YAML/JSON files (and kustomizations) are scanned. */
  readonly scanDir?: string;
  /** Real paths of the release's Helm values files. */
  readonly valuesFiles?: readonly string[];
  /** Contents of Helm values files read out of a chart archive. */
  readonly valuesTexts?: readonly string[];
  /** The release's inline Helm values. */
  readonly values?: unknown;
}

/**
 * Builds the redactor for a failed render: Secrets in the manifest files below
 * `scanDir`, secretGenerator sources of kustomizations there, Helm values files
 * and inline values. Only run on the failure path; bounded by the render caps.
 * Never throws for unreadable or malformed files.
 */
export async function collectRenderSecrets(
  sources: RenderSecretSources,
  limits: ScanLimits,
): Promise<SecretRedactor> {
  const redactor = new SecretRedactor();
  if (sources.values !== undefined) {
    redactor.addLeaves(sources.values, { numbers: true });
  }
  const texts = [...(sources.valuesTexts ?? [])];
  for (const file of sources.valuesFiles ?? []) {
    const text = await readBounded(file, limits.maxFileBytes);
    if (text !== undefined) {
      texts.push(text);
    }
  }
  for (const text of texts) {
    addYamlFile(redactor, text, limits, (doc) => redactor.addLeaves(doc), { values: true });
  }
  const root = sources.artifactRoot;
  if (root === undefined || sources.scanDir === undefined) {
    return redactor;
  }
  let budget = limits.maxFiles;
  const walk = async (dir: string, depth: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (budget <= 0 || depth > 64) {
        return;
      }
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== '.git') {
          await walk(full, depth + 1);
        }
        continue;
      }
      const kustomization = KUSTOMIZATION_NAMES.has(entry.name);
      if (!kustomization && !MANIFEST_EXT.test(entry.name)) {
        continue;
      }
      const real = await insideFile(root, full, entry.isSymbolicLink());
      if (real === undefined) {
        continue;
      }
      budget -= 1;
      const text = await readBounded(real, limits.maxFileBytes);
      if (text === undefined) {
        continue;
      }
      if (kustomization) {
        await addKustomization(redactor, text, dirname(full), root, limits);
      } else if (text.includes('Secret')) {
        // A file without the word cannot hold a Secret; skipping it keeps the scan cheap.
        addYamlFile(redactor, text, limits, (doc) => redactor.addSecretObject(doc));
      }
    }
  };
  await walk(sources.scanDir, 0);
  return redactor;
}

/**
 * Parses leniently; text with any YAML error falls back to its raw lines, and to
 * the values on them too when it mentions a Secret (or `values` says so).
 */
function addYamlFile(
  redactor: SecretRedactor,
  text: string,
  limits: ScanLimits,
  add: (doc: unknown) => void,
  options: { values?: boolean } = {},
): void {
  let broken = false;
  try {
    const docs = parseAllDocuments(text, { prettyErrors: false, uniqueKeys: false });
    for (const doc of Array.isArray(docs) ? docs : []) {
      if (doc.errors.length > 0) {
        broken = true;
        continue;
      }
      try {
        add(doc.toJS({ maxAliasCount: limits.maxAliasCount }));
      } catch {
        broken = true;
      }
    }
  } catch {
    broken = true;
  }
  if (broken) {
    redactor.addUnparsedText(text, { values: options.values ?? text.includes('Secret') });
  }
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

/**
 * What a kustomization turns into Secret data or quotes in its errors:
 * `secretGenerator` literals, env files and files, and patches of Secrets
 * (inline patch text is quoted whole when kustomize cannot parse it).
 */
async function addKustomization(
  redactor: SecretRedactor,
  text: string,
  dir: string,
  artifactRoot: string,
  limits: ScanLimits,
): Promise<void> {
  const kustomizations: Record<string, unknown>[] = [];
  addYamlFile(redactor, text, limits, (doc) => {
    if (isRecord(doc)) {
      kustomizations.push(doc);
    }
  });
  const read = (path: string): Promise<string | undefined> =>
    readReferenced(dir, path, artifactRoot, limits.maxFileBytes);
  for (const k of kustomizations) {
    for (const generator of (Array.isArray(k.secretGenerator) ? k.secretGenerator : []).filter(
      isRecord,
    )) {
      for (const literal of strings(generator.literals)) {
        // A malformed literal (no `=`) is quoted whole by kustomize.
        redactor.addValue(literal);
        const eq = literal.indexOf('=');
        if (eq >= 0) {
          redactor.addValue(literal.slice(eq + 1).replace(/^(["'])(.*)\1$/s, '$2'));
        }
      }
      for (const env of [...strings(generator.envs), ...strings([generator.env])]) {
        for (const line of (await read(env))?.split(/\r?\n/) ?? []) {
          const eq = line.indexOf('=');
          if (eq >= 0 && !line.trimStart().startsWith('#')) {
            redactor.addValue(line.trim());
            redactor.addValue(line.slice(eq + 1).trim());
          }
        }
      }
      for (const source of strings(generator.files)) {
        const content = await read(source.slice(source.indexOf('=') + 1));
        if (content !== undefined) {
          redactor.addValue(content);
          redactor.addValue(content.trim());
        }
      }
    }
    const patches = [
      ...(Array.isArray(k.patches) ? (k.patches as unknown[]) : []),
      ...(Array.isArray(k.patchesJson6902) ? (k.patchesJson6902 as unknown[]) : []),
      ...strings(k.patchesStrategicMerge).map((patch) => ({ patch })),
    ].filter(isRecord);
    for (const entry of patches) {
      const target = isRecord(entry.target) ? entry.target : {};
      const patchText =
        typeof entry.patch === 'string'
          ? entry.patch
          : typeof entry.path === 'string'
            ? await read(entry.path)
            : undefined;
      if (patchText === undefined) {
        continue;
      }
      const ofSecret = target.kind === 'Secret';
      const addPatch = (doc: unknown): void => {
        if (!Array.isArray(doc)) {
          redactor.addSecretObject(doc);
          return;
        }
        // JSON patch ops aimed at Secrets carry their values in `value`.
        for (const op of doc) {
          if (ofSecret && isRecord(op)) {
            redactor.addLeaves(op.value, { numbers: true });
          }
        }
      };
      addYamlFile(redactor, patchText, limits, addPatch, {
        values: ofSecret || patchText.includes('Secret'),
      });
    }
  }
}

async function readReferenced(
  dir: string,
  path: string,
  artifactRoot: string,
  maxBytes: number,
): Promise<string | undefined> {
  if (path.includes('\0') || path.startsWith('/')) {
    return undefined;
  }
  const real = await insideFile(artifactRoot, join(dir, path), true);
  return real === undefined ? undefined : readBounded(real, maxBytes);
}

/** Real path of a regular file inside the artifact; `undefined` for anything else. */
async function insideFile(
  artifactRoot: string,
  path: string,
  resolve: boolean,
): Promise<string | undefined> {
  try {
    const real = resolve ? await realpath(path) : path;
    if (!isWithin(artifactRoot, real) || !(await stat(real)).isFile()) {
      return undefined;
    }
    return real;
  } catch {
    return undefined;
  }
}

async function readBounded(path: string, maxBytes: number): Promise<string | undefined> {
  try {
    // Larger files were refused or cut by the render caps; a Secret is at most 1 MiB anyway.
    if ((await stat(path)).size > maxBytes) {
      return undefined;
    }
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}
