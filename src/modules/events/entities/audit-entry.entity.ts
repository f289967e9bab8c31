import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';

export const AUDIT_OUTCOMES = ['success', 'failure'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/**
 * One mutating API call: who did what to which object, and how it ended.
 * No foreign keys: the trail outlives the objects it mentions. Never a secret.
 */
@Entity({ name: 'audit_entry' })
@Index('IDX_audit_entry_time', ['time', 'id'])
@Index('IDX_audit_entry_tenant_time', ['tenantId', 'time'])
@Check('CK_audit_entry_outcome', `"outcome" IN ('success', 'failure')`)
export class AuditEntryEntity {
  @PrimaryColumn({
    type: 'uuid',
    primaryKeyConstraintName: 'PK_audit_entry',
  })
  id!: string;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  time!: Date;

  /** Principal, e.g. `admin:admin-token`. */
  @Column({ type: 'text' })
  actor!: string;

  /** e.g. `cluster.register`. */
  @Column({ type: 'text' })
  action!: string;

  @Column({ type: 'text', name: 'object_kind' })
  objectKind!: string;

  @Column({ type: 'text', name: 'object_name', nullable: true })
  objectName!: string | null;

  @Column({ type: 'uuid', name: 'tenant_id', nullable: true })
  tenantId!: string | null;

  @Column({ type: 'text', name: 'request_id', nullable: true })
  requestId!: string | null;

  @Column({ type: 'text' })
  outcome!: AuditOutcome;

  /** HTTP status of the call. */
  @Column({ type: 'integer', name: 'status_code' })
  statusCode!: number;

  /** Error code on failure. */
  @Column({ type: 'text', name: 'error_code', nullable: true })
  errorCode!: string | null;

  /** Allow-listed, non-secret fields of the change. */
  @Column({ type: 'jsonb', default: () => `'{}'` })
  changes!: Record<string, unknown>;
}
