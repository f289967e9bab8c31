import type { Dict } from 'test/support/kube-sim/types';
import { isDict } from 'test/support/kube-sim/types';

/** How a field participates in server-side apply (structured-merge-diff's view of the schema). */
export type FieldShape =
  | { type: 'atomic' }
  | { type: 'map-list'; keys: string[] }
  | { type: 'set' }
  | { type: 'map' }
  | { type: 'struct' };

export type GenerationRule = 'none' | 'spec' | 'specOrAnnotations' | 'cr' | 'crNoStatus';
export type NameRule = 'subdomain' | 'label' | 'dns1035' | 'path' | 'crd';

/** Custom resource serving information, derived from a CRD. */
export interface CrdServing {
  crdName: string;
  storageVersion: string;
  servedVersions: string[];
  /** openAPIV3Schema per version. */
  schemas: Record<string, Dict | undefined>;
  selectableFields: string[];
}

export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  verbs: string[];
  status: boolean;
  scale: boolean;
  generation: GenerationRule;
  nameRule: NameRule;
  returnDeletedObject: boolean;
  defaultPropagation: 'Background' | 'Orphan';
  fieldSelectors: string[];
  /** Built-in kinds accept strategic merge patch; custom resources do not. */
  strategic: boolean;
  /** Create-only review kinds that are answered, never stored. */
  virtual: boolean;
  crd?: CrdServing;
}

export const STANDARD_VERBS = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
];

export function apiVersionOf(rt: { group: string; version: string }): string {
  return rt.group ? `${rt.group}/${rt.version}` : rt.version;
}

export function typeKey(group: string, plural: string): string {
  return `${group}/${plural}`;
}

interface Def {
  gv: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  short?: string[];
  all?: boolean;
  status?: boolean;
  scale?: boolean;
  generation?: GenerationRule;
  nameRule?: NameRule;
  returnDeleted?: boolean;
  orphan?: boolean;
  fields?: string[];
  verbs?: string[];
  virtual?: boolean;
}

