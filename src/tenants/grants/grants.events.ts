import { DomainEvent } from 'src/common/events/domain-event-bus';
import type { Grant } from './grant.types';

export type GrantChange = 'created' | 'changed' | 'deleted';

/**
 * A grant was created, changed or deleted (revoked). `grant` is the grant as
 * committed; for `deleted`, as it was (what offboarding must remove). Not
 * published when a tenant's deletion removes an already offboarded grant.
 */
export class GrantChanged extends DomainEvent {
  constructor(
    readonly change: GrantChange,
    readonly grant: Grant,
  ) {
    super();
  }

  get tenantId(): string {
    return this.grant.tenantId;
  }

  get clusterId(): string {
    return this.grant.clusterId;
  }
}
