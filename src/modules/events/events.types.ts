// Plain domain types of events, for the contexts that record them (entities stay here).

export type EventSeverity = 'info' | 'error';

/** An event to record; the id and, unless given, the time are assigned on insert. */
export interface NewEvent {
  /** Null for platform events (a shared cluster going unreachable). */
  tenantId: string | null;
  /** Target, Release, Source, Cluster. */
  objectKind: string;
  /** e.g. `web/prod-eu` for a target, the name otherwise. */
  objectName: string;
  severity: EventSeverity;
  /** PascalCase, e.g. ReconciliationSucceeded, DriftCorrected, HealthCheckFailed. */
  reason: string;
  message: string;
  revision: string | null;
  /** Small structured details (counts, drifted field paths); never secret values. */
  metadata?: Record<string, unknown>;
  occurredAt?: Date;
}
