import { CapiClusterEntity } from 'src/clusters/capi/entities/capi-cluster.entity';
import { ClusterEntity } from 'src/clusters/entities/cluster.entity';
import { AuditEntryEntity } from 'src/modules/events/entities/audit-entry.entity';
import { TenantApiTokenEntity } from 'src/modules/identity/api-tokens/entities/tenant-api-token.entity';
import { GrantEntity } from 'src/tenants/entities/grant.entity';
import { TenantRoleBindingEntity } from 'src/tenants/entities/tenant-role-binding.entity';
import { TenantEntity } from 'src/tenants/entities/tenant.entity';
import { LeaseEntity } from './lease.entity';

/**
 * Every TypeORM entity of the application. The migration drift check and the
 * test databases use this list, so an entity missing here is caught in CI.
 */
export const ENTITIES = [
  LeaseEntity,
  TenantEntity,
  TenantRoleBindingEntity,
  ClusterEntity,
  GrantEntity,
  AuditEntryEntity,
  TenantApiTokenEntity,
  CapiClusterEntity,
];
