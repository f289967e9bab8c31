import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

export class ListEventsQueryDto {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @IsOptional()
  @IsString()
  continue?: string;

  @IsOptional()
  @IsIn(['Target', 'Release', 'Source', 'Cluster'])
  objectKind?: string;

  @IsOptional()
  @IsString()
  @MaxLength(300)
  objectName?: string;

  @IsOptional()
  @Matches(/^[A-Z][A-Za-z]{1,63}$/)
  reason?: string;
}

export class EventDto {
  id!: string;
  objectKind!: string;
  objectName!: string;
  severity!: string;
  reason!: string;
  message!: string;
  revision!: string | null;
  metadata!: Record<string, unknown>;
  time!: string;
}

export class EventListDto {
  items!: EventDto[];
  continue?: string;
}
