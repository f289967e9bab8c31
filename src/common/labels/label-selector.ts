import { labelKeyProblem, labelValueProblem } from './labels';

/** One requirement of a Kubernetes label selector. */
export type Requirement =
  | { readonly op: 'eq'; readonly key: string; readonly value: string }
  | { readonly op: 'neq'; readonly key: string; readonly value: string }
  | { readonly op: 'in'; readonly key: string; readonly values: readonly string[] }
  | { readonly op: 'notin'; readonly key: string; readonly values: readonly string[] }
  | { readonly op: 'exists'; readonly key: string }
  | { readonly op: 'notexists'; readonly key: string };

export type LabelSelector = readonly Requirement[];

export class LabelSelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabelSelectorError';
  }
}

const MAX_SELECTOR_LENGTH = 4096;

type Token = { t: 'word'; v: string } | { t: 'op'; v: '=' | '==' | '!=' | '!' | '(' | ')' | ',' };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i];
    if (ch === ' ' || ch === '\t') {
      i++;
    } else if (input.startsWith('==', i)) {
      tokens.push({ t: 'op', v: '==' });
      i += 2;
    } else if (input.startsWith('!=', i)) {
      tokens.push({ t: 'op', v: '!=' });
      i += 2;
    } else if (ch === '=' || ch === '!' || ch === '(' || ch === ')' || ch === ',') {
      tokens.push({ t: 'op', v: ch });
      i++;
    } else {
      let j = i;
      while (j < input.length && !' \t=!(),'.includes(input[j])) {
        j++;
      }
      tokens.push({ t: 'word', v: input.slice(i, j) });
      i = j;
    }
  }
  return tokens;
}

/**
 * Parses the Kubernetes label selector syntax: `a=b`, `a==b`, `a!=b`,
 * `a in (x,y)`, `a notin (x,y)`, `a`, `!a`, joined by commas. All
 * requirements must hold. Empty input selects everything.
 */
export function parseLabelSelector(input: string): LabelSelector {
  if (input.length > MAX_SELECTOR_LENGTH) {
    throw new LabelSelectorError(`longer than ${MAX_SELECTOR_LENGTH} characters`);
  }
  const tokens = tokenize(input);
  const out: Requirement[] = [];
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const next = (): Token | undefined => tokens[pos++];
  const key = (tok: Token | undefined): string => {
    if (tok?.t !== 'word') {
      throw new LabelSelectorError(`expected a label key at requirement ${out.length + 1}`);
    }
    const problem = labelKeyProblem(tok.v);
    if (problem !== undefined) {
      throw new LabelSelectorError(problem);
    }
    return tok.v;
  };
  const value = (tok: Token | undefined, allowEmpty: boolean): string => {
    if (tok?.t !== 'word') {
      if (allowEmpty) {
        pos--;
        return '';
      }
      throw new LabelSelectorError(`expected a label value at requirement ${out.length + 1}`);
    }
    const problem = labelValueProblem(tok.v);
    if (problem !== undefined) {
      throw new LabelSelectorError(problem);
    }
    return tok.v;
  };
  const valueSet = (): string[] => {
    if (next()?.v !== '(') {
      throw new LabelSelectorError(`expected "(" at requirement ${out.length + 1}`);
    }
    const values: string[] = [];
    for (;;) {
      const tok = next();
      if (tok?.t === 'word') {
        values.push(value(tok, false));
        const sep = next();
        if (sep?.v === ')') {
          break;
        }
        if (sep?.v !== ',') {
          throw new LabelSelectorError(`expected "," or ")" at requirement ${out.length + 1}`);
        }
      } else {
        throw new LabelSelectorError(
          `expected a value in the set at requirement ${out.length + 1}`,
        );
      }
    }
    return values;
  };

  if (tokens.length === 0) {
    return out;
  }
  for (;;) {
    const first = next();
    if (first?.t === 'op' && first.v === '!') {
      out.push({ op: 'notexists', key: key(next()) });
    } else {
      const k = key(first);
      const op = peek();
      if (op === undefined || (op.t === 'op' && op.v === ',')) {
        out.push({ op: 'exists', key: k });
      } else if (op.t === 'op' && (op.v === '=' || op.v === '==')) {
        pos++;
        out.push({ op: 'eq', key: k, value: value(next(), true) });
      } else if (op.t === 'op' && op.v === '!=') {
        pos++;
        out.push({ op: 'neq', key: k, value: value(next(), true) });
      } else if (op.t === 'word' && (op.v === 'in' || op.v === 'notin')) {
        pos++;
        const values = valueSet();
        out.push(op.v === 'in' ? { op: 'in', key: k, values } : { op: 'notin', key: k, values });
      } else {
        throw new LabelSelectorError(`unexpected token after key at requirement ${out.length + 1}`);
      }
    }
    const sep = next();
    if (sep === undefined) {
      return out;
    }
    if (sep.v !== ',') {
      throw new LabelSelectorError(`expected "," after requirement ${out.length}`);
    }
  }
}

/** Evaluates a selector against a label map (Kubernetes semantics: `!=`/`notin` match a missing key). */
export function matchesSelector(
  selector: LabelSelector,
  labels: Readonly<Record<string, string>>,
): boolean {
  return selector.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    const v = has ? labels[r.key] : undefined;
    switch (r.op) {
      case 'eq':
        return v === r.value;
      case 'neq':
        return v !== r.value;
      case 'in':
        return v !== undefined && r.values.includes(v);
      case 'notin':
        return v === undefined || !r.values.includes(v);
      case 'exists':
        return has;
      case 'notexists':
        return !has;
    }
  });
}

/**
 * Renders a selector as a SQL condition over a jsonb column, with numbered
 * parameters starting after `offset`. Same semantics as matchesSelector.
 */
export function selectorToSql(
  selector: LabelSelector,
  column: string,
  offset: number,
): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const p = (value: unknown): string => {
    params.push(value);
    return `$${offset + params.length}`;
  };
  const parts = selector.map((r) => {
    switch (r.op) {
      case 'eq':
        return `(${column} ->> ${p(r.key)}) = ${p(r.value)}`;
      case 'neq':
        return `(${column} ->> ${p(r.key)}) IS DISTINCT FROM ${p(r.value)}`;
      case 'in':
        return `(${column} ->> ${p(r.key)}) = ANY(${p(r.values)}::text[])`;
      case 'notin':
        return `NOT COALESCE((${column} ->> ${p(r.key)}) = ANY(${p(r.values)}::text[]), false)`;
      case 'exists':
        return `${column} ? ${p(r.key)}`;
      case 'notexists':
        return `NOT (${column} ? ${p(r.key)})`;
    }
  });
  return { sql: parts.length === 0 ? 'TRUE' : parts.join(' AND '), params };
}
