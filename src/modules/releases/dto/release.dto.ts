import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { PageDto } from 'src/common/api/page.dto';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN =
  /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export class LabelSelectorRequirementDto {
  @IsString()
  @MaxLength(317)
  key!: string;

  @IsIn(['In', 'NotIn', 'Exists', 'DoesNotExist'])
  operator!: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(64)
  @IsString({ each: true })
  values?: string[];
}

export class ClusterSelectorDto {
  /** Every label must match exactly. */
  @IsOptional()
  @IsObject()
  matchLabels?: Record<string, string>;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(32)
  @ValidateNested({ each: true })
  @Type(() => LabelSelectorRequirementDto)
  matchExpressions?: LabelSelectorRequirementDto[];
}

export class ReleaseHelmDto {
  /** Chart name in a helm source, or a chart directory or .tgz inside a git source. */
  @IsString()
  @MaxLength(512)
  chart!: string;

  /** Semver range of the chart version (helm sources). */
  @IsOptional()
  @IsString()
  @MaxLength(128)
  version?: string;

  @IsOptional()
  @Matches(DNS_LABEL)
  @MaxLength(53)
  releaseName?: string;

  /**
   * Values files, merged in order after the chart's defaults and before inline `values`
   * (as `helm template -f`). Paths inside the source for git sources; paths inside the
   * chart (e.g. `values-prod.yaml` shipped with it) for a chart of a Helm repository source.
   */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(16)
  @IsString({ each: true })
  valuesFiles?: string[];

  /** Inline values, merged last. */
  @IsOptional()
  @IsObject()
  values?: Record<string, unknown>;
}

export class HealthCheckRefDto {
  @IsString()
  apiVersion!: string;

  @IsString()
  kind!: string;

  @Matches(DNS_SUBDOMAIN)
  name!: string;

  @IsOptional()
  @Matches(DNS_LABEL)
  namespace?: string;
}

/** Fields shared by create and update. */
export class ReleaseSpecDto {
  /** Name of a source of the same tenant. */
  @Matches(DNS_LABEL)
  source!: string;

  /** Directory inside the source's artifact. */
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  path?: string;

  /** Omit to detect from the path: a kustomization file means kustomize, else plain. */
  @IsOptional()
  @IsIn(['plain', 'kustomize', 'helm'])
  kind?: 'plain' | 'kustomize' | 'helm';

  @IsOptional()
  @ValidateNested()
  @Type(() => ReleaseHelmDto)
  helm?: ReleaseHelmDto;

  /** Clusters by label; intersected with the clusters the tenant holds grants on. */
  @IsOptional()
  @ValidateNested()
  @Type(() => ClusterSelectorDto)
  clusterSelector?: ClusterSelectorDto;

  /** Clusters by name, instead of a selector. */
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @Matches(DNS_SUBDOMAIN, { each: true })
  clusterNames?: string[];

  /** Namespace for namespaced objects that do not name one. */
  @Matches(DNS_LABEL)
  targetNamespace!: string;

  @IsOptional()
  @IsInt()
  @Min(10)
  @Max(86_400)
  intervalSeconds?: number;

  @IsOptional()
  @IsInt()
  @Min(5)
  @Max(86_400)
  retryIntervalSeconds?: number;

  @IsOptional()
  @IsInt()
  @Min(5)
  @Max(3_600)
  timeoutSeconds?: number;

  /** Delete objects that left the desired set (default true). */
  @IsOptional()
  @IsBoolean()
  prune?: boolean;

  /** Wait for applied objects to become healthy (default true). */
  @IsOptional()
  @IsBoolean()
  wait?: boolean;

  /** Allow a render with zero objects to prune everything (default false). */
  @IsOptional()
  @IsBoolean()
  allowEmpty?: boolean;

  /** Recreate objects whose immutable fields changed (default false). */
  @IsOptional()
  @IsBoolean()
  force?: boolean;

  @IsOptional()
  @IsBoolean()
  suspend?: boolean;

  /** Other releases of the tenant that must be Ready on a cluster first. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(32)
  @Matches(DNS_LABEL, { each: true })
  dependsOn?: string[];

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(64)
  @ValidateNested({ each: true })
  @Type(() => HealthCheckRefDto)
  healthChecks?: HealthCheckRefDto[];

  /** `${name}` substitutions; built-ins (cluster_name, cluster_label_*, target_namespace, tenant) win. */
  @IsOptional()
  @IsObject()
  variables?: Record<string, string>;
}

export class CreateReleaseDto extends ReleaseSpecDto {
  @Matches(DNS_LABEL)
  name!: string;
}

export class UpdateReleaseDto extends ReleaseSpecDto {}

export class ReleaseTargetsSummaryDto {
  total!: number;
  ready!: number;
}

export class ReleaseDto {
  @ApiProperty()
  name!: string;
  tenant!: string;
  source!: string;
  path!: string;
  @ApiPropertyOptional({ enum: ['plain', 'kustomize', 'helm'], nullable: true })
  kind!: 'plain' | 'kustomize' | 'helm' | null;
  helm!: ReleaseHelmDto | null;
  clusterSelector!: ClusterSelectorDto | null;
  clusterNames!: string[] | null;
  targetNamespace!: string;
  intervalSeconds!: number;
  retryIntervalSeconds!: number;
  timeoutSeconds!: number;
  prune!: boolean;
  wait!: boolean;
  allowEmpty!: boolean;
  force!: boolean;
  suspend!: boolean;
  dependsOn!: string[];
  healthChecks!: HealthCheckRefDto[];
  variables!: Record<string, string>;
  generation!: number;
  /** Set while the release's targets prune before it disappears. */
  deletionRequestedAt!: string | null;
  /** e.g. 97 of 100 targets Ready. */
  targets!: ReleaseTargetsSummaryDto;
  createdAt!: string;
  updatedAt!: string;
}

export class ReleaseListDto extends PageDto {
  items!: ReleaseDto[];
}
