import { Environment, type ParseResult } from '@marcbachmann/cel-js';
import type { ReleaseHealthCheckExpr } from './releases.types';

/**
 * Flux `healthCheckExprs` (kustomize-controller, fluxcd/pkg runtime/cel): CEL
 * expressions per apiVersion/kind, evaluated against the live object. Pure: the
 * releases API compiles them to refuse bad ones, the reconciler evaluates them.
 */

export type ExprField = 'current' | 'inProgress' | 'failed';

export interface ExprProblem {
  field: ExprField;
  expression: string;
  message: string;
}

export interface ExprVerdict {
  status: 'Current' | 'InProgress' | 'Failed';
  message: string;
}

// Like Flux's environment: top-level fields are dynamic (not every CRD has the
// five standard ones), optional field access (`status.?conditions`) is on.
const env = new Environment({
  unlistedVariablesAreDyn: true,
  enableOptionalTypes: true,
  homogeneousAggregateLiterals: true,
  limits: { maxAstNodes: 2_000, maxDepth: 64 },
});

/** Max length of one expression; Flux has none, but a bound keeps the API row small. */
export const MAX_EXPR_LENGTH = 4_096;

/** Parses one expression: the error text, or undefined when it compiles. */
export function exprProblem(expression: string): string | undefined {
  if (expression.length > MAX_EXPR_LENGTH) {
    return `longer than ${MAX_EXPR_LENGTH} characters`;
  }
  try {
    const parsed = env.parse(expression);
    const checked = parsed.check();
    // Flux only parses; a result that can never be a bool is refused here already.
    if (checked.valid && checked.type !== 'bool' && checked.type !== 'dyn') {
      return `must return a bool, returns ${checked.type}`;
    }
    return undefined;
  } catch (e) {
    return firstLine(e);
  }
}

/** Every expression of one entry that does not compile (`current` is required, as in Flux). */
export function exprProblems(entry: Partial<ReleaseHealthCheckExpr>): ExprProblem[] {
  const problems: ExprProblem[] = [];
  for (const field of ['inProgress', 'failed', 'current'] as const) {
    const expression = entry[field];
    if (expression === undefined || expression === '') {
      if (field === 'current') {
        problems.push({ field, expression: '', message: 'is required' });
      }
      continue;
    }
    const message = exprProblem(expression);
    if (message !== undefined) {
      problems.push({ field, expression, message });
    }
  }
  return problems;
}

interface Compiled {
  field: ExprField;
  expression: string;
  run: ParseResult;
}

/** Compiled expressions of one entry, evaluated in Flux's order. */
export class HealthExprEvaluator {
  private readonly ordered: Compiled[];

  constructor(readonly entry: ReleaseHealthCheckExpr) {
    // RFC-0009 order: inProgress, then failed, then current; the first true wins.
    this.ordered = (['inProgress', 'failed', 'current'] as const).flatMap((field) => {
      const expression = entry[field];
      return expression === undefined || expression === ''
        ? []
        : [{ field, expression, run: env.parse(expression) }];
    });
  }

  /**
   * Flux's StatusEvaluator: an unobserved generation is InProgress before any
   * expression; none true is InProgress too. An expression that cannot be
   * evaluated (a missing field) keeps the object InProgress, naming the error,
   * as Flux waits until the timeout in that case.
   */
  evaluate(obj: Record<string, unknown>): ExprVerdict {
    const input = toCelValue(obj) as Record<string, unknown>;
    for (const c of this.ordered) {
      let result: unknown;
      try {
        result = c.run(input);
      } catch (e) {
        // Evaluation errors may quote a value ("No such key: <value>"): never a Secret's.
        const why = isSecret(obj) ? 'the error is not shown for a Secret' : firstLine(e);
        return {
          status: 'InProgress',
          message: `healthCheckExprs ${c.field} "${c.expression}" could not be evaluated: ${why}`,
        };
      }
      if (typeof result !== 'boolean') {
        return {
          status: 'InProgress',
          message: `healthCheckExprs ${c.field} "${c.expression}" did not return a bool`,
        };
      }
      if (result) {
        const status =
          c.field === 'current' ? 'Current' : c.field === 'failed' ? 'Failed' : 'InProgress';
        return { status, message: `healthCheckExprs ${c.field} "${c.expression}" is true` };
      }
    }
    return { status: 'InProgress', message: 'no healthCheckExprs expression is true yet' };
  }
}

/** `group/Kind` of an apiVersion and kind; Flux matches entries by GroupKind (any version). */
export function groupKindOf(apiVersion: string, kind: string): string {
  const slash = apiVersion.indexOf('/');
  return `${slash < 0 ? '' : apiVersion.slice(0, slash)}/${kind}`;
}

/** JSON integers become CEL ints (int64 in Kubernetes' unstructured objects), others stay. */
function toCelValue(v: unknown): unknown {
  if (typeof v === 'number') {
    return Number.isSafeInteger(v) ? BigInt(v) : v;
  }
  if (Array.isArray(v)) {
    return v.map(toCelValue);
  }
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toCelValue(x)]));
  }
  return v;
}

function isSecret(obj: Record<string, unknown>): boolean {
  return obj.kind === 'Secret' && obj.apiVersion === 'v1';
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0]?.trim() ?? text;
}
