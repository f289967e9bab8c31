import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from 'src/common/auth/access.decorator';
import { CurrentPrincipal } from 'src/common/auth/current-principal.decorator';
import { isPlatformAdmin, type Principal } from 'src/common/auth/principal';
import { ApiErrorResponses } from 'src/common/api/api-errors';
import { MeDto } from './dto/me.dto';
import { TenantAccessService } from './tenant-access.service';

@ApiTags('identity')
@ApiBearerAuth()
@Controller('me')
export class MeController {
  constructor(private readonly access: TenantAccessService) {}

  @Get()
  @Access({ kind: 'authenticated' })
  @ApiOperation({ summary: 'Who the caller is: identity, groups, tenants and roles' })
  @ApiErrorResponses({})
  async me(@CurrentPrincipal() principal: Principal): Promise<MeDto> {
    const tenants = await this.access.tenantsOf(principal);
    return {
      kind: principal.kind,
      name: principal.name,
      groups: principal.kind === 'user' ? [...principal.groups] : [],
      platformAdmin: isPlatformAdmin(principal),
      tenants: [...tenants].map(([tenant, role]) => ({ tenant, role })),
    };
  }
}
