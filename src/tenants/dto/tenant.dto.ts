import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { PageDto } from 'src/common/api/page.dto';
import {
  SUBJECT_KINDS,
  type SubjectKind,
  TENANT_ROLES,
  type TenantRole,
} from '../entities/tenant-role-binding.entity';
import { DNS_LABEL_PATTERN } from 'src/common/validation/names';

export class RoleBindingDto {
  @IsIn(SUBJECT_KINDS)
  @ApiProperty({ enum: SUBJECT_KINDS })
  subjectKind!: SubjectKind;

  /** OIDC group name, or user subject. */
  @IsString()
  @MinLength(1)
  @MaxLength(256)
  subject!: string;

  @IsIn(TENANT_ROLES)
  @ApiProperty({ enum: TENANT_ROLES })
  role!: TenantRole;
}

export class TenantQuotasDto {
  /** Maximum clusters the tenant may own; null or absent: unlimited. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100_000)
  @ApiPropertyOptional({ nullable: true, type: Number })
  maxClusters?: number | null;

  /** Maximum releases; null or absent: unlimited. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  @ApiPropertyOptional({ nullable: true, type: Number })
  maxReleases?: number | null;
}

export class UpdateTenantDto {
  @IsOptional()
  @IsString()
  @MaxLength(256)
  displayName?: string;

  @IsOptional()
  @IsString()
  @MaxLength(4096)
  description?: string;

  /** Replaces all role bindings. */
  @IsOptional()
  @ArrayMaxSize(500)
  @ValidateNested({ each: true })
  @Type(() => RoleBindingDto)
  roleBindings?: RoleBindingDto[];

  /** Tenant members may register their own clusters (self-service). */
  @IsOptional()
  @IsBoolean()
  allowClusterRegistration?: boolean;

  @IsOptional()
  @ValidateNested()
  @Type(() => TenantQuotasDto)
  quotas?: TenantQuotasDto;
}

export class CreateTenantDto extends UpdateTenantDto {
  /** DNS-1123 label (lower case letters, digits, `-`; at most 63), unique and immutable. */
  @IsString()
  @MaxLength(63)
  @Matches(DNS_LABEL_PATTERN, {
    message:
      'name must be a DNS-1123 label: lower case letters, digits and -, starting and ending with a letter or digit',
  })
  name!: string;
}

export class TenantQuotasViewDto {
  @ApiProperty({ nullable: true, type: Number })
  maxClusters!: number | null;
  @ApiProperty({ nullable: true, type: Number })
  maxReleases!: number | null;
}

export const TENANT_STATUSES = ['active', 'deleting'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

export class TenantDto {
  id!: string;
  name!: string;
  displayName!: string;
  description!: string;
  @ApiProperty({ type: [RoleBindingDto] })
  roleBindings!: RoleBindingDto[];
  allowClusterRegistration!: boolean;
  quotas!: TenantQuotasViewDto;
  /**
   * `deleting` after `DELETE ?cascade=true`, until the tenant's releases are
   * pruned and its grants offboarded from the workload clusters; then the
   * tenant is gone (404). A deleting tenant accepts no new releases or grants.
   */
  @ApiProperty({ enum: TENANT_STATUSES })
  status!: TenantStatus;
  /** When the cascading delete was requested; null while active. */
  @ApiProperty({ nullable: true, type: Date })
  deletionRequestedAt!: Date | null;
  createdAt!: Date;
  updatedAt!: Date;
}

export class TenantListDto extends PageDto {
  @ApiProperty({ type: [TenantDto] })
  items!: TenantDto[];
}

export class DeleteTenantQueryDto {
  /**
   * Delete everything the tenant owns too, in the workload clusters first:
   * releases are pruned as when deleted one by one, grants offboarded (the
   * service account and bindings gitfleet created; namespaces stay), then
   * sources, the clusters the tenant owns and the tenant itself go.
   */
  @IsOptional()
  @Transform(({ value }) => value === true || value === 'true')
  @IsBoolean()
  cascade: boolean = false;
}

export class TenantNameParamDto {
  @IsString()
  @MaxLength(63)
  @Matches(DNS_LABEL_PATTERN, { message: 'name must be a DNS-1123 label' })
  name!: string;
}
