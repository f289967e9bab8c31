import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** A Cluster API condition as the Cluster object reports it (v1beta1 or v1beta2 shape). */
export class CapiConditionDto {
  type!: string;
  @ApiProperty({ enum: ['True', 'False', 'Unknown'] })
  status!: string;
  reason?: string;
  message?: string;
  /** v1beta1 only: Error, Warning or Info. */
  severity?: string;
  lastTransitionTime?: string;
}

/** The Cluster API object a cluster was discovered from, its phase and conditions. */
export class ClusterApiStatusDto {
  /** Namespace of the Cluster object in the management cluster. */
  namespace!: string;
  name!: string;
  uid!: string;
  /** Served version the object was read in, e.g. `cluster.x-k8s.io/v1beta2`. */
  apiVersion!: string;
  /** Pending, Provisioning, Provisioned, Deleting, Failed or Unknown. */
  @ApiProperty({ nullable: true, type: String })
  phase!: string | null;
  controlPlaneInitialized!: boolean;
  /** The Cluster is paused: gitfleet holds its targets (reason `ClusterPaused`). */
  paused!: boolean;
  /** The Cluster is being deleted: its targets stop without pruning. */
  deleting!: boolean;
  @ApiProperty({ type: [CapiConditionDto] })
  conditions!: CapiConditionDto[];
}

/** Why gitfleet did or did not register a discovered Cluster. */
export class CapiRegistrationDto {
  @ApiProperty({ enum: ['True', 'False'] })
  status!: string;
  /** PascalCase, e.g. `Registered`, `KubeconfigRefused`, `KubeconfigSecretIgnored`, `NotProvisioned`. */
  reason!: string;
  message!: string;
  lastTransitionTime!: string;
}

/** A Cluster API Cluster seen in the management cluster. */
export class CapiClusterDto extends ClusterApiStatusDto {
  /** Name of the registered gitfleet cluster; null while not registered. */
  @ApiProperty({ nullable: true, type: String })
  cluster!: string | null;
  @ApiPropertyOptional({ type: CapiRegistrationDto, nullable: true })
  registration!: CapiRegistrationDto | null;
}

export class CapiClusterListDto {
  @ApiProperty({ type: [CapiClusterDto] })
  items!: CapiClusterDto[];
}
