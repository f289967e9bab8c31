import { ApiProperty } from '@nestjs/swagger';

const ROLES = ['owner', 'editor', 'viewer'] as const;
const KINDS = ['admin', 'user', 'token'] as const;

export class TenantRoleDto {
  tenant!: string;
  @ApiProperty({ enum: ROLES })
  role!: 'owner' | 'editor' | 'viewer';
}

export class MeDto {
  /** `admin` (admin token), `user` (OIDC), `token` (tenant API token). */
  @ApiProperty({ enum: KINDS })
  kind!: 'admin' | 'user' | 'token';
  /** User name (OIDC), `<tenant>/<token name>` or `admin-token`. */
  name!: string;
  /** OIDC groups (empty for tokens). */
  groups!: string[];
  /** Platform admins may do everything in every tenant. */
  platformAdmin!: boolean;
  @ApiProperty({ type: [TenantRoleDto] })
  tenants!: TenantRoleDto[];
}
