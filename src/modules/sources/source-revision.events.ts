import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Observable, Subject, Subscription } from 'rxjs';

/** A source's artifact moved to a new revision (stored in the database before it is emitted). */
export interface SourceRevisionEvent {
  readonly tenantId: string;
  readonly sourceId: string;
  readonly sourceName: string;
  /** `main@sha1:<commit>`. */
  readonly revision: string;
  /** Read-only directory of the artifact in this replica's cache. */
  readonly artifactDir: string;
  /** `sha256:<hex>` of the artifact content. */
  readonly digest: string;
  /** Revision before this one; null on the first successful fetch. */
  readonly previousRevision: string | null;
}

/**
 * In-process notifications of new source revisions, for the reconcile engine to
 * trigger the targets that use a source. Emitted only by the replica that fetched;
 * other replicas learn of the revision from the database.
 */
@Injectable()
export class SourceRevisionEvents implements OnModuleDestroy {
  private readonly logger = new Logger(SourceRevisionEvents.name);
  private readonly subject = new Subject<SourceRevisionEvent>();

  get events$(): Observable<SourceRevisionEvent> {
    return this.subject.asObservable();
  }

  /** Calls `listener` for every new revision; a throwing listener is logged, never fatal. */
  onRevision(listener: (event: SourceRevisionEvent) => void | Promise<void>): Subscription {
    return this.subject.subscribe((event) => {
      try {
        const result = listener(event);
        if (result instanceof Promise) {
          result.catch((error: unknown) => this.logListenerError(event, error));
        }
      } catch (error) {
        this.logListenerError(event, error);
      }
    });
  }

  emit(event: SourceRevisionEvent): void {
    this.subject.next(event);
  }

  onModuleDestroy(): void {
    this.subject.complete();
  }

  private logListenerError(event: SourceRevisionEvent, error: unknown): void {
    this.logger.error({
      msg: 'source revision listener failed',
      sourceId: event.sourceId,
      revision: event.revision,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}
