import { labelProblems } from 'src/common/labels/labels';

/** API group of Cluster API's `Cluster`. */
export const CAPI_GROUP = 'cluster.x-k8s.io';
/** Served versions gitfleet understands, preferred first. */
export const CAPI_VERSIONS = ['v1beta2', 'v1beta1'] as const;
export type CapiVersion = (typeof CAPI_VERSIONS)[number];

export const CAPI_PAUSED_ANNOTATION = 'cluster.x-k8s.io/paused';
export const CAPI_CLUSTER_NAME_LABEL = 'cluster.x-k8s.io/cluster-name';
export const CAPI_SECRET_TYPE = 'cluster.x-k8s.io/secret';

/** A Cluster API condition, from either version's shape. */
export interface CapiCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  /** v1beta1 only: Error, Warning, Info. */
  severity?: string;
  lastTransitionTime?: string;
}

/** What gitfleet reads from a Cluster object, the same for v1beta1 and v1beta2. */
export interface CapiClusterView {
  readonly apiVersion: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly resourceVersion: string;
  readonly labels: Readonly<Record<string, string>>;
  /** `spec.paused` or the `cluster.x-k8s.io/paused` annotation. */
  readonly paused: boolean;
  /** `metadata.deletionTimestamp` is set. */
  readonly deleting: boolean;
  /** `Pending`, `Provisioning`, `Provisioned`, `Deleting`, `Failed`, `Unknown`; null when not reported. */
  readonly phase: string | null;
  readonly infrastructureProvisioned: boolean;
  readonly controlPlaneInitialized: boolean;
  readonly conditions: readonly CapiCondition[];
  readonly failureMessage: string | null;
}

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const MAX_CONDITIONS = 32;
const MAX_TEXT = 1024;
const clip = (s: string | undefined): string | undefined =>
  s === undefined ? undefined : s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s;

function conditionsOf(list: unknown): CapiCondition[] {
  if (!Array.isArray(list)) {
    return [];
  }
  const out: CapiCondition[] = [];
  for (const c of list.slice(0, MAX_CONDITIONS)) {
    if (!isDict(c) || typeof c.type !== 'string' || typeof c.status !== 'string') {
      continue;
    }
    const reason = clip(str(c.reason));
    const message = clip(str(c.message));
    const severity = str(c.severity);
    const time = str(c.lastTransitionTime);
    out.push({
      type: c.type,
      status: c.status,
      ...(reason !== undefined && reason !== '' ? { reason } : {}),
      ...(message !== undefined && message !== '' ? { message } : {}),
      ...(severity !== undefined && severity !== '' ? { severity } : {}),
      ...(time !== undefined ? { lastTransitionTime: time } : {}),
    });
  }
  return out;
}

const conditionTrue = (conditions: readonly CapiCondition[], type: string): boolean =>
  conditions.some((c) => c.type === type && c.status === 'True');

/**
 * Reads a `clusters.cluster.x-k8s.io` object of either served version (§9.1
 * of the fidelity notes): v1beta1 keeps readiness booleans at the top of
 * status and CAPI-style conditions, v1beta2 keeps them under
 * `status.initialization` with metav1 conditions.
 */