const DEFS: Def[] = [
  {
    gv: 'v1',
    kind: 'Namespace',
    plural: 'namespaces',
    namespaced: false,
    short: ['ns'],
    status: true,
    nameRule: 'label',
    fields: ['status.phase'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  },
  { gv: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true, short: ['cm'] },
  { gv: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true, fields: ['type'] },
  {
    gv: 'v1',
    kind: 'ServiceAccount',
    plural: 'serviceaccounts',
    namespaced: true,
    short: ['sa'],
    returnDeleted: true,
  },
  {
    gv: 'v1',
    kind: 'Service',
    plural: 'services',
    namespaced: true,
    short: ['svc'],
    all: true,
    status: true,
    nameRule: 'dns1035',
  },
  {
    gv: 'v1',
    kind: 'Pod',
    plural: 'pods',
    namespaced: true,
    short: ['po'],
    all: true,
    status: true,
    generation: 'spec',
    returnDeleted: true,
    fields: [
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'spec.hostNetwork',
      'status.phase',
      'status.podIP',
      'status.podIPs',
      'status.nominatedNodeName',
    ],
  },
  {
    gv: 'v1',
    kind: 'PersistentVolumeClaim',
    plural: 'persistentvolumeclaims',
    namespaced: true,
    short: ['pvc'],
    status: true,
  },
  {
    gv: 'v1',
    kind: 'Event',
    plural: 'events',
    namespaced: true,
    short: ['ev'],
    fields: [
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'involvedObject.apiVersion',
      'involvedObject.resourceVersion',
      'involvedObject.fieldPath',
      'reason',
      'reportingComponent',
      'source',
      'type',
    ],
  },
  {
    gv: 'v1',
    kind: 'Node',
    plural: 'nodes',
    namespaced: false,
    short: ['no'],
    status: true,
    fields: ['spec.unschedulable'],
  },
  {
    gv: 'apps/v1',
    kind: 'Deployment',
    plural: 'deployments',
    namespaced: true,
    short: ['deploy'],
    all: true,
    status: true,
    scale: true,
    generation: 'specOrAnnotations',
  },
  {
    gv: 'apps/v1',
    kind: 'StatefulSet',
    plural: 'statefulsets',
    namespaced: true,
    short: ['sts'],
    all: true,
    status: true,
    scale: true,
    generation: 'spec',
  },
  {
    gv: 'apps/v1',
    kind: 'DaemonSet',
    plural: 'daemonsets',
    namespaced: true,
    short: ['ds'],
    all: true,
    status: true,
    generation: 'spec',
  },
  {
    gv: 'apps/v1',
    kind: 'ReplicaSet',
    plural: 'replicasets',
    namespaced: true,
    short: ['rs'],
    all: true,
    status: true,
    scale: true,
    generation: 'spec',
    fields: ['status.replicas'],
  },
  {
    gv: 'batch/v1',
    kind: 'Job',
    plural: 'jobs',
    namespaced: true,
    all: true,
    status: true,
    generation: 'spec',
    orphan: true,
    fields: ['status.successful'],
  },
  {
    gv: 'batch/v1',
    kind: 'CronJob',
    plural: 'cronjobs',
    namespaced: true,
    short: ['cj'],
    all: true,
    status: true,
    generation: 'spec',
  },
  {
    gv: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    plural: 'horizontalpodautoscalers',
    namespaced: true,
    short: ['hpa'],
    all: true,
    status: true,
  },
  {
    gv: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    plural: 'roles',
    namespaced: true,
    nameRule: 'path',
  },
  {
    gv: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    plural: 'rolebindings',
    namespaced: true,
    nameRule: 'path',
  },
  {
    gv: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    plural: 'clusterroles',
    namespaced: false,
    nameRule: 'path',
  },
  {
    gv: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    plural: 'clusterrolebindings',
    namespaced: false,
    nameRule: 'path',
  },
  {
    gv: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    plural: 'customresourcedefinitions',
    namespaced: false,
    short: ['crd', 'crds'],
    status: true,
    generation: 'spec',
    nameRule: 'crd',
  },
  {
    gv: 'networking.k8s.io/v1',
    kind: 'Ingress',
    plural: 'ingresses',
    namespaced: true,
    short: ['ing'],
    status: true,
    generation: 'spec',
  },
  {
    gv: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    plural: 'networkpolicies',
    namespaced: true,
    short: ['netpol'],
    generation: 'spec',
  },
  {
    gv: 'policy/v1',
    kind: 'PodDisruptionBudget',
    plural: 'poddisruptionbudgets',
    namespaced: true,
    short: ['pdb'],
    status: true,
    generation: 'spec',
  },
  {
    gv: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    plural: 'selfsubjectaccessreviews',
    namespaced: false,
    verbs: ['create'],
    virtual: true,
  },
  {
    gv: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectRulesReview',
    plural: 'selfsubjectrulesreviews',
    namespaced: false,
    verbs: ['create'],
    virtual: true,
  },
  {
    gv: 'authentication.k8s.io/v1',
    kind: 'SelfSubjectReview',
    plural: 'selfsubjectreviews',
    namespaced: false,
    verbs: ['create'],
    virtual: true,
  },
];

function fromDef(d: Def): ResourceType {
  const [group, version] = d.gv.includes('/') ? d.gv.split('/') : ['', d.gv];
  return {
    group,
    version,
    kind: d.kind,
    listKind: `${d.kind}List`,
    plural: d.plural,
    singular: d.kind.toLowerCase(),
    namespaced: d.namespaced,
    shortNames: d.short,
    categories: d.all ? ['all'] : undefined,
    verbs: d.verbs ?? STANDARD_VERBS,
    status: d.status ?? false,
    scale: d.scale ?? false,
    generation: d.generation ?? 'none',
    nameRule: d.nameRule ?? 'subdomain',
    returnDeletedObject: d.returnDeleted ?? false,
    defaultPropagation: d.orphan ? 'Orphan' : 'Background',
    fieldSelectors: d.fields ?? [],
    strategic: true,
    virtual: d.virtual ?? false,
  };
}

/** Process-wide table of built-in kinds; shared by every virtual cluster. */
export const BUILTIN_TYPES: readonly ResourceType[] = DEFS.map(fromDef);

const LIST_KEYS: Record<string, string[]> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  env: ['name'],
  volumes: ['name'],
  imagePullSecrets: ['name'],
  volumeMounts: ['mountPath'],
  topologySpreadConstraints: ['topologyKey', 'whenUnsatisfiable'],
  hostAliases: ['ip'],
  conditions: ['type'],
};
const ATOMIC_OBJECTS = new Set(['selector', 'podSelector', 'namespaceSelector', 'labelSelector']);
const MAP_OBJECTS = new Set([
  'labels',
  'annotations',
  'data',
  'stringData',
  'binaryData',
  'nodeSelector',
  'limits',
  'requests',
  'matchLabels',
]);

