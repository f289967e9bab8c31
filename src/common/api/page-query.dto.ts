import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from './pagination';

/** `limit` and `continue` of every list; list queries extend it with their filters. */
export class PageQueryDto {
  /** Page size. */
  // Optional for clients: the default applies when it is left out.
  @ApiPropertyOptional()
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_LIMIT)
  limit: number = DEFAULT_PAGE_LIMIT;

  /** Token from the previous page's `continue`; repeat the same filters. */
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  continue?: string;
}
