import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { isWithin } from './artifact-fs';
import { KUSTOMIZATION_FILES } from './kustomize-check';

export const REDACTED = '[redacted]';

// Shorter values would redact ordinary words and digits all over a message.
const MIN_LENGTH = 4;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const MANIFEST_EXT = /\.(ya?ml|json)$/i;
const KUSTOMIZATION_NAMES: ReadonlySet<string> = new Set(KUSTOMIZATION_FILES);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The set of sensitive strings of one render or apply, and `redact` to scrub
 * them from a tool's or a cluster's error text. Each value is matched as
 * written and in the forms tools print it: JSON/Go-escaped, YAML single-quoted,
 * base64, and line by line when it spans lines.
 */
export class SecretRedactor {
  private readonly needles = new Set<string>();

  /** Number of distinct strings that would be redacted. */
  get size(): number {
    return this.needles.size;
  }

  /** A sensitive plain-text value. */
  addValue(value: string): void {
    if (value.length < MIN_LENGTH) {
      return;
    }
    this.addNeedle(value);
    this.addNeedle(JSON.stringify(value).slice(1, -1));
    this.addNeedle(value.replace(/'/g, "''"));
    this.addNeedle(Buffer.from(value, 'utf8').toString('base64'));
    if (/[\r\n]/.test(value)) {
      for (const line of value.split(/\r?\n|\r/)) {
        this.addNeedle(line.trim());
      }
    }
  }

  /** A base64 value (a Secret's `data`): the encoded string itself and, when it is text, the decoded value. */
  addEncoded(value: string): void {
    this.addNeedle(value);
    const compact = value.replace(/\s+/g, '');
    this.addNeedle(compact);
    if (compact.length % 4 !== 0 || !BASE64.test(compact)) {
      return;
    }
    const bytes = Buffer.from(compact, 'base64');
    const text = bytes.toString('utf8');
    // Binary data cannot be quoted as text in a message; only text round-trips.
    if (Buffer.from(text, 'utf8').equals(bytes)) {
      this.addValue(text);
    }
  }

  /** `data` and `stringData` of a `v1` Secret, also inside `List` items; anything else is ignored. */
  addSecretObject(object: unknown): void {
    if (!isRecord(object)) {
      return;
    }
    if (Array.isArray(object.items)) {
      for (const item of object.items) {
        this.addSecretObject(item);
      }
    }
    const apiVersion = object.apiVersion;
    if (object.kind !== 'Secret' || (apiVersion !== undefined && apiVersion !== 'v1')) {
      return;
    }
    if (isRecord(object.data)) {
      for (const value of Object.values(object.data)) {
        if (typeof value === 'string') {
          this.addEncoded(value);
        }
      }
    }
    if (isRecord(object.stringData)) {
      for (const value of Object.values(object.stringData)) {
        if (typeof value === 'string') {
          this.addValue(value);
        } else if (typeof value === 'number') {
          this.addValue(String(value));
        }
      }
    }
  }

  /** Every string leaf of a values tree (and numbers, when asked), at any depth. */
  addLeaves(tree: unknown, options: { numbers?: boolean } = {}): void {
    const walk = (node: unknown, depth: number): void => {
      if (depth > 100) {
        return;
      }
      if (typeof node === 'string') {
        this.addValue(node);
      } else if (typeof node === 'number' && options.numbers === true && Number.isFinite(node)) {
        this.addNeedle(String(node));
      } else if (Array.isArray(node)) {
        for (const item of node) {
          walk(item, depth + 1);
        }
      } else if (isRecord(node)) {
        for (const item of Object.values(node)) {
          walk(item, depth + 1);
        }
      }
    };
    walk(tree, 0);
  }

  /**
   * Lines of a file that could not be parsed: each line that holds a value is
   * redacted where a tool quotes it; with `values`, the value after `key:` too.
   */
  addUnparsedText(text: string, options: { values: boolean }): void {
    for (const raw of text.split(/\r?\n|\r/)) {
      const line = raw.trim();
      // Bare keys, comments and the type lines of a manifest are no values; redacting
      // them would only blank out the useful part of a message.
      if (line === '' || line.startsWith('#') || line === '---' || line.endsWith(':')) {
        continue;
      }
      if (/^(?:-\s+)?(?:apiVersion|kind):\s/.test(line)) {
        continue;
      }
      this.addNeedle(line);
      const value = /^(?:-\s+)?[^\s:#][^:#]*:\s+(.+)$/.exec(line)?.[1]?.trim();
      if (options.values && value !== undefined) {
        const unquoted = value.replace(/^(["'])(.*)\1$/, '$2');
        this.addValue(unquoted);
        if (BASE64.test(unquoted)) {
          this.addEncoded(unquoted);
        }
      }
    }
  }

  /**
   * Replaces every occurrence of a sensitive string with `[redacted]`. Overlapping
   * matches are merged, so no fragment of either survives. With `truncated`, the
   * text was cut: a tail that starts a sensitive string is redacted as well.
   */
  redact(text: string, options: { truncated?: boolean } = {}): string {
    if (this.needles.size === 0 || text === '') {
      return text;
    }
    const spans: Array<[number, number]> = [];
    for (const needle of this.needles) {
      for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
        spans.push([at, at + needle.length]);
      }
      if (options.truncated === true) {
        const head = needle.slice(0, MIN_LENGTH);
        const from = Math.max(0, text.length - needle.length + 1);
        for (let at = text.indexOf(head, from); at >= 0; at = text.indexOf(head, at + 1)) {
          if (needle.startsWith(text.slice(at))) {
            spans.push([at, text.length]);
            break;
          }
        }
      }
    }
    if (spans.length === 0) {
      return text;
    }
    spans.sort((a, b) => a[0] - b[0]);
    let out = '';
    let cursor = 0;
    let [start, end] = spans[0];
    for (const [s, e] of spans.slice(1)) {
      if (s <= end) {
        end = Math.max(end, e);
        continue;
      }
      out += text.slice(cursor, start) + REDACTED;
      cursor = end;
      [start, end] = [s, e];
    }
    return out + text.slice(cursor, start) + REDACTED + text.slice(end);
  }

  private addNeedle(value: string): void {
    if (value.length >= MIN_LENGTH) {
      this.needles.add(value);
    }
  }
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
