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
  /** An object the release renders is owned by another release on the cluster. */
  Conflict: 'Conflict',
  /** A custom resource waited for was never observed by a controller (none installed?). */
  NotObserved: 'NotObserved',
  /** The workload cluster's RBAC refused the impersonated identity a verb (HTTP 403). */
  Forbidden: 'Forbidden',
  /** A kind has no REST mapping on the cluster: its CRD is not installed. */
  MissingCustomResourceDefinition: 'MissingCustomResourceDefinition',
  /** The path holds files gitfleet does not render (jsonnet, CUE, a chart where Kustomize was asked). */
  UnsupportedFormat: 'UnsupportedFormat',
  /** A postBuild.substituteFrom object that is not optional is missing. */
  SubstituteFromNotFound: 'SubstituteFromNotFound',
  /** A postBuild.substituteFrom object could not be read or holds an invalid key. */
  SubstituteFromFailed: 'SubstituteFromFailed',
  /** A Helm chart dependency could not be fetched from its repository. */
  ChartDependencyFetchFailed: 'ChartDependencyFetchFailed',
  /** A Helm or Argo CD hook failed, or did not complete in time; the message names it. */
  HookFailed: 'HookFailed',
  /** A Helm test hook failed after an install or upgrade (Flux helm-controller's TestFailed). */
  TestFailed: 'TestFailed',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];
