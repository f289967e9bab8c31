import { Column, CreateDateColumn, Entity, PrimaryColumn, Unique, UpdateDateColumn } from 'typeorm';

/** A team: owns sources, releases and optionally clusters; members come from OIDC. */
@Entity({ name: 'tenant' })
@Unique('UQ_tenant_name', ['name'])
export class TenantEntity {
  @PrimaryColumn({
    type: 'uuid',
    primaryKeyConstraintName: 'PK_tenant',
  })
  id!: string;

  /** DNS-1123 label, unique, immutable. */
  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text', name: 'display_name', default: '' })
  displayName!: string;

  @Column({ type: 'text', default: '' })
  description!: string;

  @Column({ type: 'boolean', name: 'allow_cluster_registration', default: false })
  allowClusterRegistration!: boolean;

  /** Null: no limit. */
  @Column({ type: 'integer', name: 'max_clusters', nullable: true })
  maxClusters!: number | null;

  @Column({ type: 'integer', name: 'max_releases', nullable: true })
  maxReleases!: number | null;

  /** Set by a cascading DELETE: the tenant's releases prune, its grants offboard, then the row goes. */
  @Column({ type: 'timestamptz', name: 'deletion_requested_at', nullable: true })
  deletionRequestedAt!: Date | null;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;
}
