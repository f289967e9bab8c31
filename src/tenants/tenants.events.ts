import { DomainEvent } from 'src/common/events/domain-event-bus';

/** A cascading delete of the tenant was requested (it is marked; its clean-up may start). */
export class TenantDeletionRequested extends DomainEvent {
  constructor(readonly tenantId: string) {
    super();
  }
}

/** The last step of a cascading delete removed the tenant and the clusters it owned. */
export class TenantDeleted extends DomainEvent {
  constructor(
    readonly tenantId: string,
    readonly deletedClusters: readonly { readonly id: string; readonly name: string }[],
  ) {
    super();
  }
}
