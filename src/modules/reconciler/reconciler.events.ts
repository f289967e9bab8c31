import { DomainEvent } from 'src/common/events/domain-event-bus';
import type { TenantRowId } from 'src/common/database/tenant-row-ids';

/**
 * A target's prune deleted (or handed over) objects that other targets on the same
 * cluster hold or render: those targets must be re-checked at once, not left Ready.
 */
export class SharedObjectsPruned extends DomainEvent {
  constructor(
    readonly clusterId: string,
    /** The disturbed targets, each id with its tenant. */
    readonly targets: readonly TenantRowId[],
  ) {
    super();
  }
}

/**
 * A target's apply was refused as if its tenant's onboarding were missing on
 * the cluster (Forbidden to its service account, or a granted namespace not
 * found): a cluster rebuilt empty looks like this. Onboarding checks the grant.
 */
export class TenantAccessRefused extends DomainEvent {
  constructor(
    readonly tenantId: string,
    readonly clusterId: string,
  ) {
    super();
  }
}

/**
 * A target recorded Ready at its release's generation, having not been so
 * before: targets on the same cluster that depend on its release may run.
 */
export class TargetBecameReady extends DomainEvent {
  constructor(
    readonly tenantId: string,
    readonly clusterId: string,
    readonly releaseName: string,
  ) {
    super();
  }
}
