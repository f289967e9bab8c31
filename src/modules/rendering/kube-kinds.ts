import type { KubeObject } from './rendering.types';

export type ResourceScope = 'Namespaced' | 'Cluster';

/** API group of an apiVersion (`apps/v1` → `apps`, `v1` → ``). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** `group/Kind` key; the core group is empty (`/Namespace`). */
export function groupKind(group: string, kind: string): string {
  return `${group}/${kind}`;
}

/** Built-in cluster-scoped kinds of Kubernetes (1.34), keyed `group/Kind`. */
export const BUILT_IN_CLUSTER_SCOPED: ReadonlySet<string> = new Set(
  Object.entries({
    '': ['Namespace', 'Node', 'PersistentVolume', 'ComponentStatus'],
    'rbac.authorization.k8s.io': ['ClusterRole', 'ClusterRoleBinding'],
    'apiextensions.k8s.io': ['CustomResourceDefinition'],
    'apiregistration.k8s.io': ['APIService'],
    'admissionregistration.k8s.io': [
      'ValidatingWebhookConfiguration',
      'MutatingWebhookConfiguration',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
      'MutatingAdmissionPolicy',
      'MutatingAdmissionPolicyBinding',
    ],
    'storage.k8s.io': [
      'StorageClass',
      'CSIDriver',
      'CSINode',
      'VolumeAttachment',
      'VolumeAttributesClass',
    ],
    'scheduling.k8s.io': ['PriorityClass'],
    'networking.k8s.io': ['IngressClass', 'IPAddress', 'ServiceCIDR'],
    'node.k8s.io': ['RuntimeClass'],
    'certificates.k8s.io': ['CertificateSigningRequest', 'ClusterTrustBundle'],
    'flowcontrol.apiserver.k8s.io': ['FlowSchema', 'PriorityLevelConfiguration'],
    'resource.k8s.io': ['DeviceClass', 'ResourceSlice'],
    'authentication.k8s.io': ['TokenReview', 'SelfSubjectReview'],
    'authorization.k8s.io': [
      'SubjectAccessReview',
      'SelfSubjectAccessReview',
      'SelfSubjectRulesReview',
    ],
    'storagemigration.k8s.io': ['StorageVersionMigration'],
    'internal.apiserver.k8s.io': ['StorageVersion'],
  }).flatMap(([group, kinds]) => kinds.map((kind) => groupKind(group, kind))),
);

/** `group/Kind` → scope for every CustomResourceDefinition in a rendered set. */
export function scopesFromCrds(objects: readonly KubeObject[]): Map<string, ResourceScope> {
  const scopes = new Map<string, ResourceScope>();
  for (const object of objects) {
    if (
      object.kind !== 'CustomResourceDefinition' ||
      groupOf(object.apiVersion) !== 'apiextensions.k8s.io'
    ) {
      continue;
    }
    const spec = object.spec as
      { group?: unknown; scope?: unknown; names?: { kind?: unknown } } | undefined;
    if (typeof spec?.group === 'string' && typeof spec.names?.kind === 'string') {
      scopes.set(
        groupKind(spec.group, spec.names.kind),
        spec.scope === 'Cluster' ? 'Cluster' : 'Namespaced',
      );
    }
  }
  return scopes;
}

/**
 * Apply order, like Helm's install order and Flux's ssa sort: CRDs and
 * Namespaces first (stage one, applied and awaited before the rest), then
 * cluster-wide and namespace policy, identity and RBAC, config, storage,
 * services, workloads, ingress; then kinds not listed (custom resources,
 * alphabetically by kind); webhooks and APIServices last so they never block
 * the objects they serve. Prune uses the reverse.
 */
export const APPLY_ORDER: readonly string[] = [
  'CustomResourceDefinition',
  'Namespace',
  'PriorityClass',
  'NetworkPolicy',
  'ResourceQuota',
  'LimitRange',
  'PodDisruptionBudget',
  'ServiceAccount',
  'Secret',
  'ConfigMap',
  'StorageClass',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
  'Service',
  'DaemonSet',
  'Pod',
  'ReplicationController',
  'ReplicaSet',
  'Deployment',
  'HorizontalPodAutoscaler',
  'StatefulSet',
  'Job',
  'CronJob',
  'IngressClass',
  'Ingress',
];
const APPLY_LAST: readonly string[] = [
  'APIService',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
];

function rankOf(kind: string): number {
  const early = APPLY_ORDER.indexOf(kind);
  if (early >= 0) {
    return early;
  }
  const late = APPLY_LAST.indexOf(kind);
  return late >= 0 ? APPLY_ORDER.length + 1 + late : APPLY_ORDER.length;
}

/** True for objects applied in the first stage (CRDs and Namespaces). */
export function isFirstStage(object: Pick<KubeObject, 'kind'>): boolean {
  return object.kind === 'CustomResourceDefinition' || object.kind === 'Namespace';
}

/** A new array in apply order; stable for objects of the same kind. */
export function sortForApply<T extends Pick<KubeObject, 'kind'>>(objects: readonly T[]): T[] {
  return objects
    .map((object, index) => ({ object, index, rank: rankOf(object.kind) }))
    .sort((a, b) => {
      if (a.rank !== b.rank) {
        return a.rank - b.rank;
      }
      if (a.object.kind !== b.object.kind) {
        return a.object.kind < b.object.kind ? -1 : 1;
      }
      return a.index - b.index;
    })
    .map((entry) => entry.object);
}
