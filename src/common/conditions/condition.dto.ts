import { ApiProperty } from '@nestjs/swagger';

/** A status condition (Flux/Kubernetes shape), of a target, a source or a cluster. */
export class ConditionDto {
  @ApiProperty({
    description:
      '`Ready`, `Reconciling`, `Stalled` (targets), `FetchFailed` (sources), `Reachable` (clusters).',
  })
  type!: string;
  @ApiProperty({ enum: ['True', 'False', 'Unknown'] })
  status!: string;
  /** PascalCase reason, e.g. `ReconciliationSucceeded`, `AuthenticationFailed`. */
  reason!: string;
  message!: string;
  lastTransitionTime!: string;
}
