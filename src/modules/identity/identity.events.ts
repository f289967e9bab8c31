import { DomainEvent } from 'src/common/events/domain-event-bus';

/**
 * Onboarding found a tenant's objects missing or drifted on a cluster and
 * applied them (`applied` of them): what the tenant's targets there were
 * refused for may be in place now.
 */
export class GrantOnboarded extends DomainEvent {
  constructor(
    readonly tenantId: string,
    readonly clusterId: string,
    readonly applied: number,
  ) {
    super();
  }
}
