// Bash-style `${...}` expansion as Flux's kustomize-controller does it for
// `spec.postBuild` (fluxcd/pkg/envsubst, a fork of drone/envsubst). The grammar,
// the `$$` escape and the error cases follow that implementation, not bash:
// - only `${...}` expands; `$var` stays literal; `$$` anywhere in text is one `$`,
//   so `$${var}` yields a literal `${var}`;
// - every default form (`:-`, `:=`, `=`, `:+`, `:?`) yields the value when it is
//   non-empty, else the default (no bash `+`/`?` semantics, no assignment);
//   `${var-x}` and `${var+x}` are a "missing closing brace" error, as in Flux;
// - an undefined variable is empty, unless strict (Flux's
//   StrictPostBuildSubstitutions gate): then a bare or transformed reference
//   fails and only the default forms may name it.

/** A malformed `${...}` or, in strict mode, a variable without a value. */
export class EnvsubstError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvsubstError';
  }
}

type Accept = (ch: string, index: number) => boolean;

const enum Token {
  Illegal,
  Eof,
  Ident,
  Lbrack,
  Rbrack,
}

// Mode bits of the scanner, as in the reference implementation.
const SCAN_IDENT = 1;
const SCAN_LBRACK = 2;
const SCAN_RBRACK = 4;
const SCAN_ESCAPE = 8;
const ESC_DOLLAR = 1;
const ESC_BACKSLASH = 2;
const ESC_ALL = ESC_DOLLAR | ESC_BACKSLASH;

const IDENT_CHAR = /^[\p{L}\p{Nd}_]$/u;

const acceptAny: Accept = () => true;
const acceptIdent: Accept = (c) => IDENT_CHAR.test(c);
const acceptColon: Accept = (c) => c === ':';
const acceptOneHash: Accept = (c, i) => c === '#' && i === 1;
const acceptNotClosing: Accept = (c) => c !== '}';
const acceptHashFunc: Accept = (c, i) => c === '#' && i < 3;
const acceptPercentFunc: Accept = (c, i) => c === '%' && i < 3;
const acceptDefaultFunc: Accept = (c, i) =>
  (i === 1 && c === ':') || (i === 2 && (c === '=' || c === '-' || c === '?' || c === '+'));
const acceptReplaceFunc: Accept = (c, i) =>
  (i === 1 && c === '/') || (i === 2 && (c === '/' || c === '#' || c === '%'));
const acceptOneEqual: Accept = (c, i) => i === 1 && c === '=';
const acceptOneColon: Accept = (c, i) => i === 1 && c === ':';
const rejectColonClose: Accept = (c) => c !== ':' && c !== '}';
const acceptSlash: Accept = (c) => c === '/';
const acceptNotSlash: Accept = (c) => c !== '/';
const acceptCasingFunc: Accept = (c, i) => (c === ',' || c === '^') && i < 3;

class Scanner {
  private buf: string;
  private pos = 0;
  private start = 0;
  private width = 0;
  mode = 0;
  escapeChars = 0;
  accept: Accept = acceptAny;

  constructor(buf: string) {
    this.buf = buf;
  }

  read(): string {
    if (this.pos >= this.buf.length) {
      this.width = 0;
      return '';
    }
    const cp = this.buf.codePointAt(this.pos) ?? 0;
    const ch = String.fromCodePoint(cp);
    this.width = ch.length;
    this.pos += this.width;
    return ch;
  }

  unread(): void {
    this.pos -= this.width;
  }

  peek(): string {
    const ch = this.read();
    this.unread();
    return ch;
  }

  /** Drops the character just read from the buffer (an escape prefix). */
  private skip(): void {
    this.buf = this.buf.slice(0, this.pos - 1) + this.buf.slice(this.pos);
  }

  text(): string {
    return this.buf.slice(this.start, this.pos);
  }

  scan(): Token {
    this.start = this.pos;
    const ch = this.read();
    if (ch === '') {
      return Token.Eof;
    }
    if (this.scanLbrack(ch)) {
      return Token.Lbrack;
    }
    if (this.scanRbrack(ch)) {
      return Token.Rbrack;
    }
    if (this.scanIdent(ch)) {
      return Token.Ident;
    }
    return Token.Illegal;
  }

  private scanIdent(first: string): boolean {
    if ((this.mode & SCAN_IDENT) === 0) {
      return false;
    }
    if (this.scanEscaped(first)) {
      this.skip();
    } else if (!this.accept(first, this.pos - this.start)) {
      return false;
    }
    for (;;) {
      const ch = this.read();
      if (ch === '') {
        this.unread();
        break;
      }
      if (this.scanLbrack(ch)) {
        this.unread();
        this.unread();
        break;
      }
      if (this.scanEscaped(ch)) {
        this.skip();
        continue;
      }
      if (!this.accept(ch, this.pos - this.start)) {
        this.unread();
        break;
      }
    }
    return true;
  }

