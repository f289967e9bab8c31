import type { CapiClusterRecord } from './capi-cluster.repository';
import type { CapiClusterDto } from './dto/capi.dto';

export function toCapiClusterDto(r: CapiClusterRecord): CapiClusterDto {
  return {
    namespace: r.namespace,
    name: r.name,
    uid: r.uid,
    apiVersion: r.apiVersion,
    phase: r.phase,
    controlPlaneInitialized: r.controlPlaneInitialized,
    paused: r.paused,
    deleting: r.deleting,
    conditions: r.conditions.map((c) => ({ ...c })),
    cluster: r.clusterName,
    registration: r.registration === null ? null : { ...r.registration },
  };
}
