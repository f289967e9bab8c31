import { ApiProperty } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
} from 'class-validator';
import { DNS_SUBDOMAIN_PATTERN } from 'src/clusters/dto/cluster.dto';
import { DNS_LABEL_PATTERN } from 'src/tenants/dto/tenant.dto';
import { PageDto } from 'src/common/api/page.dto';

export class UpdateGrantDto {
  /** Namespace names (DNS-1123 labels), at least one. */
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  @MaxLength(63, { each: true })
  @Matches(DNS_LABEL_PATTERN, { each: true, message: 'each namespace must be a DNS-1123 label' })
  namespaces?: string[];

  /** Service account the tenant's objects are applied as; default `gitfleet-<tenant>`. */
  @IsOptional()
  @IsString()
  @MaxLength(253)
  @Matches(DNS_SUBDOMAIN_PATTERN, { message: 'serviceAccountName must be a DNS-1123 subdomain' })
  serviceAccountName?: string;

  /** May create cluster-scoped kinds (default false). */
  @IsOptional()
  @IsBoolean()
  allowClusterScoped?: boolean;
}

export class CreateGrantDto extends UpdateGrantDto {
  /** Tenant name. */
  @IsString()
  @MaxLength(63)
  @Matches(DNS_LABEL_PATTERN, { message: 'tenant must be a DNS-1123 label' })
  tenant!: string;

  /** Namespace names (DNS-1123 labels), at least one. */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  @MaxLength(63, { each: true })
  @Matches(DNS_LABEL_PATTERN, { each: true, message: 'each namespace must be a DNS-1123 label' })
  declare namespaces: string[];
}

export class GrantDto {
  id!: string;
  cluster!: string;
  tenant!: string;
  tenantId!: string;
  namespaces!: string[];
  serviceAccountName!: string;
  allowClusterScoped!: boolean;
  createdAt!: Date;
  updatedAt!: Date;
}

export class GrantListDto extends PageDto {
  @ApiProperty({ type: [GrantDto] })
  items!: GrantDto[];
}

export class GrantParamsDto {
  @IsString()
  @MaxLength(253)
  @Matches(DNS_SUBDOMAIN_PATTERN, { message: 'cluster must be a DNS-1123 subdomain' })
  cluster!: string;
}

export class GrantTenantParamsDto extends GrantParamsDto {
  @IsString()
  @MaxLength(63)
  @Matches(DNS_LABEL_PATTERN, { message: 'tenant must be a DNS-1123 label' })
  tenant!: string;
}