/** Values that a list-map key takes when the client omitted it (defaulting happens before keys are read). */
export const KEY_DEFAULTS: Record<string, unknown> = { protocol: 'TCP' };

/**
 * SSA shape of a field, addressed by field names ('[]' marks a list item).
 * Built-in kinds use a hand-written table of the common markers; custom resources read their schema.
 */
export function fieldShape(
  rt: ResourceType,
  names: readonly string[],
  isArray: boolean,
): FieldShape {
  if (rt.crd && names[0] !== 'metadata') {
    return crdShape(rt, names, isArray);
  }
  const last = names[names.length - 1];
  if (isArray) {
    if (names.length === 2 && names[0] === 'metadata') {
      if (last === 'finalizers') {
        return { type: 'set' };
      }
      if (last === 'ownerReferences') {
        return { type: 'map-list', keys: ['uid'] };
      }
    }
    if (last === 'ports') {
      if (rt.kind === 'Service' && names.length === 2) {
        return { type: 'map-list', keys: ['port', 'protocol'] };
      }
      if (names[names.length - 2] === '[]') {
        return { type: 'map-list', keys: ['containerPort', 'protocol'] };
      }
    }
    const keys = LIST_KEYS[last];
    return keys ? { type: 'map-list', keys } : { type: 'atomic' };
  }
  if (ATOMIC_OBJECTS.has(last)) {
    return { type: 'atomic' };
  }
  return MAP_OBJECTS.has(last) ? { type: 'map' } : { type: 'struct' };
}

/** Walks a structural schema along field names. */
export function schemaAt(root: Dict | undefined, names: readonly string[]): Dict | undefined {
  let cur: Dict | undefined = root;
  for (const n of names) {
    if (!cur) {
      return undefined;
    }
    if (n === '[]') {
      cur = isDict(cur.items) ? cur.items : undefined;
      continue;
    }
    const props = cur.properties;
    if (isDict(props) && isDict(props[n])) {
      cur = props[n];
    } else if (isDict(cur.additionalProperties)) {
      cur = cur.additionalProperties;
    } else {
      return undefined;
    }
  }
  return cur;
}

function crdShape(rt: ResourceType, names: readonly string[], isArray: boolean): FieldShape {
  const crd = rt.crd as CrdServing;
  const s = schemaAt(crd.schemas[rt.version], names);
  if (isArray) {
    const lt = s?.['x-kubernetes-list-type'];
    if (lt === 'map' && Array.isArray(s?.['x-kubernetes-list-map-keys'])) {
      return { type: 'map-list', keys: s['x-kubernetes-list-map-keys'] as string[] };
    }
    return lt === 'set' ? { type: 'set' } : { type: 'atomic' };
  }
  if (!s) {
    return { type: 'map' };
  }
  if (s['x-kubernetes-map-type'] === 'atomic') {
    return { type: 'atomic' };
  }
  return isDict(s.properties) ? { type: 'struct' } : { type: 'map' };
}