  private scanLbrack(ch: string): boolean {
    if ((this.mode & SCAN_LBRACK) === 0 || ch !== '$') {
      return false;
    }
    if (this.read() === '{') {
      return true;
    }
    this.unread();
    return false;
  }

  private scanRbrack(ch: string): boolean {
    return (this.mode & SCAN_RBRACK) !== 0 && ch === '}';
  }

  private scanEscaped(ch: string): boolean {
    if ((this.mode & SCAN_ESCAPE) === 0) {
      return false;
    }
    if (ch === '$' && (this.escapeChars & ESC_DOLLAR) !== 0 && this.peek() === '$') {
      return true;
    }
    if (ch === '\\' && (this.escapeChars & ESC_BACKSLASH) !== 0) {
      const next = this.peek();
      return next === '/' || next === '\\';
    }
    return false;
  }
}

type Node =
  | { readonly type: 'text'; readonly value: string }
  | {
      readonly type: 'func';
      name: string;
      param: string;
      readonly args: Node[];
    };

const BAD_SUBSTITUTION = 'bad substitution';
const MISSING_BRACE = 'missing closing brace';
const BAD_NAME = 'unable to parse variable name';
const BAD_FUNC_PARAM = 'unable to parse substitution within function';
const BAD_DEFAULT = 'unable to parse default function';

class Parser {
  constructor(private readonly s: Scanner) {}

  parseAll(): Node[] {
    const nodes: Node[] = [];
    for (;;) {
      this.s.accept = acceptAny;
      this.s.mode = SCAN_IDENT | SCAN_LBRACK | SCAN_ESCAPE;
      this.s.escapeChars = ESC_DOLLAR;
      switch (this.s.scan()) {
        case Token.Ident:
          nodes.push({ type: 'text', value: this.s.text() });
          break;
        case Token.Eof:
          return nodes;
        case Token.Lbrack:
          nodes.push(this.parseFunc());
          break;
        case Token.Illegal:
        case Token.Rbrack:
          throw new EnvsubstError(BAD_SUBSTITUTION);
      }
    }
  }

  private parseFunc(): Node {
    this.s.escapeChars = ESC_ALL;
    if (this.s.peek() === '#') {
      return this.parseLen();
    }
    this.s.accept = acceptIdent;
    this.s.mode = SCAN_IDENT;
    if (this.s.scan() !== Token.Ident) {
      throw new EnvsubstError(BAD_NAME);
    }
    const name = this.s.text();
    switch (this.s.peek()) {
      case ':':
        return this.parseDefaultOrSubstr(name);
      case '=':
        return this.parseDefault(name);
      case ',':
      case '^':
        return this.parseOperatorOnly(name, acceptCasingFunc);
      case '/':
        return this.parseReplace(name);
      case '#':
        return this.parseRemove(name, acceptHashFunc);
      case '%':
        return this.parseRemove(name, acceptPercentFunc);
    }
    this.s.accept = acceptIdent;
    this.s.mode = SCAN_RBRACK;
    if (this.s.scan() !== Token.Rbrack) {
      throw new EnvsubstError(MISSING_BRACE);
    }
    return { type: 'func', name: '', param: name, args: [] };
  }

  private parseParam(accept: Accept, mode: number): Node {
    this.s.accept = accept;
    this.s.mode = mode | SCAN_LBRACK;
    switch (this.s.scan()) {
      case Token.Lbrack:
        return this.parseFunc();
      case Token.Ident:
      case Token.Rbrack:
        return { type: 'text', value: this.s.text() };
      case Token.Eof:
      case Token.Illegal:
        throw new EnvsubstError(BAD_FUNC_PARAM);
    }
  }

  private operator(accept: Accept, error: string): string {
    this.s.accept = accept;
    this.s.mode = SCAN_IDENT;
    if (this.s.scan() !== Token.Ident) {
      throw new EnvsubstError(error);
    }
    return this.s.text();
  }

  private parseDefaultOrSubstr(name: string): Node {
    this.s.read();
    const next = this.s.peek();
    this.s.unread();
    return next === '=' || next === '-' || next === '?' || next === '+'
      ? this.parseDefault(name)
      : this.parseSubstr(name);
  }

  private parseSubstr(param: string): Node {
    const node: Node = {
      type: 'func',
      param,
      name: this.operator(acceptOneColon, BAD_SUBSTITUTION),
      args: [],
    };
    node.args.push(this.parseParam(rejectColonClose, SCAN_IDENT));
    this.s.accept = acceptColon;
    this.s.mode = SCAN_IDENT | SCAN_RBRACK;
    const token = this.s.scan();
    if (token === Token.Rbrack) {
      return node;
    }
    if (token !== Token.Ident) {
      throw new EnvsubstError(BAD_SUBSTITUTION);
    }
    node.args.push(this.parseParam(acceptNotClosing, SCAN_IDENT));
    this.consumeRbrack();
    return node;
  }

