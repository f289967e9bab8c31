import { describe, expect, it } from 'vitest';
import { onboardingObjects, onboardingSelector } from './onboarding-objects';

describe('onboardingObjects', () => {
  const grant = {
    tenantName: 'team-a',
    namespaces: ['apps', 'jobs'],
    serviceAccountName: 'deployer',
    clusterScopedKinds: [],
  };

  it('puts the service account in the first granted namespace and binds it in every granted namespace', () => {
    const objects = onboardingObjects(grant, 'admin');
    expect(
      objects.map((o) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`),
    ).toEqual([
      'Namespace /apps',
      'Namespace /jobs',
      'ServiceAccount apps/deployer',
      'RoleBinding apps/gitfleet-team-a',
      'RoleBinding jobs/gitfleet-team-a',
    ]);
    for (const rb of objects.filter((o) => o.kind === 'RoleBinding')) {
      expect(rb.roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'admin',
      });
      expect(rb.subjects).toEqual([
        { kind: 'ServiceAccount', name: 'deployer', namespace: 'apps' },
      ]);
    }
    for (const o of objects) {
      expect(o.metadata.labels).toEqual({
        'app.kubernetes.io/managed-by': 'gitfleet',
        'gitfleet.dev/onboarded-tenant': 'team-a',
      });
    }
  });

  it('adds a cluster-scoped role and binding only when the grant allows cluster-scoped kinds', () => {
    const objects = onboardingObjects(
      { ...grant, clusterScopedKinds: ['rbac.authorization.k8s.io/ClusterRole'] },
      'admin',
    );
    expect(objects.filter((o) => o.kind.startsWith('Cluster')).map((o) => o.kind)).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
    ]);
  });

  it('grants the apply verbs on exactly the listed kinds, never every resource', () => {
    const objects = onboardingObjects(
      {
        ...grant,
        clusterScopedKinds: [
          'rbac.authorization.k8s.io/ClusterRole',
          'apiextensions.k8s.io/CustomResourceDefinition',
          'storage.k8s.io/StorageClass',
          'networking.k8s.io/IngressClass',
        ],
      },
      'admin',
    );
    const verbs = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
    expect(objects.find((o) => o.kind === 'ClusterRole')?.rules).toEqual([
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs },
      { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs },
      { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs },
      { apiGroups: ['networking.k8s.io'], resources: ['ingressclasses'], verbs },
    ]);
    // Namespaces are applied with gitfleet's identity: no rule for them, ever.
    expect(JSON.stringify(objects)).not.toContain('"namespaces"');
  });

  it('selects only this tenant’s onboarding objects', () => {
    expect(onboardingSelector('team-a')).toBe(
      'app.kubernetes.io/managed-by=gitfleet,gitfleet.dev/onboarded-tenant=team-a',
    );
  });
});
