import {
  Check,
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

import type {
  ClusterSelector,
  Release,
  ReleaseHealthCheck,
  ReleaseHealthCheckExpr,
  ReleaseHelmSpec,
  ReleaseKind,
  AdoptionPolicy,
  ReleasePostBuild,
  ReleaseKustomize,
} from '../releases.types';

export type { ClusterSelector, ReleaseHealthCheck, ReleaseHelmSpec, ReleaseKind };
export type { ReleaseHealthCheckExpr };

/**
 * What to deploy and where. Spec fields bump `generation`; targets record the
 * generation they last reconciled, like Kubernetes' observedGeneration.
 */
@Entity({ name: 'release' })
@Unique('UQ_release_tenant_name', ['tenantId', 'name'])
@Index('IDX_release_source', ['sourceId'])
@Check('CK_release_adopt', `"adopt" IN ('IfUnowned', 'Always', 'Never')`)
export class ReleaseEntity implements Release {
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

  @Column({ type: 'boolean', name: 'prune_custom_resource_definitions', default: false })
  pruneCustomResourceDefinitions!: boolean;

  @Column({ type: 'text', default: 'IfUnowned' })
  adopt!: AdoptionPolicy;

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

  @Column({ type: 'jsonb', name: 'health_check_exprs', default: () => "'[]'" })
  healthCheckExprs!: ReleaseHealthCheckExpr[];

  @Column({ type: 'jsonb', default: () => "'{}'" })
  /** Flux-style postBuild; null: manifests are applied literally. */
  @Column({ type: 'jsonb', name: 'post_build', nullable: true })
  postBuild!: ReleasePostBuild | null;

  /** Flux-style Kustomize overlay; null: the path renders as it is. */
  @Column({ type: 'jsonb', nullable: true })
  kustomize!: ReleaseKustomize | null;

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
