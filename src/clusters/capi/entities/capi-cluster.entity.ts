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
import { ClusterEntity } from 'src/clusters/entities/cluster.entity';
import type { CapiCondition } from '../capi-cluster';

/** Whether gitfleet registered the Cluster, and if not, why (e.g. a refused kubeconfig Secret). */
export interface CapiRegistrationStatus {
  status: 'True' | 'False';
  /** PascalCase. */
  reason: string;
  message: string;
  lastTransitionTime: string;
}

/**
 * A Cluster API `Cluster` seen in the management cluster: its reference,
 * phase and conditions, pause and deletion, and the registered gitfleet
 * cluster (null until registered, or when it was refused).
 */
@Entity({ name: 'capi_cluster' })
@Unique('UQ_capi_cluster_ref', ['namespace', 'name'])
@Index('IDX_capi_cluster_cluster', ['clusterId'], { unique: true })
export class CapiClusterEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'PK_capi_cluster' })
  id!: string;

  @Column({ type: 'text' })
  namespace!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  uid!: string;

  @Column({ type: 'text', name: 'api_version' })
  apiVersion!: string;

  @Column({ type: 'uuid', name: 'cluster_id', nullable: true })
  clusterId!: string | null;

  // An admin deleting the registration unlinks it; the next sync registers the Cluster again.
  @ManyToOne(() => ClusterEntity, { onDelete: 'SET NULL', nullable: true })
  @JoinColumn({ name: 'cluster_id', foreignKeyConstraintName: 'FK_capi_cluster_cluster' })
  cluster?: ClusterEntity | null;

  @Column({ type: 'text', nullable: true })
  phase!: string | null;

  @Column({ type: 'jsonb', default: () => `'[]'` })
  conditions!: CapiCondition[];

  @Column({ type: 'boolean', name: 'control_plane_initialized', default: false })
  controlPlaneInitialized!: boolean;

  @Column({ type: 'boolean', default: false })
  paused!: boolean;

  @Column({ type: 'boolean', default: false })
  deleting!: boolean;

  @Column({ type: 'jsonb', nullable: true })
  registration!: CapiRegistrationStatus | null;

  /** resourceVersion of the kubeconfig Secret the registered credentials came from. */
  @Column({ type: 'text', name: 'secret_resource_version', nullable: true })
  secretResourceVersion!: string | null;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;
}
