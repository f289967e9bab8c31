import type { TargetCondition, ConditionStatus } from 'src/modules/releases/entities/target.entity';

/** Condition reasons, PascalCase as in Flux. */
export const Reason = {
  ReconciliationSucceeded: 'ReconciliationSucceeded',
  Progressing: 'Progressing',
  Suspended: 'Suspended',
  DependencyNotReady: 'DependencyNotReady',
  ArtifactFailed: 'ArtifactFailed',
  BuildFailed: 'BuildFailed',
  PolicyViolation: 'PolicyViolation',
  EmptyRender: 'EmptyRender',
  ValidationFailed: 'ValidationFailed',
  ApplyFailed: 'ApplyFailed',
  ClusterUnreachable: 'ClusterUnreachable',
  PruneFailed: 'PruneFailed',
  HealthCheckFailed: 'HealthCheckFailed',
  GrantMissing: 'GrantMissing',
  Pruned: 'Pruned',
  /** The cluster's Cluster API object is paused. */
  ClusterPaused: 'ClusterPaused',
  /** The cluster's Cluster API object is being deleted. */
  ClusterDeleting: 'ClusterDeleting',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/** Replaces conditions by type, keeping lastTransitionTime when the status did not change. */
export function setConditions(
  previous: readonly TargetCondition[],
  next: readonly Omit<TargetCondition, 'lastTransitionTime'>[],
  now: Date,
): TargetCondition[] {
  const byType = new Map(previous.map((c) => [c.type, c]));
  const result: TargetCondition[] = [];
  for (const c of next) {
    const old = byType.get(c.type);
    result.push({
      ...c,
      lastTransitionTime:
        old !== undefined && old.status === c.status ? old.lastTransitionTime : now.toISOString(),
    });
  }
  return result;
}

export function readyOf(conditions: readonly TargetCondition[]): ConditionStatus {
  return conditions.find((c) => c.type === 'Ready')?.status ?? 'Unknown';
}
