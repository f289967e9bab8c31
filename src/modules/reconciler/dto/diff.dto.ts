import { IsOptional, IsString } from 'class-validator';

export class DiffQueryDto {
  /** Only this cluster's target. */
  @IsOptional()
  @IsString()
  cluster?: string;
}

export class PlannedChangeDto {
  object!: string;
  /** create, update, unchanged or prune. */
  action!: string;
  /** Field paths that would change; values are never shown. */
  fields!: string[];
}

export class TargetDiffDto {
  cluster!: string;
  revision!: string | null;
  changes!: PlannedChangeDto[];
  /** Set when the target could not be planned (cluster unreachable, render failed). */
  error?: string;
}

export class ReleaseDiffDto {
  items!: TargetDiffDto[];
}
