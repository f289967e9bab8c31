import type { Dict, KubeObject } from 'test/support/kube-sim/types';
import { isDict } from 'test/support/kube-sim/types';
import {
  AGGREGATE_TO_ADMIN,
  AGGREGATE_TO_EDIT,
  AGGREGATE_TO_VIEW,
} from 'test/support/kube-sim/bootstrap-roles';

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export interface Attributes {
  verb: string;
  /** Resource requests. */
  resource?: string;
  subresource?: string;
  group?: string;
  namespace?: string;
  name?: string;
  /** Non-resource requests. */
  path?: string;
}

export interface RbacSource {
  list(group: string, plural: string): Iterable<KubeObject>;
  getObject(group: string, plural: string, ns: string, name: string): KubeObject | undefined;
}

interface Rule {
  verbs: string[];
  apiGroups: string[];
  resources: string[];
  resourceNames: string[];
  nonResourceURLs: string[];
}

const RBAC = 'rbac.authorization.k8s.io';

/** The real authorizer reads stored rules only; aggregation is the controller's job. */
function rulesOf(role: KubeObject | undefined): Rule[] {
  if (!role) {
    return [];
  }
  const raw: unknown[] = Array.isArray(role.rules) ? (role.rules as unknown[]) : [];
  const arr = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
  return raw.filter(isDict).map((r: Dict) => ({
    verbs: arr(r.verbs),
    apiGroups: arr(r.apiGroups),
    resources: arr(r.resources),
    resourceNames: arr(r.resourceNames),
    nonResourceURLs: arr(r.nonResourceURLs),
  }));
}

function subjectMatches(subjects: unknown, user: UserInfo, bindingNs: string): boolean {
  if (!Array.isArray(subjects)) {
    return false;
  }
  return subjects.filter(isDict).some((s) => {
    switch (s.kind) {
      case 'User':
        return s.name === user.username;
      case 'Group':
        return user.groups.includes(String(s.name));
      case 'ServiceAccount':
        return (
          user.username ===
          `system:serviceaccount:${typeof s.namespace === 'string' ? s.namespace : bindingNs}:${String(s.name)}`
        );
      default:
        return false;
    }
  });
}

export function ruleMatches(r: Rule, a: Attributes): boolean {
  if (!r.verbs.includes('*') && !r.verbs.includes(a.verb)) {
    return false;
  }
  if (a.path !== undefined) {
    return r.nonResourceURLs.some(
      (u) =>
        u === '*' || u === a.path || (u.endsWith('*') && (a.path ?? '').startsWith(u.slice(0, -1))),
    );
  }
  if (!r.apiGroups.includes('*') && !r.apiGroups.includes(a.group ?? '')) {
    return false;
  }
  const res = a.subresource ? `${a.resource}/${a.subresource}` : (a.resource ?? '');
  const resOk = r.resources.some(
    (x) => x === '*' || x === res || (a.subresource !== undefined && x === `*/${a.subresource}`),
  );
  if (!resOk) {
    return false;
  }
  return (
    r.resourceNames.length === 0 ||
    (a.name !== undefined && a.name !== '' && r.resourceNames.includes(a.name))
  );
}

export interface Decision {
  allowed: boolean;
  reason?: string;
}

/** Collects every rule that applies to the user in the namespace (cluster-wide rules included). */
export function rulesFor(
  src: RbacSource,
  user: UserInfo,
  namespace: string | undefined,
): { rules: Rule[]; missing: string[] } {
  const rules: Rule[] = [];
  const missing: string[] = [];
  const roleRef = (b: KubeObject, ns: string): KubeObject | undefined => {
    const ref = isDict(b.roleRef) ? b.roleRef : {};
    const name = String(ref.name);
    const role =
      ref.kind === 'ClusterRole'
        ? src.getObject(RBAC, 'clusterroles', '', name)
        : src.getObject(RBAC, 'roles', ns, name);
    if (!role) {
      missing.push(
        ref.kind === 'ClusterRole'
          ? `clusterrole.rbac.authorization.k8s.io "${name}" not found`
          : `role.rbac.authorization.k8s.io "${name}" not found`,
      );
    }
    return role;
  };
  for (const b of src.list(RBAC, 'clusterrolebindings')) {
    if (subjectMatches(b.subjects, user, '')) {
      rules.push(...rulesOf(roleRef(b, '')));
    }
  }
  if (namespace) {
    for (const b of src.list(RBAC, 'rolebindings')) {
      if (b.metadata.namespace === namespace && subjectMatches(b.subjects, user, namespace)) {
        rules.push(...rulesOf(roleRef(b, namespace)));
      }
    }
  }
  return { rules, missing };
}

