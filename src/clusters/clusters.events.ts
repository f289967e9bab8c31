import { DomainEvent } from 'src/common/events/domain-event-bus';

/**
 * What changed about a registered cluster: `created` (registered, by an admin,
 * a tenant or Cluster API), `labels` (patched, or carried over from Cluster
 * API), `endpoint` (kubeconfig rotated), `resumed` (its Cluster API object
 * was unpaused: its targets may run again), `deleted` (its targets went with it),
 * `reachable` (it answers again after a probe found it unreachable: it may have
 * been rebuilt empty).
 */
export type ClusterChange = 'created' | 'labels' | 'endpoint' | 'resumed' | 'deleted' | 'reachable';

export class ClusterChanged extends DomainEvent {
  constructor(
    readonly clusterId: string,
    readonly clusterName: string,
    readonly change: ClusterChange,
  ) {
    super();
  }
}
