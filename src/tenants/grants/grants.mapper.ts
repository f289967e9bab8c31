import type { GrantDto } from './grant.dto';
import type { Grant } from './grant.types';

export function toGrantDto(g: Grant): GrantDto {
  return {
    id: g.id,
    cluster: g.clusterName,
    tenant: g.tenantName,
    tenantId: g.tenantId,
    namespaces: [...g.namespaces],
    serviceAccountName: g.serviceAccountName,
    clusterScopedKinds: [...g.clusterScopedKinds],
    allowClusterScoped: g.clusterScopedKinds.length > 0,
    createdAt: g.createdAt,
    updatedAt: g.updatedAt,
  };
}
