import { fromLabelSelector } from 'test/support/kube-sim/label-selector';
import { matchLabels } from 'test/support/kube-sim/selectors';
import type { KubeObject } from 'test/support/kube-sim/types';
import { deepEqual, isDict } from 'test/support/kube-sim/types';

/** Field manager of the real controller (kube-controller-manager's clusterrole-aggregation). */
export const AGGREGATION_MANAGER = 'clusterrole-aggregation-controller';

/**
 * The rules the ClusterRole aggregation controller writes into an aggregated role: for each
 * selector in order, the matching ClusterRoles sorted by name (the role itself skipped), their
 * rules appended unless a semantically equal rule is already there. Undefined when the role has no
 * aggregationRule (its rules are its own).
 */
export function aggregatedRules(
  role: KubeObject,
  all: readonly KubeObject[],
): unknown[] | undefined {
  const agg = role.aggregationRule;
  if (!isDict(agg)) {
    return undefined;
  }
  const selectors = Array.isArray(agg.clusterRoleSelectors) ? agg.clusterRoleSelectors : [];
  const sorted = [...all].sort((a, b) =>
    (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1,
  );
  const out: unknown[] = [];
  for (const raw of selectors) {
    const sel = isDict(raw) ? fromLabelSelector(raw) : undefined;
    if (!sel) {
      continue;
    }
    for (const cr of sorted) {
      if (cr.metadata.name === role.metadata.name || !matchLabels(sel, cr.metadata.labels)) {
        continue;
      }
      for (const rule of Array.isArray(cr.rules) ? cr.rules : []) {
        if (!out.some((r) => deepEqual(r, rule))) {
          out.push(rule);
        }
      }
    }
  }
  return out;
}

/** Aggregated roles whose stored rules differ from what the controller would write. */
export function staleAggregations(
  all: readonly KubeObject[],
): { name: string; rules: unknown[] }[] {
  const out: { name: string; rules: unknown[] }[] = [];
  for (const role of all) {
    const rules = aggregatedRules(role, all);
    if (rules && !deepEqual(rules, Array.isArray(role.rules) ? role.rules : [])) {
      out.push({ name: role.metadata.name ?? '', rules });
    }
  }
  return out;
}
