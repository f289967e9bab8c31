import type { LabelSelector, Requirement } from 'src/common/labels/label-selector';
import type { ClusterSelector } from './releases.types';

/** A release's matchLabels/matchExpressions in the registry's selector form. */
export function toLabelSelector(selector: ClusterSelector): LabelSelector {
  const requirements: Requirement[] = Object.entries(selector.matchLabels ?? {}).map(
    ([key, value]) => ({ op: 'eq', key, value }),
  );
  for (const e of selector.matchExpressions ?? []) {
    switch (e.operator) {
      case 'In':
        requirements.push({ op: 'in', key: e.key, values: e.values ?? [] });
        break;
      case 'NotIn':
        requirements.push({ op: 'notin', key: e.key, values: e.values ?? [] });
        break;
      case 'Exists':
        requirements.push({ op: 'exists', key: e.key });
        break;
      case 'DoesNotExist':
        requirements.push({ op: 'notexists', key: e.key });
        break;
    }
  }
  return requirements;
}
