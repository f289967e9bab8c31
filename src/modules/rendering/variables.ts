import { EnvsubstError, envsubst, envsubstNames } from './envsubst';
import { RenderingError, RenderingErrorCode } from './rendering.errors';
import type { TargetFacts } from './rendering.types';

/** Flux's rule for variable names (`^[_[:alpha:]][_[:alpha:][:digit:]]*$`). */
export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const BUILT_IN_NAMES: ReadonlySet<string> = new Set(['cluster_name', 'target_namespace', 'tenant']);
const CLUSTER_LABEL_PREFIX = 'cluster_label_';

/** `cluster_label_<key>` with every non-alphanumeric character of the key replaced by `_`. */
export function clusterLabelVariableName(labelKey: string): string {
  return CLUSTER_LABEL_PREFIX + labelKey.replace(/[^A-Za-z0-9]/g, '_');
}

/** True for `cluster_name`, `target_namespace`, `tenant` and `cluster_label_*`. */
export function isBuiltInVariable(name: string): boolean {
  return BUILT_IN_NAMES.has(name) || name.startsWith(CLUSTER_LABEL_PREFIX);
}

/**
 * Validates `postBuild.substitute`. Decision: inline variables cannot override
 * built-ins — a name equal to a built-in or starting with `cluster_label_` is
 * refused, so a manifest's `${cluster_name}` always means the real cluster.
 * Returns every problem (empty when valid); callers (the Release API) can show them all.
 */
export function releaseVariableProblems(variables: Readonly<Record<string, unknown>>): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(variables)) {
    if (!VARIABLE_NAME.test(name)) {
      problems.push(`variable name "${name}" must match [A-Za-z_][A-Za-z0-9_]*`);
    } else if (isBuiltInVariable(name)) {
      problems.push(`variable "${name}" is reserved for a built-in variable`);
    }
    if (typeof value !== 'string') {
      problems.push(`variable "${name}" must be a string`);
    }
  }
  return problems;
}

/**
 * The variables of one Target: built-ins from the target facts plus the
 * release's postBuild variables (substituteFrom merged, then inline, already in
 * precedence order). Built-ins win over a substituteFrom key of the same name.
 * Every name must follow Flux's rule, as Flux refuses the whole build otherwise.
 * When two label keys sanitize to the same name (`a.b`, `a_b`), the
 * lexicographically first key wins, so the result does not depend on map order.
 */
export function buildVariables(
  target: TargetFacts,
  releaseVariables: Readonly<Record<string, string>> = {},
): ReadonlyMap<string, string> {
  const bad = Object.keys(releaseVariables).filter((name) => !VARIABLE_NAME.test(name));
  if (bad.length > 0) {
    throw new RenderingError(
      RenderingErrorCode.InvalidVariable,
      bad
        .slice(0, 5)
        .map((name) => `variable name "${name.slice(0, 100)}" must match [A-Za-z_][A-Za-z0-9_]*`)
        .join('; '),
    );
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
    if (!isBuiltInVariable(name)) {
      vars.set(name, value);
    }
  }
  return vars;
}

/** Names of the variables `text` references (also inside defaults), as substitution reads them. */
export function referencedVariableNames(text: string): string[] {
  return envsubstNames(text);
}

/**
 * Expands `${...}` in one document as Flux's postBuild does (see envsubst.ts).
 * Errors name `where` (file and object) and the variable, never a value.
 */
export function substituteVariables(
  text: string,
  vars: ReadonlyMap<string, string>,
  where: () => string,
  options: { strict: boolean } = { strict: false },
): string {
  try {
    return envsubst(text, (name) => vars.get(name), options);
  } catch (error) {
    if (!(error instanceof EnvsubstError)) {
      throw error;
    }
    const strictMiss = error.message.startsWith('variable not set');
    throw new RenderingError(
      strictMiss ? RenderingErrorCode.UndefinedVariable : RenderingErrorCode.RenderFailed,
      `variable substitution failed in ${where()}: ${error.message}`,
    );
  }
}
