import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
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
import {
  BOUNDED_DNS_LABEL_PATTERN as DNS_LABEL,
  BOUNDED_DNS_SUBDOMAIN_PATTERN as DNS_SUBDOMAIN,
} from 'src/common/validation/names';

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

export class ReleaseHelmTestDto {
  /** Run the test hooks (default false: they never run). */
  @IsOptional()
  @IsBoolean()
  enable?: boolean;

  /** A failed test is reported in the Ready message instead of failing the release (TestFailed). */
  @IsOptional()
  @IsBoolean()
  ignoreFailures?: boolean;
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

  /**
   * Flux HelmRelease `spec.test`: with `enable`, the chart's Helm test hooks run after each
   * install or upgrade (once per applied render), after every other hook and health wait.
   */
  @IsOptional()
  @ValidateNested()
  @Type(() => ReleaseHelmTestDto)
  test?: ReleaseHelmTestDto;
}

/** A ConfigMap or Secret whose data keys become variables (Flux's substituteFrom). */
export class SubstituteReferenceDto {
  @IsIn(['ConfigMap', 'Secret'])
  kind!: 'ConfigMap' | 'Secret';

  /** Read in the workload cluster, in the release's target namespace, as the grant's service account. */
  @Matches(DNS_SUBDOMAIN)
  name!: string;

  /** A missing object is skipped instead of failing the run (default false). */
  @IsOptional()
  @IsBoolean()
  optional?: boolean;
}

/**
 * Flux Kustomization `spec.postBuild`: `${var}` substitution, off unless set.
 * `{}` substitutes the built-ins only.
 */
export class PostBuildDto {
  /** Inline variables; they win over substituteFrom. Built-in names are reserved. */
  @IsOptional()
  @IsObject()
  substitute?: Record<string, string>;

  /** Read in order; a later object's keys override an earlier one's. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(32)
  @ValidateNested({ each: true })
  @Type(() => SubstituteReferenceDto)
  substituteFrom?: SubstituteReferenceDto[];
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

/** Flux `healthCheckExprs`: CEL health for objects of one apiVersion/kind. */
export class HealthCheckExprDto {
  @IsString()
  @IsNotEmpty()
  apiVersion!: string;

  @IsString()
  @IsNotEmpty()
  kind!: string;

  /** CEL, true when the object is ready (required). */
  @IsString()
  current!: string;

  /** CEL, true while the object is still being reconciled (checked first). */
  @IsOptional()
  @IsString()
  inProgress?: string;

  /** CEL, true when the object failed (checked after inProgress, before current). */
  @IsOptional()
  @IsString()
  failed?: string;
}

/** kustomize's patch selector (Flux `spec.patches[].target`); every field optional. */
export class KustomizePatchTargetDto {
  @IsOptional()
  @IsString()
  @MaxLength(253)
  group?: string;

  @IsOptional()
  @IsString()
  @MaxLength(63)
  version?: string;

  @IsOptional()
  @IsString()
  @MaxLength(63)
  kind?: string;

  /** A regular expression, as in kustomize. */
  @IsOptional()
  @IsString()
  @MaxLength(253)
  name?: string;

  @IsOptional()
  @IsString()
  @MaxLength(253)
  namespace?: string;

  @IsOptional()
  @IsString()
  @MaxLength(1024)
  labelSelector?: string;

  @IsOptional()
  @IsString()
  @MaxLength(1024)
  annotationSelector?: string;
}

/** Flux `spec.patches` entry: a strategic-merge patch or a JSON 6902 list, as YAML or JSON text. */
export class KustomizePatchDto {
  @IsString()
  patch!: string;

  /** Objects to patch; required for a JSON 6902 patch, optional for a strategic-merge one. */
  @IsOptional()
  @ValidateNested()
  @Type(() => KustomizePatchTargetDto)
  target?: KustomizePatchTargetDto;
}

/** Flux `spec.images` entry: kustomize's image override. */
export class KustomizeImageDto {
  /** The image name as written in the manifests (without tag). */
  @IsString()
  @MaxLength(512)
  name!: string;

  @IsOptional()
  @IsString()
  @MaxLength(512)
  newName?: string;

