import { ApiProperty, OmitType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, ValidateNested } from 'class-validator';
import { RegisterClusterDto } from 'src/clusters/dto/cluster.dto';
import { RoleBindingDto } from 'src/tenants/dto/tenant.dto';

/**
 * A cluster a tenant registers itself: the owner is the tenant from the path,
 * never a body field; skipping TLS verification is not offered to tenants.
 */
export class TenantClusterRegistrationDto extends OmitType(RegisterClusterDto, [
  'ownerTenant',
  'source',
  'insecureSkipTlsVerify',
] as const) {}

export class RoleBindingsDto {
  /** Replaces all role bindings of the tenant. */
  @IsArray()
  @ArrayMaxSize(500)
  @ValidateNested({ each: true })
  @Type(() => RoleBindingDto)
  @ApiProperty({ type: [RoleBindingDto] })
  roleBindings!: RoleBindingDto[];
}