export function normalizeCapiCluster(obj: unknown): CapiClusterView {
  if (!isDict(obj) || !isDict(obj.metadata)) {
    throw new Error('not a Kubernetes object');
  }
  const apiVersion = str(obj.apiVersion) ?? '';
  const metadata = obj.metadata;
  const spec = isDict(obj.spec) ? obj.spec : {};
  const status = isDict(obj.status) ? obj.status : {};
  const annotations = isDict(metadata.annotations) ? metadata.annotations : {};
  const rawLabels = isDict(metadata.labels) ? metadata.labels : {};
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawLabels)) {
    if (typeof v === 'string') {
      labels[k] = v;
    }
  }
  const v1beta2 = apiVersion.endsWith('/v1beta2');
  // Each version also carries the other's condition list (v1beta2: status.deprecated.v1beta1,
  // v1beta1: status.v1beta2); a Cluster written in one version and read in the other may
  // only have that one.
  let infrastructureProvisioned: boolean;
  let controlPlaneInitialized: boolean;
  let primary: CapiCondition[];
  let secondary: CapiCondition[];
  let failureMessage: string | undefined;
  if (v1beta2) {
    const init = isDict(status.initialization) ? status.initialization : {};
    const deprecated =
      isDict(status.deprecated) && isDict(status.deprecated.v1beta1)
        ? status.deprecated.v1beta1
        : {};
    primary = conditionsOf(status.conditions);
    secondary = conditionsOf(deprecated.conditions);
    infrastructureProvisioned = init.infrastructureProvisioned === true;
    controlPlaneInitialized = init.controlPlaneInitialized === true;
    failureMessage = str(deprecated.failureMessage);
  } else {
    primary = conditionsOf(status.conditions);
    secondary = conditionsOf(isDict(status.v1beta2) ? status.v1beta2.conditions : undefined);
    infrastructureProvisioned = status.infrastructureReady === true;
    // A v1beta1 control plane that is Ready is initialized; `ControlPlaneInitialized` says so earlier.
    controlPlaneInitialized = status.controlPlaneReady === true;
    failureMessage = str(status.failureMessage);
  }
  const all = [...primary, ...secondary];
  infrastructureProvisioned ||= conditionTrue(all, 'InfrastructureReady');
  controlPlaneInitialized ||= conditionTrue(all, 'ControlPlaneInitialized');
  const conditions = primary.length > 0 ? primary : secondary;
  return {
    apiVersion,
    namespace: str(metadata.namespace) ?? '',
    name: str(metadata.name) ?? '',
    uid: str(metadata.uid) ?? '',
    resourceVersion: str(metadata.resourceVersion) ?? '',
    labels,
    paused: spec.paused === true || annotations[CAPI_PAUSED_ANNOTATION] !== undefined,
    deleting: str(metadata.deletionTimestamp) !== undefined,
    phase: str(status.phase) ?? null,
    infrastructureProvisioned,
    controlPlaneInitialized,
    conditions,
    failureMessage: clip(failureMessage) ?? null,
  };
}

/** Whether gitfleet may connect to the cluster yet, and if not, why. */
export type CapiReadiness =
  | { readonly ready: true }
  | { readonly ready: false; readonly reason: string; readonly message: string };

/**
 * A Cluster joins the fleet once it is `Provisioned` and its control plane is
 * initialized (the gate Sveltos uses); a v1beta2 Cluster has no `Ready`
 * condition, so kstatus-style readiness cannot be used.
 */
export function capiReadiness(view: CapiClusterView): CapiReadiness {
  if (view.deleting) {
    return { ready: false, reason: 'Deleting', message: 'the Cluster is being deleted' };
  }
  if (view.phase !== 'Provisioned') {
    return {
      ready: false,
      reason: 'NotProvisioned',
      message: `the Cluster is in phase ${view.phase ?? '(none)'}, waiting for Provisioned`,
    };
  }
  if (!view.controlPlaneInitialized) {
    return {
      ready: false,
      reason: 'ControlPlaneNotInitialized',
      message: 'waiting for the control plane to be initialized',
    };
  }
  return { ready: true };
}

/** The Cluster's labels that are valid gitfleet labels; the others are named so a log can say why. */
export function registrableLabels(labels: Readonly<Record<string, string>>): {
  labels: Record<string, string>;
  dropped: string[];
} {
  const out: Record<string, string> = {};
  const dropped: string[] = [];
  for (const [k, v] of Object.entries(labels)) {
    if (labelProblems({ [k]: v }).length === 0) {
      out[k] = v;
    } else {
      dropped.push(k);
    }
  }
  return { labels: out, dropped };
}

/** gitfleet's name for a discovered cluster: CAPI names are unique per namespace only. */
export function registryNameOf(namespace: string, name: string): string {
  return `${namespace}.${name}`;
}
