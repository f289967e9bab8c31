import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { PageDto } from 'src/common/api/page.dto';
import { PageQueryDto } from 'src/common/api/page-query.dto';

export class ListEventsQueryDto extends PageQueryDto {
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

export class EventListDto extends PageDto {
  items!: EventDto[];
}
