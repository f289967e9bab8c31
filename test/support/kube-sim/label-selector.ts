import type { LabelSelector } from 'test/support/kube-sim/selectors';
import type { Dict } from 'test/support/kube-sim/types';
import { isDict } from 'test/support/kube-sim/types';

/**
 * metav1.LabelSelectorAsSelector: matchLabels become `k=v`, matchExpressions In/NotIn/Exists/
 * DoesNotExist; an empty selector selects everything. Undefined for an unknown operator.
 */
export function fromLabelSelector(sel: Dict): LabelSelector | undefined {
  const out: LabelSelector = [];
  const ml = isDict(sel.matchLabels) ? sel.matchLabels : {};
  for (const [key, value] of Object.entries(ml)) {
    out.push({ op: 'eq', key, value: String(value) });
  }
  const exprs = Array.isArray(sel.matchExpressions) ? sel.matchExpressions : [];
  for (const e of exprs.filter(isDict)) {
    const key = String(e.key);
    const values = Array.isArray(e.values) ? e.values.map(String) : [];
    switch (e.operator) {
      case 'In':
        out.push({ op: 'in', key, values });
        break;
      case 'NotIn':
        out.push({ op: 'notin', key, values });
        break;
      case 'Exists':
        out.push({ op: 'exists', key });
        break;
      case 'DoesNotExist':
        out.push({ op: 'notexists', key });
        break;
      default:
        return undefined;
    }
  }
  return out;
}

/** labels.Selector.String(): requirements sorted by key, set values sorted. */
export function selectorString(sel: LabelSelector): string {
  return [...sel]
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((r) => {
      switch (r.op) {
        case 'eq':
          return `${r.key}=${r.value}`;
        case 'neq':
          return `${r.key}!=${r.value}`;
        case 'in':
          return `${r.key} in (${[...r.values].sort().join(',')})`;
        case 'notin':
          return `${r.key} notin (${[...r.values].sort().join(',')})`;
        case 'exists':
          return r.key;
        case 'notexists':
          return `!${r.key}`;
      }
    })
    .join(',');
}