  private parseRemove(param: string, accept: Accept): Node {
    const node: Node = {
      type: 'func',
      param,
      name: this.operator(accept, BAD_SUBSTITUTION),
      args: [],
    };
    node.args.push(this.parseParam(acceptNotClosing, SCAN_IDENT));
    this.consumeRbrack();
    return node;
  }

  private parseReplace(param: string): Node {
    const node: Node = {
      type: 'func',
      param,
      name: this.operator(acceptReplaceFunc, BAD_SUBSTITUTION),
      args: [],
    };
    node.args.push(
      this.s.peek() === '/'
        ? { type: 'text', value: '' }
        : this.parseParam(acceptNotSlash, SCAN_IDENT | SCAN_ESCAPE),
    );
    this.operator(acceptSlash, BAD_SUBSTITUTION);
    if (this.s.peek() === '}') {
      this.consumeRbrack();
      return node;
    }
    node.args.push(this.parseParam(acceptNotClosing, SCAN_IDENT | SCAN_ESCAPE));
    this.consumeRbrack();
    return node;
  }

  private parseDefault(param: string): Node {
    const accept = this.s.peek() === '=' ? acceptOneEqual : acceptDefaultFunc;
    const node: Node = { type: 'func', param, name: this.operator(accept, BAD_DEFAULT), args: [] };
    for (;;) {
      if (this.s.peek() === '}') {
        this.consumeRbrack();
        return node;
      }
      node.args.push(this.parseParam(acceptNotClosing, SCAN_IDENT));
    }
  }

  private parseOperatorOnly(param: string, accept: Accept): Node {
    const node: Node = {
      type: 'func',
      param,
      name: this.operator(accept, BAD_SUBSTITUTION),
      args: [],
    };
    this.consumeRbrack();
    return node;
  }

  private parseLen(): Node {
    const name = this.operator(acceptOneHash, BAD_SUBSTITUTION);
    const param = this.operator(acceptIdent, BAD_SUBSTITUTION);
    this.consumeRbrack();
    return { type: 'func', name, param, args: [] };
  }

  private consumeRbrack(): void {
    this.s.mode = SCAN_RBRACK;
    if (this.s.scan() !== Token.Rbrack) {
      throw new EnvsubstError(BAD_SUBSTITUTION);
    }
  }
}

/** Looks a variable up: its value, or undefined when it has none. */
export type VariableLookup = (name: string) => string | undefined;

export interface EnvsubstOptions {
  /** Flux's StrictPostBuildSubstitutions: a variable without value and default fails. */
  readonly strict: boolean;
}

/** Expands every `${...}` in `text` as Flux's postBuild does. Throws EnvsubstError. */
export function envsubst(text: string, lookup: VariableLookup, options: EnvsubstOptions): string {
  // Text without `$` has nothing to expand or unescape.
  if (!text.includes('$')) {
    return text;
  }
  const nodes = new Parser(new Scanner(text)).parseAll();
  return nodes.map((n) => evaluate(n, lookup, options)).join('');
}

/** Names every `${...}` in `text` refers to (also in defaults); empty when it does not parse. */
export function envsubstNames(text: string): string[] {
  if (!text.includes('${')) {
    return [];
  }
  const names: string[] = [];
  const walk = (node: Node): void => {
    if (node.type === 'func') {
      names.push(node.param);
      node.args.forEach(walk);
    }
  };
  try {
    new Parser(new Scanner(text)).parseAll().forEach(walk);
  } catch {
    return [];
  }
  return names;
}

const DEFAULT_OPERATORS: ReadonlySet<string> = new Set([
  '-',
  '+',
  '=',
  '?',
  ':-',
  ':+',
  ':=',
  ':?',
]);

function evaluate(node: Node, lookup: VariableLookup, options: EnvsubstOptions): string {
  if (node.type === 'text') {
    return node.value;
  }
  const args = node.args.map((a) => evaluate(a, lookup, options));
  const found = lookup(node.param);
  if (found === undefined && options.strict && !DEFAULT_OPERATORS.has(node.name)) {
    throw new EnvsubstError(`variable not set (strict mode): "${node.param}"`);
  }
  return apply(node.name, found ?? '', args);
}

