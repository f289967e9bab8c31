import type { Cluster } from './cluster.types';
import type { ClusterDto } from './dto/cluster.dto';

/** The API view of a cluster: never its kubeconfig, only the version of its credentials. */
export function toClusterDto(c: Cluster): ClusterDto {
  return {
    id: c.id,
    name: c.name,
    labels: { ...c.labels },
    ownerTenant: c.ownerTenantName,
    ownerTenantId: c.ownerTenantId,
    apiServerUrl: c.apiServerUrl,
    kubernetesVersion: c.kubernetesVersion,
    source: c.source,
    insecureSkipTlsVerify: c.insecureSkipTlsVerify,
    conditions: c.conditions.map((x) => ({ ...x })),
    lastProbeTime: c.lastProbeTime,
    credentialsVersion: c.kubeconfigVersion,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    capi:
      c.capi === null ? null : { ...c.capi, conditions: c.capi.conditions.map((x) => ({ ...x })) },
  };
}
