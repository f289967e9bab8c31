import { parseAllDocuments, type Document } from 'yaml';
import { RenderingError, RenderingErrorCode } from './rendering.errors';
import type { KubeObject } from './rendering.types';
import { substituteVariables } from './variables';

/** Annotation that turns off `${var}` substitution for one object. */
export const SUBSTITUTE_ANNOTATION = 'gitfleet.dev/substitute';
/** Flux's own key, honoured as an annotation or a label, as Flux does. */
export const FLUX_SUBSTITUTE_KEY = 'kustomize.toolkit.fluxcd.io/substitute';

/** What substitution a collector runs; undefined: none, the text is taken literally. */
export interface CollectorSubstitution {
  readonly vars: ReadonlyMap<string, string>;
  readonly strict: boolean;
}

export interface ParseLimits {
  readonly maxObjects: number;
  readonly maxRenderedBytes: number;
  readonly maxAliasCount: number;
}

/** One YAML document's source text and where it came from. */
interface Chunk {
  readonly text: string;
  readonly source: string;
}

const DOC_START = /^---(?:[ \t]|\r?\n|$)/;
const DOC_END = /^\.\.\.(?:[ \t]|\r?\n|$)/;
const HELM_SOURCE = /^# Source: (.+)$/m;

/**
 * Splits YAML stream text into documents at `---` / `...` marker lines.
 * Marker lines cannot occur inside YAML content (they are forbidden at column 0),
 * so this split is exact without parsing; it lets substitution run per object
 * on text, before any YAML is parsed.
 */