function apply(name: string, value: string, args: readonly string[]): string {
  switch (name) {
    case ',':
      return value === '' ? value : firstChar(value).toLowerCase() + value.slice(firstLen(value));
    case ',,':
      return value.toLowerCase();
    case '^':
      return value === '' ? value : firstChar(value).toUpperCase() + value.slice(firstLen(value));
    case '^^':
      return value.toUpperCase();
    case '#':
      return args.length === 0
        ? String(Buffer.byteLength(value))
        : trimPrefix(value, args[0], false);
    case '##':
      return trimPrefix(value, args[0], true);
    case '%':
      return trimSuffix(value, args[0], false);
    case '%%':
      return trimSuffix(value, args[0], true);
    case ':':
      return substring(value, args);
    case '/#':
      return args.length === 2 && value.startsWith(args[0] ?? '')
        ? (args[1] ?? '') + value.slice((args[0] ?? '').length)
        : value;
    case '/%':
      return args.length === 2 && value.endsWith(args[0] ?? '')
        ? value.slice(0, value.length - (args[0] ?? '').length) + (args[1] ?? '')
        : value;
    case '/':
      return args.length === 0 ? value : replace(value, args[0] ?? '', args[1] ?? '', false);
    case '//':
      return args.length === 0 ? value : replace(value, args[0] ?? '', args[1] ?? '', true);
    default:
      // Plain `${var}` and every default form.
      return value === '' && args.length > 0 ? args.join('') : value;
  }
}

// Go's strings.Replace: an empty pattern matches before every character and at the end.
function replace(value: string, pattern: string, by: string, all: boolean): string {
  if (pattern === '') {
    return all ? by + [...value].join(by) + (value === '' ? '' : by) : by + value;
  }
  return all ? value.split(pattern).join(by) : value.replace(pattern, () => by);
}

function firstChar(value: string): string {
  return String.fromCodePoint(value.codePointAt(0) ?? 0);
}

function firstLen(value: string): number {
  return firstChar(value).length;
}

// Offsets count bytes, as Go's string indexing does.
function substring(value: string, args: readonly string[]): string {
  const bytes = Buffer.from(value, 'utf8');
  const len = bytes.length;
  let pos = goAtoi(args[0]);
  if (pos === undefined) {
    return value;
  }
  if (pos < 0) {
    pos = Math.max(0, len + pos);
  }
  if (args.length === 1) {
    return pos < len ? bytes.subarray(pos).toString('utf8') : '';
  }
  const length = goAtoi(args[1]);
  if (length === undefined) {
    return value;
  }
  if (length < 0) {
    const end = len + length;
    return end < pos ? '' : bytes.subarray(pos, end).toString('utf8');
  }
  if (pos + length >= len) {
    return pos < len ? bytes.subarray(pos).toString('utf8') : '';
  }
  return bytes.subarray(pos, pos + length).toString('utf8');
}

function goAtoi(text: string | undefined): number | undefined {
  return text !== undefined && /^[+-]?\d+$/.test(text) ? Number.parseInt(text, 10) : undefined;
}

function trimPrefix(value: string, pattern: string | undefined, longest: boolean): string {
  if (pattern === undefined) {
    return value;
  }
  let match: string | undefined;
  // Like the reference: candidate prefixes from longest to shortest (never the empty one).
  for (let end = value.length; end > 0; end--) {
    const candidate = value.slice(0, end);
    const matched = globMatch(pattern, candidate);
    if (matched === undefined) {
      return value;
    }
    if (matched) {
      match = candidate;
      if (longest) {
        break;
      }
    }
  }
  return match === undefined || match === '' ? value : value.slice(match.length);
}

function trimSuffix(value: string, pattern: string | undefined, longest: boolean): string {
  if (pattern === undefined) {
    return value;
  }
  const reverse = (s: string): string => [...s].reverse().join('');
  return reverse(trimPrefix(reverse(value), reverse(pattern), longest));
}

/**
 * The reference's glob (`path.Match` with `/` not special): `*` any run, `?` one
 * character, `[...]` classes
 * (`^` negates, ranges), `\` escapes. Undefined for a malformed pattern.
 */
function globMatch(pattern: string, name: string): boolean | undefined {
  let source = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? '';
    if (c === '*') {
      source += '.*';
    } else if (c === '?') {
      source += '.';
    } else if (c === '\\') {
      i++;
      if (i >= pattern.length) {
        return undefined;
      }
      source += escapeRegex(pattern[i] ?? '');
    } else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) {
        return undefined;
      }
      let body = pattern.slice(i + 1, close);
      const negated = body.startsWith('^');
      if (negated) {
        body = body.slice(1);
      }
      source += `[${negated ? '^' : ''}${body.replace(/[\]\\^]/g, '\\$&')}]`;
      i = close;
    } else {
      source += escapeRegex(c);
    }
  }
  try {
    return new RegExp(`${source}$`, 'u').test(name);
  } catch {
    return undefined;
  }
}

function escapeRegex(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
