import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { Access } from 'src/common/auth/access.decorator';
import { CurrentPrincipal, CurrentTenantAccess } from 'src/common/auth/current-principal.decorator';
import type { Principal, TenantAccess } from 'src/common/auth/principal';
import { Audited } from 'src/modules/events/audit.decorator';
import { ApiErrorResponses } from 'src/common/api/api-errors';
import { TenantsService } from 'src/tenants/tenants.service';
import type { ApiToken } from './api-token.repository';
import { ApiTokensService } from './api-tokens.service';
import {
  ApiTokenDto,
  ApiTokenListDto,
  ApiTokenParamsDto,
  CreateApiTokenDto,
  CreatedApiTokenDto,
} from './dto/api-token.dto';

const toDto = (t: ApiToken): ApiTokenDto => ({
  name: t.name,
  role: t.role,
  tokenPrefix: t.tokenPrefix,
  createdBy: t.createdBy,
  createdAt: t.createdAt,
  expiresAt: t.expiresAt,
  lastUsedAt: t.lastUsedAt,
});

/** A tenant's API tokens for automation; managed by its owners. */
@ApiTags('api-tokens')
@ApiBearerAuth()
@ApiParam({ name: 'tenant', description: 'Tenant name' })
@Controller('tenants/:tenant/api-tokens')
@Access({ kind: 'tenant', role: 'owner' })
export class ApiTokensController {
  constructor(
    private readonly tokens: ApiTokensService,
    private readonly tenants: TenantsService,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Create an API token; the token is in this response only' })
  @ApiErrorResponses({
    400: 'ValidationFailed',
    403: 'Forbidden, RoleTooHigh, TokensCannotMintTokens',
    404: 'TenantNotFound',
    409: 'ApiTokenNameTaken',
  })
  @Audited({
    action: 'api-token.create',
    objectKind: 'ApiToken',
    changes: ['name', 'role', 'expiresInDays'],
  })
  async create(
    @Param('tenant') tenant: string,
    @Body() body: CreateApiTokenDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentTenantAccess() access: TenantAccess,
  ): Promise<CreatedApiTokenDto> {
    const tenantId = await this.tenants.idOf(tenant);
    const created = await this.tokens.create(tenantId, principal, access.role, body);
    return { ...toDto(created.apiToken), token: created.token };
  }

  @Get()
  @ApiOperation({ summary: 'List API tokens (never the tokens themselves)' })
  @ApiErrorResponses({ 403: 'Forbidden', 404: 'TenantNotFound' })
  async list(@Param('tenant') tenant: string): Promise<ApiTokenListDto> {
    const tenantId = await this.tenants.idOf(tenant);
    return { items: (await this.tokens.list(tenantId)).map(toDto) };
  }

  @Delete(':name')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an API token; it stops working at once' })
  @ApiErrorResponses({
    400: 'ValidationFailed',
    403: 'Forbidden',
    404: 'TenantNotFound, ApiTokenNotFound',
  })
  @Audited({ action: 'api-token.revoke', objectKind: 'ApiToken' })
  async revoke(@Param() p: ApiTokenParamsDto): Promise<void> {
    const tenantId = await this.tenants.idOf(p.tenant);
    await this.tokens.revoke(tenantId, p.name);
  }
}
