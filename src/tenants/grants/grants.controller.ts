import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from 'src/common/auth/access.decorator';
import { Audited, AuditContext } from 'src/modules/events/audit.decorator';
import { ApiErrorResponses } from 'src/common/api/api-errors';
import { PageQueryDto } from 'src/common/api/page-query.dto';
import {
  CreateGrantDto,
  GrantDto,
  GrantListDto,
  GrantParamsDto,
  GrantTenantParamsDto,
  UpdateGrantDto,
} from './grant.dto';
import { GrantsService } from './grants.service';
import type { GrantInput } from './grant.types';
import { toGrantDto } from './grants.mapper';

const GRANT_FIELDS = [
  'tenant',
  'namespaces',
  'serviceAccountName',
  'allowClusterScoped',
  'clusterScopedKinds',
];
/** `allowClusterScoped` may only be false (validated), which grants nothing: not passed on. */
const grantInputOf = (body: UpdateGrantDto): Partial<GrantInput> => ({
  ...(body.namespaces !== undefined ? { namespaces: body.namespaces } : {}),
  ...(body.serviceAccountName !== undefined ? { serviceAccountName: body.serviceAccountName } : {}),
  ...(body.clusterScopedKinds !== undefined
    ? { clusterScopedKinds: body.clusterScopedKinds }
    : body.allowClusterScoped === false
      ? { clusterScopedKinds: [] }
      : {}),
});
const grantName = (ctx: AuditContext): string | undefined => {
  const tenant = ctx.params.tenant ?? (ctx.body as { tenant?: string } | undefined)?.tenant;
  return tenant === undefined ? undefined : `${ctx.params.cluster}/${tenant}`;
};
const grantTenant = (ctx: AuditContext): string | undefined =>
  (ctx.result as GrantDto | undefined)?.tenantId;

@ApiTags('grants')
@ApiBearerAuth()
@Controller('clusters/:cluster/grants')
@Access({ kind: 'admin' })
export class GrantsController {
  constructor(private readonly grants: GrantsService) {}

  @Post()
  @ApiOperation({ summary: 'Grant a tenant namespaces on this cluster' })
  @ApiErrorResponses({
    400: 'ValidationFailed, UnknownTenant',
    404: 'ClusterNotFound',
    409: 'GrantExists, TenantDeleting',
  })
  @Audited({
    action: 'grant.create',
    objectKind: 'Grant',
    objectName: grantName,
    tenantId: grantTenant,
    changes: GRANT_FIELDS,
  })
  async create(@Param() p: GrantParamsDto, @Body() body: CreateGrantDto): Promise<GrantDto> {
    return toGrantDto(
      await this.grants.create(p.cluster, body.tenant, {
        ...grantInputOf(body),
        namespaces: body.namespaces,
      }),
    );
  }

  @Get()
  @ApiOperation({ summary: 'List the grants on this cluster by tenant name' })
  @ApiErrorResponses({ 400: 'ValidationFailed', 404: 'ClusterNotFound' })
  async list(@Param() p: GrantParamsDto, @Query() q: PageQueryDto): Promise<GrantListDto> {
    const page = await this.grants.listForCluster(p.cluster, {
      limit: q.limit,
      continue: q.continue,
    });
    return {
      items: page.items.map(toGrantDto),
      ...(page.continue ? { continue: page.continue } : {}),
    };
  }

  @Get(':tenant')
  @ApiOperation({ summary: "Get a tenant's grant on this cluster" })
  @ApiErrorResponses({ 400: 'ValidationFailed', 404: 'ClusterNotFound, GrantNotFound' })
  async get(@Param() p: GrantTenantParamsDto): Promise<GrantDto> {
    return toGrantDto(await this.grants.get(p.cluster, p.tenant));
  }

  @Patch(':tenant')
  @ApiOperation({ summary: "Update a tenant's grant on this cluster" })
  @ApiErrorResponses({
    400: 'ValidationFailed',
    404: 'ClusterNotFound, GrantNotFound',
    409: 'TenantDeleting',
  })
  @Audited({
    action: 'grant.update',
    objectKind: 'Grant',
    objectName: grantName,
    tenantId: grantTenant,
    changes: GRANT_FIELDS,
  })
  async update(@Param() p: GrantTenantParamsDto, @Body() body: UpdateGrantDto): Promise<GrantDto> {
    return toGrantDto(await this.grants.update(p.cluster, p.tenant, grantInputOf(body)));
  }

  @Delete(':tenant')
  @HttpCode(204)
  @ApiOperation({ summary: "Revoke a tenant's grant on this cluster" })
  @ApiErrorResponses({ 400: 'ValidationFailed', 404: 'ClusterNotFound, GrantNotFound' })
  @Audited({ action: 'grant.delete', objectKind: 'Grant', objectName: grantName })
  async delete(@Param() p: GrantTenantParamsDto): Promise<void> {
    await this.grants.delete(p.cluster, p.tenant);
  }
}
