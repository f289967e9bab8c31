import { CreateLeases1764240000000 } from './1764240000000-CreateLeases';
import { CreateTenantsClustersGrants1764250000000 } from './1764250000000-CreateTenantsClustersGrants';
import { CreateAuditEntries1764250001000 } from './1764250001000-CreateAuditEntries';
import { CreateTenantApiTokens1764280000000 } from './1764280000000-CreateTenantApiTokens';
import { CreateCapiClusters1764290000000 } from './1764290000000-CreateCapiClusters';

/** Applied in this order. Never edit a landed migration; add a new one. */
export const MIGRATIONS = [
  CreateLeases1764240000000,
  CreateTenantsClustersGrants1764250000000,
  CreateAuditEntries1764250001000,
  CreateTenantApiTokens1764280000000,
  CreateCapiClusters1764290000000,
];
