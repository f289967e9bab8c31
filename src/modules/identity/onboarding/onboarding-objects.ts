import type { KubeObject } from 'src/modules/reconciler/kube/kube.types';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'gitfleet';
/** Which tenant an onboarding object serves (not `gitfleet.dev/tenant`: release pruning selects on that). */
export const ONBOARDED_TENANT_LABEL = 'gitfleet.dev/onboarded-tenant';
/**
 * Field manager of onboarding applies. Not the applier's `gitfleet`: a tenant
 * release may ship its own Namespace, and two appliers sharing one field
 * manager would each remove the other's labels on every apply.
 */
export const ONBOARDING_FIELD_MANAGER = 'gitfleet-onboarding';

const RBAC = 'rbac.authorization.k8s.io';

/** What onboarding derives from a grant: server-side data only, nothing a tenant wrote. */
export interface OnboardingGrant {
  readonly tenantName: string;
  readonly namespaces: readonly string[];
  readonly serviceAccountName: string;
  /** `group/Kind` of each cluster-scoped kind the tenant may apply. */
  readonly clusterScopedKinds: readonly string[];
}

/**
 * The resource of a kind, by the rule Kubernetes itself falls back on
 * (apimachinery's `UnsafeGuessKindToResource`): lower-cased, `-s` → `-ses`,
 * `-y` → `-ies`, else `+s`. Exact for the built-in kinds; a CRD with an
 * irregular plural is not covered by it.
 */
export function guessResource(kind: string): string {
  const lower = kind.toLowerCase();
  if (lower.endsWith('s')) {
    return `${lower}es`;
  }
  if (lower.endsWith('y')) {
    return `${lower.slice(0, -1)}ies`;
  }
  return `${lower}s`;
}

/** What gitfleet does with an object: no escalate, bind or impersonate, which `*` would include. */
const APPLY_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

/** One RBAC rule per allowed kind: its group and resource, the verbs of apply, prune and health. */
export function clusterScopedRules(
  kinds: readonly string[],
): { apiGroups: string[]; resources: string[]; verbs: string[] }[] {
  return kinds.map((groupKind) => {
    const slash = groupKind.lastIndexOf('/');
    const group = slash < 0 ? '' : groupKind.slice(0, slash);
    const kind = groupKind.slice(slash + 1);
    return { apiGroups: [group], resources: [guessResource(kind)], verbs: APPLY_VERBS };
  });
}

export const onboardingSelector = (tenant: string): string =>
  `${MANAGED_BY_LABEL}=${MANAGED_BY},${ONBOARDED_TENANT_LABEL}=${tenant}`;

export const roleBindingName = (tenant: string): string => `gitfleet-${tenant}`;
export const clusterScopedName = (tenant: string): string => `gitfleet-${tenant}-cluster-scoped`;

/**
 * The objects that let a tenant's service account work in a workload cluster:
 * its namespaces, the service account (in the first granted namespace, where
 * the reconciler impersonates it), a RoleBinding to `clusterRole` in every
 * granted namespace, and — only when the grant lists cluster-scoped kinds —
 * a ClusterRole with the apply verbs on exactly those kinds, plus its
 * ClusterRoleBinding. Never namespaces: a tenant's Namespace manifests are
 * applied with gitfleet's own identity.
 */
export function onboardingObjects(grant: OnboardingGrant, clusterRole: string): KubeObject[] {
  const tenant = grant.tenantName;
  const labels = { [MANAGED_BY_LABEL]: MANAGED_BY, [ONBOARDED_TENANT_LABEL]: tenant };
  const home = grant.namespaces[0];
  if (home === undefined) {
    throw new Error('a grant has at least one namespace');
  }
  const subject = { kind: 'ServiceAccount', name: grant.serviceAccountName, namespace: home };
  const objects: KubeObject[] = [
    ...grant.namespaces.map((name) => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels },
    })),
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: grant.serviceAccountName, namespace: home, labels },
    },
    ...grant.namespaces.map((namespace) => ({
      apiVersion: `${RBAC}/v1`,
      kind: 'RoleBinding',
      metadata: { name: roleBindingName(tenant), namespace, labels },
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: clusterRole },
      subjects: [subject],
    })),
  ];
  if (grant.clusterScopedKinds.length > 0) {
    objects.push(
      {
        apiVersion: `${RBAC}/v1`,
        kind: 'ClusterRole',
        metadata: { name: clusterScopedName(tenant), labels },
        rules: clusterScopedRules(grant.clusterScopedKinds),
      },
      {
        apiVersion: `${RBAC}/v1`,
        kind: 'ClusterRoleBinding',
        metadata: { name: clusterScopedName(tenant), labels },
        roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: clusterScopedName(tenant) },
        subjects: [subject],
      },
    );
  }
  return objects;
}

/** Kinds onboarding removes when they are no longer wanted (namespaces never: they hold the tenant's data). */
export const REMOVABLE_KINDS = [
  { apiVersion: `${RBAC}/v1`, kind: 'RoleBinding', namespaced: true },
  { apiVersion: `${RBAC}/v1`, kind: 'ClusterRoleBinding', namespaced: false },
  { apiVersion: `${RBAC}/v1`, kind: 'ClusterRole', namespaced: false },
  { apiVersion: 'v1', kind: 'ServiceAccount', namespaced: true },
] as const;
