import type { KubeObject } from 'src/common/kube/kube-object';

/**
 * What a platform team sets up for a tenant in a test cluster before gitfleet
 * applies as the tenant: the namespace, the tenant's service account (living in
 * `serviceAccountNamespace`) and a Role granting it everything in the namespace.
 */
export function tenantAccessObjects(
  namespace: string,
  serviceAccount: string,
  serviceAccountNamespace: string = namespace,
): KubeObject[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: serviceAccount, namespace } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'gitfleet-tenant', namespace },
      rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'gitfleet-tenant', namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'gitfleet-tenant' },
      subjects: [
        { kind: 'ServiceAccount', name: serviceAccount, namespace: serviceAccountNamespace },
      ],
    },
  ];
}
