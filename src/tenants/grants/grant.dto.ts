import { ApiProperty } from '@nestjs/swagger';
import {
  Equals,
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
} from 'class-validator';
import { DNS_LABEL_PATTERN, DNS_SUBDOMAIN_PATTERN } from 'src/common/validation/names';
import { PageDto } from 'src/common/api/page.dto';

/** `group/Kind`, or a core `Kind`: a DNS subdomain group and a PascalCase kind. */
const CLUSTER_SCOPED_KIND_PATTERN =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Z][A-Za-z0-9]*$/;
const NAMESPACE_NOT_A_KIND =
  "clusterScopedKinds cannot hold Namespace: the namespaces a tenant may declare are the grant's namespaces";

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

  /**
   * Deprecated: only `false` is accepted (same as `clusterScopedKinds: []`). It
   * used to grant every cluster-scoped kind; list the kinds instead.
   */
  @IsOptional()
  @IsBoolean()
  @Equals(false, {
    message:
      'allowClusterScoped no longer grants every cluster-scoped kind: list the kinds the tenant may apply in clusterScopedKinds (e.g. ["rbac.authorization.k8s.io/ClusterRole"])',
  })
  allowClusterScoped?: boolean;

  /**
   * Cluster-scoped kinds the tenant may apply, as `group/Kind` (`Kind` alone for
   * the core group), e.g. `rbac.authorization.k8s.io/ClusterRole`. Namespaces are
   * granted by `namespaces`, not here. Default none.
   */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @MaxLength(317, { each: true })
  @Matches(CLUSTER_SCOPED_KIND_PATTERN, {
    each: true,
    message:
      'each clusterScopedKinds entry must be group/Kind (e.g. rbac.authorization.k8s.io/ClusterRole) or a core Kind (e.g. PersistentVolume)',
  })
  @Matches(/^(?!Namespace$)/, { each: true, message: NAMESPACE_NOT_A_KIND })
  clusterScopedKinds?: string[];
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
  /** `group/Kind` of each cluster-scoped kind the tenant may apply. */
  clusterScopedKinds!: string[];
  /** Deprecated, read-only: whether `clusterScopedKinds` is not empty. */
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
