import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDate, IsIn, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { PageDto } from 'src/common/api/page.dto';
import { PageQueryDto } from 'src/common/api/page-query.dto';
import { AUDIT_OUTCOMES, type AuditOutcome } from '../entities/audit-entry.entity';

export class ListAuditQueryDto extends PageQueryDto {
  /** Principal, e.g. `admin:admin-token`. */
  @IsOptional()
  @IsString()
  @MaxLength(256)
  actor?: string;

  /** e.g. `cluster.register`. */
  @IsOptional()
  @IsString()
  @MaxLength(128)
  action?: string;

  /** Tenant, Cluster, Grant. */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  objectKind?: string;

  @IsOptional()
  @IsString()
  @MaxLength(253)
  objectName?: string;

  @IsOptional()
  @IsUUID()
  tenantId?: string;

  @IsOptional()
  @IsIn(AUDIT_OUTCOMES)
  @ApiPropertyOptional({ enum: AUDIT_OUTCOMES })
  outcome?: AuditOutcome;

  /** Entries at or after this time (RFC 3339). */
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  since?: Date;

  /** Entries before this time (RFC 3339). */
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  until?: Date;
}

export class AuditEntryDto {
  id!: string;
  time!: Date;
  actor!: string;
  action!: string;
  objectKind!: string;
  objectName!: string | null;
  tenantId!: string | null;
  requestId!: string | null;
  @ApiProperty({ enum: AUDIT_OUTCOMES })
  outcome!: AuditOutcome;
  statusCode!: number;
  errorCode!: string | null;
  /** Allow-listed fields of the change; secrets appear only as "[REDACTED]". */
  @ApiProperty({ type: 'object', additionalProperties: true })
  changes!: Record<string, unknown>;
}

export class AuditEntryListDto extends PageDto {
  @ApiProperty({ type: [AuditEntryDto] })
  items!: AuditEntryDto[];
}
