import type { Condition } from 'src/common/conditions/conditions';
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
import { TenantEntity } from 'src/tenants/entities/tenant.entity';

export const CLUSTER_SOURCES = ['manual', 'capi'] as const;
export type ClusterSource = (typeof CLUSTER_SOURCES)[number];

/** A Kubernetes-style condition (`Ready`, `Reachable`). */
/** A cluster's condition, set through the one setter in `common/conditions`. */
export type ClusterCondition = Condition<'Ready' | 'Reachable'>;

/** A workload cluster: endpoint, labels, encrypted credentials, health. */
@Entity({ name: 'cluster' })
@Unique('UQ_cluster_name', ['name'])
@Index('IDX_cluster_owner_tenant', ['ownerTenantId'])
// GIN index for label selectors; TypeORM cannot express its method, so it is not synchronized.
@Index('IDX_cluster_labels', { synchronize: false })
@Check('CK_cluster_source', `"source" IN ('manual', 'capi')`)
export class ClusterEntity {
  @PrimaryColumn({
    type: 'uuid',
    primaryKeyConstraintName: 'PK_cluster',
  })
  id!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'jsonb', default: () => `'{}'` })
  labels!: Record<string, string>;

  /** Null: platform-shared. */
  @Column({ type: 'uuid', name: 'owner_tenant_id', nullable: true })
  ownerTenantId!: string | null;

  @ManyToOne(() => TenantEntity, { onDelete: 'RESTRICT', nullable: true })
  @JoinColumn({ name: 'owner_tenant_id', foreignKeyConstraintName: 'FK_cluster_owner_tenant' })
  ownerTenant?: TenantEntity | null;

  @Column({ type: 'text', name: 'api_server_url' })
  apiServerUrl!: string;

  @Column({ type: 'text', name: 'kubernetes_version', nullable: true })
  kubernetesVersion!: string | null;

  @Column({ type: 'text', default: 'manual' })
  source!: ClusterSource;

  /** The registration opted in to skipping TLS verification; shown on the cluster. */
  @Column({ type: 'boolean', name: 'insecure_skip_tls_verify', default: false })
  insecureSkipTlsVerify!: boolean;

  @Column({ type: 'jsonb', default: () => `'[]'` })
  conditions!: ClusterCondition[];

  @Column({ type: 'timestamptz', name: 'last_probe_time', nullable: true })
  lastProbeTime!: Date | null;

  /** Vault envelope of the vetted kubeconfig subset; associated data `cluster:<id>:kubeconfig`. */
  @Column({ type: 'text', name: 'kubeconfig_ciphertext' })
  kubeconfigCiphertext!: string;

  @Column({ type: 'text', name: 'kubeconfig_key_id' })
  kubeconfigKeyId!: string;

  /** Bumped on every credential change; client caches are keyed by it. */
  @Column({ type: 'integer', name: 'kubeconfig_version', default: 1 })
  kubeconfigVersion!: number;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;
}
