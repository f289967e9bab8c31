import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { EventSeverity } from '../events.types';

export type { EventSeverity };

/**
 * Something that happened to an object: reconciled, failed, drift corrected,
 * source revision, cluster unreachable. Stored, listed per tenant, and the
 * input of notifications.
 */
@Entity({ name: 'event' })
@Index('IDX_event_tenant_time', ['tenantId', 'occurredAt'])
@Index('IDX_event_time', ['occurredAt'])
export class EventEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'PK_event' })
  id!: string;

  /** Null for platform events (a shared cluster going unreachable). */
  @Column({ type: 'uuid', name: 'tenant_id', nullable: true })
  tenantId!: string | null;

  /** Target, Release, Source, Cluster. */
  @Column({ type: 'text', name: 'object_kind' })
  objectKind!: string;

  /** e.g. `web/prod-eu` for a target, the name otherwise. */
  @Column({ type: 'text', name: 'object_name' })
  objectName!: string;

  @Column({ type: 'text' })
  severity!: EventSeverity;

  /** PascalCase, e.g. ReconciliationSucceeded, DriftCorrected, HealthCheckFailed. */
  @Column({ type: 'text' })
  reason!: string;

  @Column({ type: 'text' })
  message!: string;

  @Column({ type: 'text', nullable: true })
  revision!: string | null;

  /** Small structured details (counts, drifted field paths); never secret values. */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  metadata!: Record<string, unknown>;

  @Column({ type: 'timestamptz', name: 'occurred_at' })
  occurredAt!: Date;
}
