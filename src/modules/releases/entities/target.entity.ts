import {
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  Unique,
  UpdateDateColumn,
} from 'typeorm';
import { ClusterEntity } from 'src/clusters/entities/cluster.entity';
import type {
  ConditionStatus,
  ConflictEntry,
  InventoryEntry,
  Target,
  TargetCondition,
  TargetCounts,
  TargetResult,
} from '../releases.types';
import { ReleaseEntity } from './release.entity';

export type { ConditionStatus, InventoryEntry, TargetCondition, TargetCounts, TargetResult };

/**
 * One release on one cluster: the unit of reconciliation, and its own work
 * queue entry (next run, lease owner, lease expiry, fencing token).
 */
@Entity({ name: 'target' })
@Unique('UQ_target_release_cluster', ['releaseId', 'clusterId'])
@Index('IDX_target_cluster', ['clusterId'])
// Listing pages through a tenant's targets by name without joins or sorts.
@Index('IDX_target_tenant_names', ['tenantId', 'releaseName', 'clusterName'])
@Index('IDX_target_due', ['nextRunAt'])
export class TargetEntity implements Target {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'PK_target' })
  id!: string;

  @Column({ type: 'uuid', name: 'tenant_id' })
  tenantId!: string;

  @Column({ type: 'uuid', name: 'release_id' })
  releaseId!: string;

  // Rows outlive their release only while pruning; the reconciler deletes them after.
  @ManyToOne(() => ReleaseEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'release_id', foreignKeyConstraintName: 'FK_target_release' })
  release?: ReleaseEntity;

  @Column({ type: 'uuid', name: 'cluster_id' })
  clusterId!: string;

  @ManyToOne(() => ClusterEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'cluster_id', foreignKeyConstraintName: 'FK_target_cluster' })
  cluster?: ClusterEntity;

  /** Names are immutable on both sides, so copies here stay true and make listing cheap. */
  @Column({ type: 'text', name: 'release_name' })
  releaseName!: string;

  @Column({ type: 'text', name: 'cluster_name' })
  clusterName!: string;

  /** The cluster is no longer selected: prune what was applied, then delete the row. */
  @Column({ type: 'boolean', default: false })
  removing!: boolean;

  @Column({ type: 'text', name: 'applied_revision', nullable: true })
  appliedRevision!: string | null;

  @Column({ type: 'text', name: 'last_attempted_revision', nullable: true })
  lastAttemptedRevision!: string | null;

  @Column({ type: 'integer', name: 'observed_generation', default: 0 })
  observedGeneration!: number;

  /** Release generation + revision + render digest the inventory corresponds to. */
  @Column({ type: 'text', name: 'applied_digest', nullable: true })
  appliedDigest!: string | null;

  @Column({ type: 'jsonb', default: () => "'[]'" })
  conditions!: TargetCondition[];

  /** Denormalized Ready status for filtering and counting without parsing jsonb. */
  @Column({ type: 'text', name: 'ready_status', default: 'Unknown' })
  readyStatus!: ConditionStatus;

  @Column({ type: 'text', name: 'last_result', nullable: true })
  lastResult!: TargetResult | null;

  @Column({ type: 'jsonb', nullable: true })
  counts!: TargetCounts | null;

  @Column({ type: 'integer', name: 'last_duration_ms', nullable: true })
  lastDurationMs!: number | null;

  @Column({ type: 'text', name: 'last_error', nullable: true })
  lastError!: string | null;

  @Column({ type: 'jsonb', default: () => "'[]'" })
  inventory!: InventoryEntry[];

  @Column({ type: 'jsonb', default: () => "'[]'" })
  conflicts!: ConflictEntry[];

  @Column({ type: 'boolean', default: false })
  suspended!: boolean;

  @Column({ type: 'timestamptz', name: 'last_reconciled_at', nullable: true })
  lastReconciledAt!: Date | null;

  // Work queue.
  @Column({ type: 'timestamptz', name: 'next_run_at', default: () => 'now()' })
  nextRunAt!: Date;

  /** Last reconcile request (trigger or user); one newer than the running claim re-runs it. */
  @Column({ type: 'timestamptz', name: 'reconcile_requested_at', nullable: true })
  reconcileRequestedAt!: Date | null;

  /** A user asked to reconcile now: read live state afresh, not from the shared snapshot. */
  @Column({ type: 'boolean', name: 'fresh_read_requested', default: false })
  freshReadRequested!: boolean;

  @Column({ type: 'integer', name: 'failure_count', default: 0 })
  failureCount!: number;

  @Column({ type: 'text', name: 'lease_owner', nullable: true })
  leaseOwner!: string | null;

  @Column({ type: 'timestamptz', name: 'lease_expires_at', nullable: true })
  leaseExpiresAt!: Date | null;

  @Column({ type: 'bigint', name: 'fencing_token', default: 0 })
  fencingToken!: string;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;
}
