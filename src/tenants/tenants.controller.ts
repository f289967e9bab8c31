import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiNoContentResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { Access } from 'src/common/auth/access.decorator';
import { Audited } from 'src/modules/events/audit.decorator';
import { ApiErrorResponses } from 'src/common/api/api-errors';
import { PageQueryDto } from 'src/common/api/page-query.dto';
import {
  CreateTenantDto,
  DeleteTenantQueryDto,
  TenantDto,
  TenantListDto,
  TenantNameParamDto,
  UpdateTenantDto,
} from './dto/tenant.dto';
import type { Tenant } from './tenant.types';
import { TenantsService } from './tenants.service';
import { toTenantDto } from './tenants.mapper';

const TENANT_FIELDS = [
  'name',
  'displayName',
  'description',
  'roleBindings',
  'allowClusterRegistration',
  'quotas',
];
const tenantIdOf = (ctx: { result: unknown }): string | undefined =>
  (ctx.result as Tenant | undefined)?.id;

@ApiTags('tenants')
@ApiBearerAuth()
@Controller('tenants')
@Access({ kind: 'admin' })
export class TenantsController {
  constructor(private readonly tenants: TenantsService) {}

  @Post()
  @ApiOperation({ summary: 'Create a tenant' })
  @ApiErrorResponses({ 400: 'ValidationFailed', 409: 'TenantNameTaken' })
  @Audited({
    action: 'tenant.create',
    objectKind: 'Tenant',
    tenantId: tenantIdOf,
    changes: TENANT_FIELDS,
  })
  async create(@Body() body: CreateTenantDto): Promise<TenantDto> {
    return toTenantDto(await this.tenants.create(body));
  }

  @Get()
  @ApiOperation({ summary: 'List tenants by name' })
  @ApiErrorResponses({ 400: 'ValidationFailed' })
  async list(@Query() q: PageQueryDto): Promise<TenantListDto> {
    const page = await this.tenants.list({ limit: q.limit, continue: q.continue });
    return {
      items: page.items.map(toTenantDto),
      ...(page.continue ? { continue: page.continue } : {}),
    };
  }

  @Get(':name')
  @Access({ kind: 'tenant', role: 'viewer', param: 'name' })
  @ApiOperation({ summary: 'Get a tenant' })
  @ApiErrorResponses({ 400: 'ValidationFailed', 404: 'TenantNotFound' })
  async get(@Param() p: TenantNameParamDto): Promise<TenantDto> {
    return toTenantDto(await this.tenants.get(p.name));
  }

  @Patch(':name')
  @ApiOperation({ summary: 'Update a tenant (role bindings are replaced when given)' })
  @ApiErrorResponses({ 400: 'ValidationFailed', 404: 'TenantNotFound' })
  @Audited({
    action: 'tenant.update',
    objectKind: 'Tenant',
    tenantId: tenantIdOf,
    changes: TENANT_FIELDS,
  })
  async update(@Param() p: TenantNameParamDto, @Body() body: UpdateTenantDto): Promise<TenantDto> {
    return toTenantDto(await this.tenants.update(p.name, body));
  }

  @Delete(':name')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Delete a tenant; refused while it owns anything unless cascade=true',
    description:
      'Without `cascade`, the tenant is deleted at once (204) and 409 TenantNotEmpty while it owns ' +
      'clusters, grants, releases or sources. With `cascade=true`, the deletion is accepted (202) ' +
      'and runs in the background: every release is deleted (its targets prune what they applied, ' +
      'as when a release is deleted), then the grants are offboarded from their workload clusters ' +
      '(service account, RoleBindings, cluster-scoped role; namespaces stay), then the sources, the ' +
      'clusters the tenant owns and the tenant go. Until then the tenant shows `status: deleting`; ' +
      'an unreachable cluster keeps it there, retried, until the cluster answers or is deleted from ' +
      'the registry. Repeating the request is harmless.',
  })
  @ApiNoContentResponse({ description: 'Deleted (without cascade)' })
  @ApiAcceptedResponse({
    type: TenantDto,
    description: 'cascade=true: deletion started; the tenant, now `deleting`',
  })
  @ApiErrorResponses({ 400: 'ValidationFailed', 404: 'TenantNotFound', 409: 'TenantNotEmpty' })
  @Audited({
    action: 'tenant.delete',
    objectKind: 'Tenant',
    tenantId: tenantIdOf,
    queryChanges: ['cascade'],
  })
  async delete(
    @Param() p: TenantNameParamDto,
    @Query() q: DeleteTenantQueryDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TenantDto | undefined> {
    const tenant = await this.tenants.delete(p.name, { cascade: q.cascade });
    if (!q.cascade) {
      return undefined;
    }
    res.status(202);
    return toTenantDto(tenant);
  }
}
