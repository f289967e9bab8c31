import { ApiPropertyOptional } from '@nestjs/swagger';
import { PageDto } from 'src/common/api/page.dto';
import { ConditionDto } from 'src/common/conditions/condition.dto';

export class TargetCountsDto {
  applied!: number;
  unchanged!: number;
  pruned!: number;
  drifted!: number;
}

export class TargetDto {
  id!: string;
  release!: string;
  cluster!: string;
  ready!: string;
  conditions!: ConditionDto[];
  appliedRevision!: string | null;
  lastAttemptedRevision!: string | null;
  observedGeneration!: number;
  lastResult!: string | null;
  @ApiPropertyOptional({ type: TargetCountsDto, nullable: true })
  counts!: TargetCountsDto | null;
  lastDurationMs!: number | null;
  lastError!: string | null;
  suspended!: boolean;
  removing!: boolean;
  lastReconciledAt!: string | null;
  nextRunAt!: string;
}

export class TargetListDto extends PageDto {
  items!: TargetDto[];
}

export class InventoryEntryDto {
  group!: string;
  version!: string;
  kind!: string;
  namespace?: string;
  name!: string;
}

export class TargetInventoryDto {
  revision!: string | null;
  entries!: InventoryEntryDto[];
}

export class DriftedObjectDto {
  object!: string;
  fields!: string[];
}

export class TargetRunDto {
  startedAt!: string;
  durationMs!: number;
  revision!: string | null;
  result!: string;
  reason!: string;
  message!: string;
  @ApiPropertyOptional({ type: TargetCountsDto, nullable: true })
  counts!: TargetCountsDto | null;
  drift!: DriftedObjectDto[];
}

export class TargetHistoryDto {
  items!: TargetRunDto[];
}

export class AcceptedDto {
  /** What was done, e.g. "reconcile requested". */
  status!: string;
  targets!: number;
}