  @IsOptional()
  @IsString()
  @MaxLength(128)
  newTag?: string;

  /** Wins over newTag when both are given, as in kustomize. */
  @IsOptional()
  @IsString()
  @MaxLength(256)
  digest?: string;
}

/** Flux `spec.commonMetadata`: set on every object's own metadata, never on selectors. */
export class KustomizeCommonMetadataDto {
  @IsOptional()
  @IsObject()
  labels?: Record<string, string>;

  @IsOptional()
  @IsObject()
  annotations?: Record<string, string>;
}

/**
 * The Kustomize fields of a Flux Kustomization spec, with their names and meaning.
 * Written into the path's kustomization file (one listing the path's manifests is
 * generated when it has none) before kustomize builds it; commonMetadata is set on
 * every rendered object afterwards. Plain and Kustomize paths only.
 */
export class ReleaseKustomizeDto {
  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => KustomizePatchDto)
  patches?: KustomizePatchDto[];

  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => KustomizeImageDto)
  images?: KustomizeImageDto[];

  @IsOptional()
  @IsString()
  namePrefix?: string;

  @IsOptional()
  @IsString()
  nameSuffix?: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => KustomizeCommonMetadataDto)
  commonMetadata?: KustomizeCommonMetadataDto;

  /** Kustomize components, relative to the release path; they must stay inside the source. */
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  components?: string[];
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

  /** Omit to detect from the path: a kustomization file means kustomize, else a Chart.yaml means helm, else plain. */
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

  /**
   * Also delete CustomResourceDefinitions that left the desired set (default false:
   * kept, as Helm keeps a chart's CRDs). Even then a CRD stays while custom resources
   * of it remain that this release does not own.
   */
  @IsOptional()
  @IsBoolean()
  pruneCustomResourceDefinitions?: boolean;

  /**
   * Taking over objects that already exist: `IfUnowned` (default) unless another
   * release on the cluster owns them, `Always` even then, `Never` only objects this
   * release created. A refused object is left untouched and the target shows `Conflict`.
   */
  @IsOptional()
  @IsIn(['IfUnowned', 'Always', 'Never'])
  adopt?: 'IfUnowned' | 'Always' | 'Never';

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

  /** Custom health per apiVersion/kind (CEL); the first entry for a group/kind wins. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(64)
  @ValidateNested({ each: true })
  @Type(() => HealthCheckExprDto)
  healthCheckExprs?: HealthCheckExprDto[];

  /**
   * Deprecated: use `postBuild.substitute`. A non-empty map is stored as
   * `postBuild: { substitute: ... }`; refused together with `postBuild`.
   */
  @ApiPropertyOptional({ deprecated: true })
  @IsOptional()
  @IsObject()
  variables?: Record<string, string>;

  /**
   * `${var}` substitution as Flux's Kustomization `spec.postBuild`. Omitted: manifests
   * (plain, Kustomize and Helm output) are applied literally.
   */
  @IsOptional()
  @ValidateNested()
  @Type(() => PostBuildDto)
  postBuild?: PostBuildDto;

  /**
   * Kustomize overlay as Flux's Kustomization spec: patches, images, namePrefix,
   * nameSuffix, commonMetadata, components. Refused for Helm releases.
   */
  @IsOptional()
  @ValidateNested()
  @Type(() => ReleaseKustomizeDto)
  kustomize?: ReleaseKustomizeDto;
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
  pruneCustomResourceDefinitions!: boolean;
  @ApiProperty({ enum: ['IfUnowned', 'Always', 'Never'] })
  adopt!: 'IfUnowned' | 'Always' | 'Never';
  wait!: boolean;
  allowEmpty!: boolean;
  force!: boolean;
  suspend!: boolean;
  dependsOn!: string[];
  healthChecks!: HealthCheckRefDto[];
  healthCheckExprs!: HealthCheckExprDto[];
  /** Deprecated mirror of `postBuild.substitute` (empty without a postBuild). */
  @ApiProperty({ deprecated: true })
  variables!: Record<string, string>;
  postBuild!: PostBuildDto | null;
  kustomize!: ReleaseKustomizeDto | null;
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