export function authorize(src: RbacSource, user: UserInfo, a: Attributes): Decision {
  if (user.groups.includes('system:masters')) {
    return { allowed: true };
  }
  const { rules, missing } = rulesFor(src, user, a.path === undefined ? a.namespace : undefined);
  if (rules.some((r) => ruleMatches(r, a))) {
    return { allowed: true };
  }
  return { allowed: false, reason: missing.length ? `RBAC: ${missing.join(', ')}` : undefined };
}

/** Kubernetes' 403 message for a denied resource request. */
export function forbiddenMessage(user: UserInfo, a: Attributes, reason?: string): string {
  const suffix = reason ? `: ${reason}` : '';
  if (a.path !== undefined) {
    return `forbidden: User "${user.username}" cannot ${a.verb} path "${a.path}"${suffix}`;
  }
  const qres = a.group ? `${a.resource}.${a.group}` : (a.resource ?? '');
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const head = a.name ? `${qres} "${a.name}" is forbidden` : `${qres} is forbidden`;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  return `${head}: User "${user.username}" cannot ${a.verb} resource "${res}" in API group "${a.group ?? ''}" ${scope}${suffix}`;
}

const ALL = ['*'];

function cr(
  name: string,
  rules: Dict[],
  labels?: Record<string, string>,
  aggregate?: string,
): KubeObject {
  const o: KubeObject = {
    apiVersion: `${RBAC}/v1`,
    kind: 'ClusterRole',
    metadata: {
      name,
      labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults', ...(labels ?? {}) },
      annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' },
    },
  };
  if (rules.length) {
    o.rules = rules;
  }
  if (aggregate) {
    o.aggregationRule = {
      clusterRoleSelectors: [
        { matchLabels: { [`rbac.authorization.k8s.io/aggregate-to-${aggregate}`]: 'true' } },
      ],
    };
  }
  return o;
}

function crb(name: string, role: string, group: string): KubeObject {
  return {
    apiVersion: `${RBAC}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: {
      name,
      labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' },
      annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' },
    },
    roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: role },
    subjects: [{ apiGroup: RBAC, kind: 'Group', name: group }],
  };
}

/** The bootstrap RBAC policy every cluster starts with. */
export function bootstrapRbac(): KubeObject[] {
  return [
    cr('cluster-admin', [
      { apiGroups: ALL, resources: ALL, verbs: ALL },
      { nonResourceURLs: ALL, verbs: ALL },
    ]),
    cr('system:discovery', [
      {
        nonResourceURLs: [
          '/api',
          '/api/*',
          '/apis',
          '/apis/*',
          '/healthz',
          '/livez',
          '/openapi',
          '/openapi/*',
          '/readyz',
          '/version',
          '/version/',
        ],
        verbs: ['get'],
      },
    ]),
    cr('system:basic-user', [
      {
        apiGroups: ['authorization.k8s.io'],
        resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
        verbs: ['create'],
      },
      {
        apiGroups: ['authentication.k8s.io'],
        resources: ['selfsubjectreviews'],
        verbs: ['create'],
      },
    ]),
    cr('system:public-info-viewer', [
      {
        nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'],
        verbs: ['get'],
      },
    ]),
    cr('admin', [], undefined, 'admin'),
    cr('edit', [], { 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' }, 'edit'),
    cr('view', [], { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' }, 'view'),
    cr('system:aggregate-to-admin', AGGREGATE_TO_ADMIN, {
      'rbac.authorization.k8s.io/aggregate-to-admin': 'true',
    }),
    cr('system:aggregate-to-edit', AGGREGATE_TO_EDIT, {
      'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
    }),
    cr('system:aggregate-to-view', AGGREGATE_TO_VIEW, {
      'rbac.authorization.k8s.io/aggregate-to-view': 'true',
    }),
    crb('cluster-admin', 'cluster-admin', 'system:masters'),
    crb('system:discovery', 'system:discovery', 'system:authenticated'),
    crb('system:basic-user', 'system:basic-user', 'system:authenticated'),
    crb('system:public-info-viewer', 'system:public-info-viewer', 'system:authenticated'),
    {
      ...crb(
        'system:public-info-viewer-unauthenticated',
        'system:public-info-viewer',
        'system:unauthenticated',
      ),
    },
  ];
}
