import { createHash } from 'node:crypto';
import { apiVersionOf, splitApiVersion } from 'src/common/kube/kube-object';
import type { KubeObject, ObjectRef, Owner } from './kube.types';

export const TENANT_LABEL = 'gitfleet.dev/tenant';
export const RELEASE_LABEL = 'gitfleet.dev/release';
/** Label or annotation `gitfleet.dev/prune: disabled` keeps an object when it leaves the set. */
export const PRUNE_KEY = 'gitfleet.dev/prune';
export const PRUNE_DISABLED = 'disabled';
export const FIELD_MANAGER = 'gitfleet';

/** `apps/v1` → `{group: 'apps', version: 'v1'}`; `v1` → core group. */
export { apiVersionOf, splitApiVersion };

export function refOf(obj: KubeObject): ObjectRef {
  const { group, version } = splitApiVersion(obj.apiVersion);
  const ref: ObjectRef = { group, version, kind: obj.kind, name: obj.metadata.name ?? '' };
  if (obj.metadata.namespace !== undefined && obj.metadata.namespace !== '') {
    ref.namespace = obj.metadata.namespace;
  }
  return ref;
}

/** Identity key of an object, independent of its API version: `group/Kind/namespace/name`. */
export function refKey(ref: ObjectRef): string {
  return `${ref.group}/${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
}

/** Human-readable reference: `Deployment/ns/web`, `apps/v1 Deployment` style without the version. */
export function refString(ref: ObjectRef): string {
  const gk = ref.group === '' ? ref.kind : `${ref.kind}.${ref.group}`;
  return ref.namespace ? `${gk}/${ref.namespace}/${ref.name}` : `${gk}/${ref.name}`;
}

export function isCrd(ref: { group: string; kind: string }): boolean {
  return ref.group === 'apiextensions.k8s.io' && ref.kind === 'CustomResourceDefinition';
}

export function isNamespace(ref: { group: string; kind: string }): boolean {
  return ref.group === '' && ref.kind === 'Namespace';
}

/** JSON with object keys sorted at every level; arrays keep their order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) {
    return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** `sha256:<hex>` of the canonical JSON of the desired object (what we send, labels included). */
export function desiredHash(obj: KubeObject): string {
  return `sha256:${createHash('sha256').update(canonicalJson(obj)).digest('hex')}`;
}

/** A deep copy with the ownership labels set (they win over manifest values). */
export function withOwnerLabels(obj: KubeObject, owner: Owner): KubeObject {
  const copy = structuredClone(obj);
  copy.metadata.labels = {
    ...(copy.metadata.labels ?? {}),
    [TENANT_LABEL]: owner.tenant,
    [RELEASE_LABEL]: owner.release,
  };
  return copy;
}

export function ownerSelector(owner: Owner): string {
  return `${TENANT_LABEL}=${owner.tenant},${RELEASE_LABEL}=${owner.release}`;
}

export function isOwnedBy(obj: KubeObject, owner: Owner): boolean {
  const labels = obj.metadata.labels ?? {};
  return labels[TENANT_LABEL] === owner.tenant && labels[RELEASE_LABEL] === owner.release;
}

export function isPruneDisabled(obj: KubeObject): boolean {
  return pruneOptOut(obj) !== undefined;
}

/** Flux's per-object opt-out: `kustomize.toolkit.fluxcd.io/prune: disabled`. */
export const FLUX_PRUNE_KEY = 'kustomize.toolkit.fluxcd.io/prune';
/** Argo CD's `argocd.argoproj.io/sync-options`, a comma list where `Prune=false` keeps the object. */
export const ARGO_SYNC_OPTIONS_KEY = 'argocd.argoproj.io/sync-options';
/** Helm's `helm.sh/resource-policy: keep`: the object outlives its release. */
export const HELM_RESOURCE_POLICY_KEY = 'helm.sh/resource-policy';

/**
 * Which "do not prune" marker the object carries, as `key: value`, or undefined.
 * gitfleet's own (label or annotation) and the annotations repositories written for
 * Flux, Argo CD and Helm already carry, read as those tools read them.
 */
export function pruneOptOut(obj: KubeObject): string | undefined {
  const labels = obj.metadata.labels ?? {};
  const annotations = obj.metadata.annotations ?? {};
  if (labels[PRUNE_KEY] === PRUNE_DISABLED || annotations[PRUNE_KEY] === PRUNE_DISABLED) {
    return `${PRUNE_KEY}: ${PRUNE_DISABLED}`;
  }
  // Flux compares the value exactly ("disabled"), as kustomize-controller's ssa utils do.
  if (annotations[FLUX_PRUNE_KEY] === PRUNE_DISABLED) {
    return `${FLUX_PRUNE_KEY}: ${PRUNE_DISABLED}`;
  }
  // Argo CD splits sync-options on commas and trims each option. `Prune=false` keeps the
  // object; `Prune=confirm` waits for a person Argo CD would ask, so it is kept too.
  const syncOption = (annotations[ARGO_SYNC_OPTIONS_KEY] ?? '')
    .split(',')
    .map((option) => option.trim())
    .find((option) => option === 'Prune=false' || option === 'Prune=confirm');
  if (syncOption !== undefined) {
    return `${ARGO_SYNC_OPTIONS_KEY}: ${syncOption}`;
  }
  // Helm keeps the object on uninstall or upgrade when the policy is exactly "keep".
  if (annotations[HELM_RESOURCE_POLICY_KEY] === 'keep') {
    return `${HELM_RESOURCE_POLICY_KEY}: keep`;
  }
  return undefined;
}

// Fields the server owns or that change without anyone changing the object's meaning.
const VOLATILE_METADATA = [
  'resourceVersion',
  'managedFields',
  'generation',
  'creationTimestamp',
  'uid',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
];

/** The comparable part of a live or dry-run object: no status, no server bookkeeping. */
export function comparable(obj: KubeObject): Record<string, unknown> {
  const copy = structuredClone(obj) as Record<string, unknown> & KubeObject;
  delete copy.status;
  for (const k of VOLATILE_METADATA) {
    delete copy.metadata[k];
  }
  return copy;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const SIMPLE_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

function fieldSegment(key: string): string {
  return SIMPLE_KEY.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

// Items of lists of objects are named by a key field when they have one (containers by name).
const ITEM_KEYS = ['name', 'type', 'containerPort', 'port', 'mountPath', 'ip', 'uid'];

function itemKey(list: readonly unknown[]): string | undefined {
  for (const k of ITEM_KEYS) {
    const seen = new Set<string>();
    const ok = list.every((it) => {
      if (!isPlainObject(it)) {
        return false;
      }
      const v = it[k];
      if (typeof v !== 'string' && typeof v !== 'number') {
        return false;
      }
      const s = String(v);
      if (seen.has(s)) {
        return false;
      }
      seen.add(s);
      return true;
    });
    if (ok && list.length > 0) {
      return k;
    }
  }
  return undefined;
}

/**
 * Paths (never values) where `b` differs from `a`: `.spec.replicas`, `.data.key`,
 * `.spec.template.spec.containers[name=web].image`, `.spec.args[2]`. At most `limit` paths.
 */
export function diffPaths(a: unknown, b: unknown, limit = 50): string[] {
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, path: string): void => {
    if (out.length >= limit) {
      return;
    }
    if (isPlainObject(x) && isPlainObject(y)) {
      const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])].sort();
      for (const k of keys) {
        walk(x[k], y[k], `${path}${fieldSegment(k)}`);
      }
      return;
    }
    if (Array.isArray(x) && Array.isArray(y)) {
      const key = itemKey(x) !== undefined && itemKey(x) === itemKey(y) ? itemKey(x) : undefined;
      if (key !== undefined) {
        const byKey = (l: readonly unknown[]): Map<string, unknown> =>
          new Map(l.map((it) => [String((it as Record<string, unknown>)[key]), it]));
        const mx = byKey(x);
        const my = byKey(y);
        for (const k of [...new Set([...mx.keys(), ...my.keys()])]) {
          walk(mx.get(k), my.get(k), `${path}[${key}=${k}]`);
        }
        return;
      }
      if (x.length !== y.length) {
        out.push(path || '.');
        return;
      }
      x.forEach((it, i) => walk(it, y[i], `${path}[${i}]`));
      return;
    }
    if (canonicalJson(x) !== canonicalJson(y)) {
      out.push(path || '.');
    }
  };
  walk(a, b, '');
  return out;
}

/** The `fieldsV1` of our Apply entry in `metadata.managedFields`, canonical, or '' when none. */
export function appliedFieldSet(obj: KubeObject, manager = FIELD_MANAGER): string {
  const mf = obj.metadata.managedFields;
  if (!Array.isArray(mf)) {
    return '';
  }
  const entry = (mf as unknown[]).find(
    (e) => isPlainObject(e) && e.manager === manager && e.operation === 'Apply',
  ) as Record<string, unknown> | undefined;
  return entry ? canonicalJson(entry.fieldsV1 ?? {}) : '';
}
