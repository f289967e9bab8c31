import { ConditionDto } from 'src/common/conditions/condition.dto';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsBoolean,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  MinLength,
} from 'class-validator';
import { PageDto } from 'src/common/api/page.dto';
import { PageQueryDto } from 'src/common/api/page-query.dto';
import { ClusterApiStatusDto } from '../capi/dto/capi.dto';
import { CLUSTER_SOURCES, type ClusterSource } from '../entities/cluster.entity';
import { KUBECONFIG_MAX_BYTES } from '../kubeconfig/kubeconfig-sanitizer';
import { DNS_SUBDOMAIN_PATTERN } from 'src/common/validation/names';

export class KubeconfigUploadDto {
  /**
   * The kubeconfig, YAML or JSON text. Only one context is used; only
   * `server`, `certificate-authority-data`, `tls-server-name` and a `token`
   * or `client-certificate-data` + `client-key-data` are accepted. exec,
   * auth-provider, file references, impersonation, basic auth and (unless
   * configured) proxy-url are refused with 400 naming the field.
   */
  @IsString()
  @MinLength(1)
  @MaxLength(KUBECONFIG_MAX_BYTES)
  kubeconfig!: string;

  /** Context to use; default: the kubeconfig's current-context. */
  @IsOptional()
  @IsString()
  @MaxLength(253)
  context?: string;

  /** Explicit opt-in to `insecure-skip-tls-verify: true` in the kubeconfig; the cluster then shows it. */
  @IsOptional()
  @IsBoolean()
  insecureSkipTlsVerify?: boolean;
}

export class RegisterClusterDto extends KubeconfigUploadDto {
  /** DNS-1123 subdomain, unique. */
  @IsString()
  @MaxLength(253)
  @Matches(DNS_SUBDOMAIN_PATTERN, {
    message: 'name must be a DNS-1123 subdomain: lower case letters, digits, - and .',
  })
  name!: string;

  /** Kubernetes labels. */
  @IsOptional()
  @IsObject()
  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  labels?: Record<string, string>;

  /** Owner tenant name; absent: platform-shared. */
  @IsOptional()
  @IsString()
  @MaxLength(63)
  ownerTenant?: string;

  @IsOptional()
  @IsIn(CLUSTER_SOURCES)
  @ApiPropertyOptional({ enum: CLUSTER_SOURCES })
  source?: ClusterSource;
}

export class PatchClusterDto {
  /** Merge patch of labels: a string sets a label, null removes it. */
  @IsObject()
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string', nullable: true } })
  labels!: Record<string, string | null>;
}

export class ListClustersQueryDto extends PageQueryDto {
  /** Kubernetes label selector, e.g. `env=prod,tier in (a,b),!legacy`. */
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  labelSelector?: string;

  /** Owner tenant name, or `none` for platform-shared clusters. */
  @IsOptional()
  @IsString()
  @MaxLength(63)
  owner?: string;

  /** Condition filter `Type=Status`, e.g. `Ready=False`. */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  condition?: string;
}

export class ClusterNameParamDto {
  @IsString()
  @MaxLength(253)
  @Matches(DNS_SUBDOMAIN_PATTERN, { message: 'name must be a DNS-1123 subdomain' })
  name!: string;
}

/** A registered cluster. Credentials are never returned. */
export class ClusterDto {
  id!: string;
  name!: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } })
  labels!: Record<string, string>;
  /** Owner tenant name; null: platform-shared. */
  @ApiProperty({ nullable: true, type: String })
  ownerTenant!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' })
  ownerTenantId!: string | null;
  apiServerUrl!: string;
  @ApiProperty({ nullable: true, type: String })
  kubernetesVersion!: string | null;
  @ApiProperty({ enum: CLUSTER_SOURCES })
  source!: ClusterSource;
  /** TLS verification is skipped (the registration opted in). */
  insecureSkipTlsVerify!: boolean;
  @ApiProperty({ type: [ConditionDto] })
  conditions!: ConditionDto[];
  @ApiProperty({ nullable: true, type: Date })
  lastProbeTime!: Date | null;
  /** Increases whenever the kubeconfig is rotated. */
  credentialsVersion!: number;
  createdAt!: Date;
  updatedAt!: Date;
  /** Cluster API object, phase and conditions of a discovered cluster (`source: capi`); null otherwise. */
  @ApiProperty({ type: ClusterApiStatusDto, nullable: true })
  capi!: ClusterApiStatusDto | null;
}

export class ClusterListDto extends PageDto {
  @ApiProperty({ type: [ClusterDto] })
  items!: ClusterDto[];
}
