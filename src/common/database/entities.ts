import { CapiClusterEntity } from 'src/clusters/capi/entities/capi-cluster.entity';
import { ClusterEntity } from 'src/clusters/entities/cluster.entity';
import { AuditEntryEntity } from 'src/modules/events/entities/audit-entry.entity';
import { EventEntity } from 'src/modules/events/entities/event.entity';
import { TenantApiTokenEntity } from 'src/modules/identity/api-tokens/entities/tenant-api-token.entity';
import { SourceEntity } from 'src/modules/sources/entities/source.entity';
import { GrantEntity } from 'src/tenants/entities/grant.entity';
import { TenantRoleBindingEntity } from 'src/tenants/entities/tenant-role-binding.entity';
import { TenantEntity } from 'src/tenants/entities/tenant.entity';
import { ReleaseEntity } from 'src/modules/releases/entities/release.entity';
import { TargetRunEntity } from 'src/modules/releases/entities/target-run.entity';
import { TargetEntity } from 'src/modules/releases/entities/target.entity';
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
  EventEntity,
  SourceEntity,
  ReleaseEntity,
  TargetEntity,
  TargetRunEntity,
  CapiClusterEntity,
  TenantApiTokenEntity,
];
