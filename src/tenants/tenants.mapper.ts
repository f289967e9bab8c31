import type { TenantDto } from './dto/tenant.dto';
import type { Tenant } from './tenant.types';

export function toTenantDto(t: Tenant): TenantDto {
  return {
    id: t.id,
    name: t.name,
    displayName: t.displayName,
    description: t.description,
    roleBindings: t.roleBindings.map((b) => ({ ...b })),
    allowClusterRegistration: t.allowClusterRegistration,
    quotas: { ...t.quotas },
    status: t.deletionRequestedAt === null ? 'active' : 'deleting',
    deletionRequestedAt: t.deletionRequestedAt,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
  };
}
