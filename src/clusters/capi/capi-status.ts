import type { CapiCondition } from './capi-cluster';

/** The Cluster API view of a discovered cluster, shown next to gitfleet's own conditions. */
export interface ClusterApiStatus {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly apiVersion: string;
  readonly phase: string | null;
  readonly controlPlaneInitialized: boolean;
  /** `spec.paused` or the paused annotation: gitfleet holds the cluster's targets. */
  readonly paused: boolean;
  /** The Cluster is being deleted: its targets stop, nothing is pruned. */
  readonly deleting: boolean;
  readonly conditions: readonly CapiCondition[];
}

/** Scalar sub-select for the registry's cluster queries (alias `c`); null for clusters not from Cluster API. */
export const CAPI_STATUS_SQL = `(SELECT json_build_object('namespace', cc.namespace, 'name', cc.name, 'uid', cc.uid,
    'apiVersion', cc.api_version, 'phase', cc.phase, 'controlPlaneInitialized', cc.control_plane_initialized,
    'paused', cc.paused, 'deleting', cc.deleting, 'conditions', cc.conditions)
  FROM capi_cluster cc WHERE cc.cluster_id = c.id)`;
