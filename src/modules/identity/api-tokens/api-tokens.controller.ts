import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { Access } from 'src/common/auth/access.decorator';
import { CurrentPrincipal, CurrentTenantAccess } from 'src/common/auth/current-principal.decorator';
import type { Principal, TenantAccess } from 'src/common/auth/principal';
import { Audited } from 'src/modules/events/audit.decorator';
import { ApiErrorResponses } from 'src/common/api/api-errors';
import { type TenantScope, TenantScopePipe } from 'src/common/api/tenant-scope.pipe';
import { ApiTokensService } from './api-tokens.service';
import {
  ApiTokenListDto,
  ApiTokenParamsDto,
  CreateApiTokenDto,
  CreatedApiTokenDto,
} from './dto/api-token.dto';
import { toApiTokenDto } from './api-tokens.mapper';

/** A tenant's API tokens for automation; managed by its owners. */
@ApiTags('api-tokens')
@ApiBearerAuth()
// The pipe resolves the name; the document keeps describing the path segment as a string.
@ApiParam({ name: 'tenant', description: 'Tenant name', type: String })
@Controller('tenants/:tenant/api-tokens')
@Access({ kind: 'tenant', role: 'owner' })
export class ApiTokensController {
  constructor(private readonly tokens: ApiTokensService) {}

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
    @Param('tenant', TenantScopePipe) tenant: TenantScope,
    @Body() body: CreateApiTokenDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentTenantAccess() access: TenantAccess,
  ): Promise<CreatedApiTokenDto> {
    const created = await this.tokens.create(tenant.id, principal, access.role, body);
    return { ...toApiTokenDto(created.apiToken), token: created.token };
  }

  @Get()
  @ApiOperation({ summary: 'List API tokens (never the tokens themselves)' })
  @ApiErrorResponses({ 403: 'Forbidden', 404: 'TenantNotFound' })
  async list(@Param('tenant', TenantScopePipe) tenant: TenantScope): Promise<ApiTokenListDto> {
    return { items: (await this.tokens.list(tenant.id)).map(toApiTokenDto) };
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
  async revoke(
    @Param('tenant', TenantScopePipe) tenant: TenantScope,
    @Param() p: ApiTokenParamsDto,
  ): Promise<void> {
    await this.tokens.revoke(tenant.id, p.name);
  }
}
