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
import { ClusterEntity } from 'src/clusters/entities/cluster.entity';
import { TenantEntity } from './tenant.entity';

/** A tenant's right to deploy into named namespaces of a cluster, as a service account. */
@Entity({ name: 'grant' })
@Unique('UQ_grant_tenant_cluster', ['tenantId', 'clusterId'])
@Index('IDX_grant_cluster', ['clusterId'])
@Check('CK_grant_namespaces_not_empty', `cardinality("namespaces") >= 1`)
export class GrantEntity {
  @PrimaryColumn({
    type: 'uuid',
    primaryKeyConstraintName: 'PK_grant',
  })
  id!: string;

  @Column({ type: 'uuid', name: 'tenant_id' })
  tenantId!: string;

  // Deleting a tenant with grants is refused unless the API call cascades explicitly.
  @ManyToOne(() => TenantEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'FK_grant_tenant' })
  tenant?: TenantEntity;

  @Column({ type: 'uuid', name: 'cluster_id' })
  clusterId!: string;

  @ManyToOne(() => ClusterEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'cluster_id', foreignKeyConstraintName: 'FK_grant_cluster' })
  cluster?: ClusterEntity;

  @Column({ type: 'text', array: true })
  namespaces!: string[];

  @Column({ type: 'text', name: 'service_account_name' })
  serviceAccountName!: string;

  /** `group/Kind` of each cluster-scoped kind allowed; empty: none. */
  @Column({ type: 'text', array: true, name: 'cluster_scoped_kinds', default: () => "'{}'" })
  clusterScopedKinds!: string[];

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;
}
