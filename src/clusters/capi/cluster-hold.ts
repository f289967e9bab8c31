import type { Cluster } from 'src/clusters/cluster.types';

export interface ClusterHold {
  readonly reason: 'ClusterPaused' | 'ClusterDeleting';
  readonly message: string;
}

/**
 * Whether the reconcile engine must leave a cluster alone: its Cluster API
 * object is being deleted (the cluster is going away: no apply, no prune) or
 * paused (`spec.paused` or the paused annotation).
 */
export function clusterHold(cluster: Pick<Cluster, 'capi'>): ClusterHold | undefined {
  const capi = cluster.capi;
  if (capi === null) {
    return undefined;
  }
  const ref = `${capi.namespace}/${capi.name}`;
  if (capi.deleting) {
    return {
      reason: 'ClusterDeleting',
      message: `the Cluster API Cluster ${ref} is being deleted: nothing is applied or pruned`,
    };
  }
  if (capi.paused) {
    return {
      reason: 'ClusterPaused',
      message: `the Cluster API Cluster ${ref} is paused: nothing is applied or pruned until it resumes`,
    };
  }
  return undefined;
}
