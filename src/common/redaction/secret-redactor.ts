export const REDACTED = '[redacted]';

// Shorter values would redact ordinary words and digits all over a message.
const MIN_LENGTH = 4;

export interface SecretRedactorOptions {
  /** What a sensitive string is replaced with. Default `[redacted]`. */
  readonly placeholder?: string;
  /** Strings shorter than this are not redacted. Default 4. */
  readonly minLength?: number;
}
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The one redactor: a set of sensitive strings, and `redact` to scrub them
 * from a tool's or a cluster's error text, a fetch error or a log line.
 * `addValue` matches a value as written and in the forms tools print it:
 * JSON/Go-escaped, YAML single-quoted, base64, and line by line when it spans
 * lines; `addExact` takes one form only (callers that know which forms their
 * tools print, such as the source fetchers and the logger).
 */
export class SecretRedactor {
  private readonly needles = new Set<string>();
  private readonly placeholder: string;
  private readonly minLength: number;

  constructor(options: SecretRedactorOptions = {}) {
    this.placeholder = options.placeholder ?? REDACTED;
    this.minLength = options.minLength ?? MIN_LENGTH;
  }

  /** Number of distinct strings that would be redacted. */
  get size(): number {
    return this.needles.size;
  }

  /** A sensitive plain-text value. */
  addValue(value: string): void {
    if (value.length < this.minLength) {
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

  /** Exactly this string (when at least `minLength` long), in no other form. */
  addExact(value: string): void {
    this.addNeedle(value);
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
   * Replaces every occurrence of a sensitive string with the placeholder. Overlapping
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
      out += text.slice(cursor, start) + this.placeholder;
      cursor = end;
      [start, end] = [s, e];
    }
    return out + text.slice(cursor, start) + this.placeholder + text.slice(end);
  }

  private addNeedle(value: string): void {
    if (value.length >= this.minLength) {
      this.needles.add(value);
    }
  }
}
