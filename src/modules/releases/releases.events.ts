import { DomainEvent } from 'src/common/events/domain-event-bus';

/** `changed` covers the spec and suspension; `deleted` is the deletion request (targets prune first). */
export type ReleaseChange = 'created' | 'changed' | 'deleted';

export class ReleaseChanged extends DomainEvent {
  constructor(
    readonly tenantId: string,
    readonly releaseId: string,
    readonly change: ReleaseChange,
  ) {
    super();
  }
}
