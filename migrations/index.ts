import { CreateLeases1764240000000 } from './1764240000000-CreateLeases';
import { CreateTenantsClustersGrants1764250000000 } from './1764250000000-CreateTenantsClustersGrants';
import { CreateAuditEntries1764250001000 } from './1764250001000-CreateAuditEntries';
import { CreateSources1764260000000 } from './1764260000000-CreateSources';
import { CreateReleasesTargets1764270000000 } from './1764270000000-CreateReleasesTargets';
import { CreateEvents1764270001000 } from './1764270001000-CreateEvents';
import { CreateTenantApiTokens1764280000000 } from './1764280000000-CreateTenantApiTokens';
import { CreateCapiClusters1764290000000 } from './1764290000000-CreateCapiClusters';
import { AddTenantDeletionRequestedAt1764300000000 } from './1764300000000-AddTenantDeletionRequestedAt';
import { AddTargetReconcileRequests1764310000000 } from './1764310000000-AddTargetReconcileRequests';
import { AddReleasePostBuild1764400000000 } from './1764400000000-AddReleasePostBuild';
import { AddReleaseHealthCheckExprs1764440000000 } from './1764440000000-AddReleaseHealthCheckExprs';
import { AddPruneSafetyAndAdoption1764450000000 } from './1764450000000-AddPruneSafetyAndAdoption';
import { AddReleaseKustomize1764460000000 } from './1764460000000-AddReleaseKustomize';
import { ReplaceGrantAllowClusterScoped1764430000000 } from './1764430000000-ReplaceGrantAllowClusterScoped';

/** Applied in this order. Never edit a landed migration; add a new one. */
export const MIGRATIONS = [
  CreateLeases1764240000000,
  CreateTenantsClustersGrants1764250000000,
  CreateAuditEntries1764250001000,
  CreateSources1764260000000,
  CreateReleasesTargets1764270000000,
  CreateEvents1764270001000,
  CreateTenantApiTokens1764280000000,
  CreateCapiClusters1764290000000,
  AddTenantDeletionRequestedAt1764300000000,
  AddTargetReconcileRequests1764310000000,
  AddReleasePostBuild1764400000000,
  AddReleaseHealthCheckExprs1764440000000,
  AddPruneSafetyAndAdoption1764450000000,
  ReplaceGrantAllowClusterScoped1764430000000,
  AddReleaseKustomize1764460000000,
];
