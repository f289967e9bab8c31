import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  Unique,
  UpdateDateColumn,
} from 'typeorm';
import { SourceEntity } from 'src/modules/sources/entities/source.entity';
import { TenantEntity } from 'src/tenants/entities/tenant.entity';

export type ReleaseKind = 'plain' | 'kustomize' | 'helm';

/** Kubernetes-style label selector over cluster labels. */
export interface ClusterSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }[];
}

export interface ReleaseHelmSpec {
  /** Chart name in a helm source, or a chart directory / .tgz path inside a git source. */
  chart: string;
  /** Semver range for charts from a helm source. */
  version?: string;
  releaseName?: string;
  valuesFiles?: string[];
  values?: Record<string, unknown>;
}

/** An extra health check on an object the release does not apply itself. */
export interface ReleaseHealthCheck {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/**
 * What to deploy and where. Spec fields bump `generation`; targets record the
 * generation they last reconciled, like Kubernetes' observedGeneration.
 */
@Entity({ name: 'release' })
@Unique('UQ_release_tenant_name', ['tenantId', 'name'])
@Index('IDX_release_source', ['sourceId'])
export class ReleaseEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'PK_release' })
  id!: string;

  @Column({ type: 'uuid', name: 'tenant_id' })
  tenantId!: string;

  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'FK_release_tenant' })
  tenant?: TenantEntity;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'uuid', name: 'source_id' })
  sourceId!: string;

  // A source still used by releases cannot be deleted.
  @ManyToOne(() => SourceEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'source_id', foreignKeyConstraintName: 'FK_release_source' })
  source?: SourceEntity;

  @Column({ type: 'text', default: '' })
  path!: string;

  /** Null: detected from the path (kustomization file → kustomize, else plain). */
  @Column({ type: 'text', nullable: true })
  kind!: ReleaseKind | null;

  @Column({ type: 'jsonb', nullable: true })
  helm!: ReleaseHelmSpec | null;

  @Column({ type: 'jsonb', name: 'cluster_selector', nullable: true })
  clusterSelector!: ClusterSelector | null;

  @Column({ type: 'text', array: true, name: 'cluster_names', nullable: true })
  clusterNames!: string[] | null;

  @Column({ type: 'text', name: 'target_namespace' })
  targetNamespace!: string;

  @Column({ type: 'integer', name: 'interval_seconds' })
  intervalSeconds!: number;

  @Column({ type: 'integer', name: 'retry_interval_seconds' })
  retryIntervalSeconds!: number;

  @Column({ type: 'integer', name: 'timeout_seconds' })
  timeoutSeconds!: number;

  @Column({ type: 'boolean', default: true })
  prune!: boolean;

  @Column({ type: 'boolean', default: true })
  wait!: boolean;

  @Column({ type: 'boolean', name: 'allow_empty', default: false })
  allowEmpty!: boolean;

  @Column({ type: 'boolean', default: false })
  force!: boolean;

  @Column({ type: 'boolean', default: false })
  suspended!: boolean;

  @Column({ type: 'text', array: true, name: 'depends_on', default: () => "'{}'" })
  dependsOn!: string[];

  @Column({ type: 'jsonb', name: 'health_checks', default: () => "'[]'" })
  healthChecks!: ReleaseHealthCheck[];

  @Column({ type: 'jsonb', default: () => "'{}'" })
  variables!: Record<string, string>;

  @Column({ type: 'integer', default: 1 })
  generation!: number;

  /** Set by DELETE: targets prune what they applied, then the row goes. */
  @Column({ type: 'timestamptz', name: 'deletion_requested_at', nullable: true })
  deletionRequestedAt!: Date | null;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;
}
