import { DomainEvent } from 'src/common/events/domain-event-bus';

/**
 * A source's artifact moved to a new revision (stored in the database before
 * it is published). Published only by the replica that fetched; other
 * replicas learn of the revision from the database.
 */
export class SourceRevisionChanged extends DomainEvent {
  constructor(
    readonly tenantId: string,
    readonly sourceId: string,
    readonly sourceName: string,
    /** `main@sha1:<commit>`. */
    readonly revision: string,
    /** Read-only directory of the artifact in this replica's cache. */
    readonly artifactDir: string,
    /** `sha256:<hex>` of the artifact content. */
    readonly digest: string,
    /** Revision before this one; null on the first successful fetch. */
    readonly previousRevision: string | null,
  ) {
    super();
  }
}
