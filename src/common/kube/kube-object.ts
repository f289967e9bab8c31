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
