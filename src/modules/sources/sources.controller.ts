import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { Access } from 'src/common/auth/access.decorator';
import { Audited } from 'src/modules/events/audit.decorator';
import {
  CreateSourceDto,
  RefreshAcceptedDto,
  SourceDto,
  SourceListDto,
  SourceParamsDto,
  UpdateSourceDto,
} from 'src/modules/sources/dto/source.dto';
import {
  newSourceFromDto,
  sourcePatchFromDto,
  toSourceDto,
} from 'src/modules/sources/source.mapper';
import { SourcesService } from 'src/modules/sources/sources.service';
import { type TenantScope, TenantScopePipe } from 'src/common/api/tenant-scope.pipe';
import { ApiErrorResponses } from 'src/common/api/api-errors';
import { PageQueryDto } from 'src/common/api/page-query.dto';

const SPEC_FIELDS = [
  'name',
  'kind',
  'url',
  'reference',
  'intervalSeconds',
  'timeoutSeconds',
  'ignore',
  'suspend',
];
const AUDIT = { objectKind: 'Source', redacted: ['credentials'], changes: SPEC_FIELDS } as const;

/** A tenant's sources. The tenant comes from the path; unknown tenants and sources are 404. */
@ApiTags('sources')
@ApiBearerAuth()
@ApiParam({ name: 'tenant', description: 'Tenant name' })
@Controller('tenants/:tenant/sources')
@Access({ kind: 'tenant', role: 'viewer' })
export class SourcesController {
  constructor(private readonly sources: SourcesService) {}

  @Access({ kind: 'tenant', role: 'editor' })
  @Post()
  @ApiOperation({ summary: 'Create a source' })
  @ApiErrorResponses({
    400: 'ValidationFailed, InvalidSource',
    404: 'TenantNotFound',
    409: 'SourceNameTaken',
  })
  @Audited({ action: 'source.create', ...AUDIT })
  async create(
    @Param('tenant', TenantScopePipe) tenant: TenantScope,
    @Body() body: CreateSourceDto,
  ): Promise<SourceDto> {
    return toSourceDto(await this.sources.create(tenant.id, newSourceFromDto(body)), tenant.name);
  }

  @Get()
  @ApiOperation({ summary: 'List sources, ordered by name' })
  @ApiErrorResponses({ 400: 'ValidationFailed', 404: 'TenantNotFound' })
  async list(
    @Param('tenant', TenantScopePipe) tenant: TenantScope,
    @Query() query: PageQueryDto,
  ): Promise<SourceListDto> {
    const page = await this.sources.list(tenant.id, query);
    return {
      items: page.items.map((s) => toSourceDto(s, tenant.name)),
      ...(page.continue === undefined ? {} : { continue: page.continue }),
    };
  }

  @Get(':name')
  @ApiOperation({ summary: 'Get a source with its status' })
  @ApiErrorResponses({ 404: 'TenantNotFound, SourceNotFound' })
  async get(
    @Param('tenant', TenantScopePipe) tenant: TenantScope,
    @Param() params: SourceParamsDto,
  ): Promise<SourceDto> {
    return toSourceDto(await this.sources.get(tenant.id, params.name), tenant.name);
  }

  @Access({ kind: 'tenant', role: 'editor' })
  @Patch(':name')
  @ApiOperation({ summary: 'Change a source; a fetch of the new spec starts at once' })
  @ApiErrorResponses({
    400: 'ValidationFailed, InvalidSource',
    404: 'TenantNotFound, SourceNotFound',
  })
  @Audited({ action: 'source.update', ...AUDIT })
  async update(
    @Param('tenant', TenantScopePipe) tenant: TenantScope,
    @Param() params: SourceParamsDto,
    @Body() body: UpdateSourceDto,
  ): Promise<SourceDto> {
    return toSourceDto(
      await this.sources.update(tenant.id, params.name, sourcePatchFromDto(body)),
      tenant.name,
    );
  }

  @Access({ kind: 'tenant', role: 'editor' })
  @Delete(':name')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a source' })
  @ApiErrorResponses({ 404: 'TenantNotFound, SourceNotFound' })
  @Audited({ action: 'source.delete', ...AUDIT })
  async delete(
    @Param('tenant', TenantScopePipe) tenant: TenantScope,
    @Param() params: SourceParamsDto,
  ): Promise<void> {
    await this.sources.delete(tenant.id, params.name);
  }

  @Access({ kind: 'tenant', role: 'editor' })
  @Post(':name/refresh')
  @HttpCode(202)
  @ApiOperation({ summary: 'Fetch the source now (asynchronously)' })
  @ApiErrorResponses({ 404: 'TenantNotFound, SourceNotFound', 409: 'SourceSuspended' })
  async refresh(
    @Param('tenant', TenantScopePipe) tenant: TenantScope,
    @Param() params: SourceParamsDto,
  ): Promise<RefreshAcceptedDto> {
    const source = await this.sources.refresh(tenant.id, params.name);
    return { accepted: true, revision: source.status.revision };
  }

  @Access({ kind: 'tenant', role: 'editor' })
  @Post(':name/suspend')
  @HttpCode(200)
  @ApiOperation({ summary: 'Stop fetching the source' })
  @ApiErrorResponses({ 404: 'TenantNotFound, SourceNotFound' })
  @Audited({ action: 'source.suspend', ...AUDIT })
  async suspend(
    @Param('tenant', TenantScopePipe) tenant: TenantScope,
    @Param() params: SourceParamsDto,
  ): Promise<SourceDto> {
    return toSourceDto(await this.sources.setSuspended(tenant.id, params.name, true), tenant.name);
  }

  @Access({ kind: 'tenant', role: 'editor' })
  @Post(':name/resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'Resume fetching the source (a fetch starts at once)' })
  @ApiErrorResponses({ 404: 'TenantNotFound, SourceNotFound' })
  @Audited({ action: 'source.resume', ...AUDIT })
  async resume(
    @Param('tenant', TenantScopePipe) tenant: TenantScope,
    @Param() params: SourceParamsDto,
  ): Promise<SourceDto> {
    return toSourceDto(await this.sources.setSuspended(tenant.id, params.name, false), tenant.name);
  }
}