export function splitYamlDocuments(text: string): string[] {
  const lines = text.split(/(?<=\n)/);
  const docs: string[] = [];
  let current: string[] = [];
  const flush = (): void => {
    // Directives (`%YAML`) written just before a `---` belong to the next document.
    const carried: string[] = [];
    while (current.length > 0 && (current[current.length - 1] ?? '').startsWith('%')) {
      carried.unshift(current.pop() ?? '');
    }
    const doc = current.join('');
    if (doc.replace(/^---[ \t]*(\r?\n|$)/, '').trim() !== '') {
      docs.push(doc);
    }
    current = carried;
  };
  for (const line of lines) {
    if (DOC_START.test(line)) {
      flush();
      current.push(line);
    } else if (DOC_END.test(line)) {
      flush();
    } else {
      current.push(line);
    }
  }
  flush();
  return docs;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Best-effort `Kind/name` of an unsubstituted document, for error messages only. */
// Regexes, not a parse: the text may not be valid YAML until substituted.
function describeRaw(text: string): string {
  const kind = /^kind:[ \t]*["']?([A-Za-z0-9]+)/m.exec(text)?.[1];
  const name =
    /^metadata:[ \t]*\{[^}]*?\bname:[ \t]*["']?([^"',}\s]+)/m.exec(text)?.[1] ??
    /^metadata:[ \t]*\r?\n(?:[ \t]+.*\r?\n)*?[ \t]+name:[ \t]*["']?([^"'\s#]+)/m.exec(text)?.[1];
  return kind === undefined ? 'document' : `${kind}/${name ?? '?'}`;
}

function substitutionDisabled(text: string): boolean {
  // Cheap textual check first, then a real parse to be sure it is the annotation.
  if (!text.includes(SUBSTITUTE_ANNOTATION) && !text.includes(FLUX_SUBSTITUTE_KEY)) {
    return false;
  }
  try {
    const docs = parseAllDocuments(text, { prettyErrors: false });
    const doc = Array.isArray(docs) ? docs[0] : undefined;
    const at = (path: string[]): boolean => doc?.getIn(path) === 'disabled';
    return (
      at(['metadata', 'annotations', SUBSTITUTE_ANNOTATION]) ||
      // Flux skips an object whose label or annotation says so.
      at(['metadata', 'annotations', FLUX_SUBSTITUTE_KEY]) ||
      at(['metadata', 'labels', FLUX_SUBSTITUTE_KEY])
    );
  } catch {
    return false;
  }
}

function toObjects(doc: Document.Parsed, where: string, maxAliasCount: number): unknown {
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = e?.linePos?.[0];
    const at = pos === undefined ? '' : `:${pos.line}:${pos.col}`;
    throw new RenderingError(
      RenderingErrorCode.RenderFailed,
      `invalid YAML in ${where}${at}: ${e?.code ?? 'error'}`,
    );
  }
  try {
    return doc.toJS({ maxAliasCount });
  } catch (error) {
    if (error instanceof ReferenceError && /alias/i.test(error.message)) {
      throw new RenderingError(
        RenderingErrorCode.LimitExceeded,
        `too many YAML aliases in ${where} (limit ${maxAliasCount})`,
      );
    }
    throw new RenderingError(RenderingErrorCode.RenderFailed, `invalid YAML in ${where}`);
  }
}

/**
 * Collects objects from rendered text across one render, enforcing the caps.
 * Substitution, when the release asks for it, runs on each document's text before
 * it is parsed (Flux runs it on each object after the build), so it behaves the
 * same for plain files, kustomize output and helm output.
 */
export class ManifestCollector {
  readonly objects: KubeObject[] = [];
  bytes = 0;

  constructor(
    private readonly limits: ParseLimits,
    private readonly substitution: CollectorSubstitution | undefined,
  ) {}

  /** Adds a YAML stream (possibly many documents). `source` is artifact-relative. */
  addYaml(text: string, source: string): void {
    for (const doc of splitYamlDocuments(text)) {
      const helmSource = HELM_SOURCE.exec(doc)?.[1];
      this.addChunk({ text: doc, source: helmSource ?? source }, 'yaml');
    }
  }

  /** Adds one JSON file (an object or a List). */
  addJson(text: string, source: string): void {
    if (text.trim() === '') {
      return;
    }
    this.addChunk({ text, source }, 'json');
  }

  private addChunk(chunk: Chunk, format: 'yaml' | 'json'): void {
    const where = (): string => `${chunk.source} (${describeRaw(chunk.text)})`;
    const sub = this.substitution;
    const text =
      sub === undefined || substitutionDisabled(chunk.text)
        ? chunk.text
        : substituteVariables(chunk.text, sub.vars, where, { strict: sub.strict });
    this.bytes += Buffer.byteLength(text);
    if (this.bytes > this.limits.maxRenderedBytes) {
      throw new RenderingError(
        RenderingErrorCode.LimitExceeded,
        `rendered output exceeds ${this.limits.maxRenderedBytes} bytes`,
      );
    }
    const values: unknown[] = [];
    if (format === 'json') {
      try {
        values.push(JSON.parse(text));
      } catch {
        throw new RenderingError(
          RenderingErrorCode.RenderFailed,
          `invalid JSON in ${chunk.source}`,
        );
      }
    } else {
      const docs = parseAllDocuments(text, {
        strict: true,
        uniqueKeys: true,
        merge: true,
        prettyErrors: false,
      });
      if (!Array.isArray(docs)) {
        return; // an empty stream
      }
      for (const doc of docs) {
        values.push(toObjects(doc, chunk.source, this.limits.maxAliasCount));
      }
    }
    for (const value of values) {
      this.addValue(value, chunk.source);
    }
  }

  private addValue(value: unknown, source: string): void {
    if (value === null || value === undefined) {
      return; // empty document
    }
    if (!isRecord(value)) {
      throw new RenderingError(
        RenderingErrorCode.RenderFailed,
        `${source}: a document is not a mapping (a Kubernetes object)`,
      );
    }
    // `v1/List`, `ConfigMapList` etc.: flatten their items.
    if (
      typeof value.kind === 'string' &&
      value.kind.endsWith('List') &&
      Array.isArray(value.items)
    ) {
      for (const item of value.items) {
        this.addValue(item, source);
      }
      return;
    }
    if (!isRecord(value.metadata)) {
      value.metadata = value.metadata ?? {};
    }
    this.objects.push(value as KubeObject);
    if (this.objects.length > this.limits.maxObjects) {
      throw new RenderingError(
        RenderingErrorCode.LimitExceeded,
        `rendered more than ${this.limits.maxObjects} objects`,
      );
    }
  }
}
