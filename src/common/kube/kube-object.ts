/**
 * A Kubernetes object as JSON: identity fields typed, the rest opaque. Shared by
 * rendering (what Git produced) and the reconciler (what the cluster holds).
 */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: KubeObjectMeta;
  [field: string]: unknown;
}

export interface KubeObjectMeta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  generation?: number;
  uid?: string;
  deletionTimestamp?: string;
  creationTimestamp?: string;
  [field: string]: unknown;
}

/** Identity of one object in one cluster. `namespace` is absent for cluster-scoped kinds. */
export interface ObjectRef {
  group: string;
  version: string;
  kind: string;
  namespace?: string;
  name: string;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

export function apiVersionOf(ref: { group: string; version: string }): string {
  return ref.group === '' ? ref.version : `${ref.group}/${ref.version}`;
}
