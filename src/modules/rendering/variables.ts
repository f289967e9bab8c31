import { RenderingError, RenderingErrorCode } from './rendering.errors';
import type { TargetFacts } from './rendering.types';

export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const BUILT_IN_NAMES: ReadonlySet<string> = new Set(['cluster_name', 'target_namespace', 'tenant']);
const CLUSTER_LABEL_PREFIX = 'cluster_label_';

/** `cluster_label_<key>` with every non-alphanumeric character of the key replaced by `_`. */
export function clusterLabelVariableName(labelKey: string): string {
  return CLUSTER_LABEL_PREFIX + labelKey.replace(/[^A-Za-z0-9]/g, '_');
}

/**
 * Validates release variables. Decision: release variables cannot override
 * built-ins — a name equal to a built-in or starting with `cluster_label_` is
 * refused, so a manifest's `${cluster_name}` always means the real cluster.
 * Returns every problem (empty when valid); callers (the Release API) can show them all.
 */
export function releaseVariableProblems(variables: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(variables)) {
    if (!VARIABLE_NAME.test(name)) {
      problems.push(`variable name "${name}" must match [A-Za-z_][A-Za-z0-9_]*`);
    } else if (BUILT_IN_NAMES.has(name) || name.startsWith(CLUSTER_LABEL_PREFIX)) {
      problems.push(`variable "${name}" is reserved for a built-in variable`);
    }
    if (typeof value !== 'string') {
      problems.push(`variable "${name}" must be a string`);
    }
  }
  return problems;
}

/**
 * The variables of one Target: built-ins from the target facts plus release
 * variables. When two label keys sanitize to the same name (`a.b`, `a_b`), the
 * lexicographically first key wins, so the result does not depend on map order.
 */
export function buildVariables(
  target: TargetFacts,
  releaseVariables: Readonly<Record<string, string>> = {},
): ReadonlyMap<string, string> {
  const problems = releaseVariableProblems(releaseVariables);
  if (problems.length > 0) {
    throw new RenderingError(RenderingErrorCode.InvalidVariable, problems.join('; '));
  }
  const vars = new Map<string, string>();
  vars.set('cluster_name', target.clusterName);
  vars.set('target_namespace', target.targetNamespace);
  vars.set('tenant', target.tenant);
  for (const key of Object.keys(target.clusterLabels).sort()) {
    const name = clusterLabelVariableName(key);
    if (!vars.has(name)) {
      vars.set(name, target.clusterLabels[key] ?? '');
    }
  }
  for (const [name, value] of Object.entries(releaseVariables)) {
    vars.set(name, value);
  }
  return vars;
}

const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Names of the variables `text` references, as `substituteVariables` would read them. */
export function referencedVariableNames(text: string): string[] {
  if (!text.includes('${')) {
    return [];
  }
  return [...text.matchAll(REFERENCE)].flatMap((m) => (m[1] === undefined ? [] : [m[1]]));
}

/**
 * Replaces `${name}` with its value and `$${` with a literal `${`. Other `${...}`
 * forms (e.g. shell `${HOME:-x}`) are left untouched. Throws UndefinedVariable
 * naming the first unknown variable and `where` (file and object).
 */
export function substituteVariables(
  text: string,
  vars: ReadonlyMap<string, string>,
  where: () => string,
): string {
  if (!text.includes('${')) {
    return text;
  }
  return text.replace(REFERENCE, (_match: string, name: string | undefined) => {
    if (name === undefined) {
      return '${';
    }
    const value = vars.get(name);
    if (value === undefined) {
      throw new RenderingError(
        RenderingErrorCode.UndefinedVariable,
        `undefined variable "${name}" in ${where()}`,
      );
    }
    return value;
  });
}
