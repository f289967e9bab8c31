import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches } from 'class-validator';
import { ApiErrorResponses } from 'src/common/api/api-errors';
import { PageQueryDto } from 'src/common/api/page-query.dto';
import { Access } from 'src/common/auth/access.decorator';
import { Audited } from 'src/modules/events/audit.decorator';
import { CreateReleaseDto, ReleaseDto, ReleaseListDto, UpdateReleaseDto } from './dto/release.dto';
import {
  AcceptedDto,
  TargetDto,
  TargetHistoryDto,
  TargetInventoryDto,
  TargetListDto,
} from './dto/target.dto';
import { ReleasesService } from './releases.service';
import { TargetsService } from './targets.service';
import { toReleaseDto, toTargetDto } from './releases.mapper';
import { BOUNDED_DNS_LABEL_PATTERN as DNS_LABEL } from 'src/common/validation/names';

export class TargetQueryDto extends PageQueryDto {
  @IsOptional()
  @Matches(DNS_LABEL)
  release?: string;

  @IsOptional()
  @IsString()
  cluster?: string;

  @IsOptional()
  @IsIn(['True', 'False', 'Unknown'])
  ready?: 'True' | 'False' | 'Unknown';
}

const RELEASE_FIELDS = [
  'source',
  'path',
  'kind',
  'clusterSelector',
  'clusterNames',
  'targetNamespace',
  'prune',
  'suspend',
];

@ApiTags('releases')
@ApiBearerAuth()
@Controller('tenants/:tenant')
@Access({ kind: 'tenant', role: 'viewer' })
export class ReleasesController {
  constructor(
    private readonly releases: ReleasesService,
    private readonly targets: TargetsService,
  ) {}

  @Access({ kind: 'tenant', role: 'editor' })
  @Post('releases')
  @ApiOperation({
    summary: 'Create a release; its targets are created for the selected, granted clusters',
  })
  @Audited({
    action: 'release.create',
    objectKind: 'Release',
    changes: ['name', ...RELEASE_FIELDS],
  })
  async create(
    @Param('tenant') tenant: string,
    @Body() body: CreateReleaseDto,
  ): Promise<ReleaseDto> {
    return toReleaseDto(await this.releases.create(tenant, body));
  }

  @Get('releases')
  @ApiOperation({ summary: 'List releases with their target readiness' })
  async list(@Param('tenant') tenant: string, @Query() q: PageQueryDto): Promise<ReleaseListDto> {
    const page = await this.releases.list(tenant, q.limit, q.continue);
    return { items: page.items.map(toReleaseDto), continue: page.continue };
  }

  @Get('releases/:name')
  @ApiOperation({ summary: 'Get a release' })
  async get(@Param('tenant') tenant: string, @Param('name') name: string): Promise<ReleaseDto> {
    return toReleaseDto(await this.releases.get(tenant, name));
  }

  @Access({ kind: 'tenant', role: 'editor' })
  @Put('releases/:name')
  @ApiOperation({ summary: 'Replace a release spec' })
  @Audited({ action: 'release.update', objectKind: 'Release', changes: RELEASE_FIELDS })
  async update(
    @Param('tenant') tenant: string,
    @Param('name') name: string,
    @Body() body: UpdateReleaseDto,
  ): Promise<ReleaseDto> {
    return toReleaseDto(await this.releases.update(tenant, name, body));
  }

  @Access({ kind: 'tenant', role: 'editor' })
  @Delete('releases/:name')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Delete a release: its targets prune what they applied (if prune is on), then it is gone',
  })
  @Audited({ action: 'release.delete', objectKind: 'Release' })
  async delete(@Param('tenant') tenant: string, @Param('name') name: string): Promise<ReleaseDto> {
    return toReleaseDto(await this.releases.delete(tenant, name));
  }

  @Access({ kind: 'tenant', role: 'editor' })
  @Post('releases/:name/reconcile')
  @HttpCode(202)
  @ApiOperation({ summary: 'Reconcile every target of the release now' })
  @ApiErrorResponses({ 404: 'TenantNotFound, ReleaseNotFound', 409: 'ReleaseSuspended' })
  async reconcile(
    @Param('tenant') tenant: string,
    @Param('name') name: string,
  ): Promise<AcceptedDto> {
    return { status: 'reconcile requested', targets: await this.releases.reconcile(tenant, name) };
  }

  @Access({ kind: 'tenant', role: 'editor' })
  @Post('releases/:name/suspend')
  @ApiOperation({ summary: 'Suspend the release: no applies, no prunes until resumed' })
  @Audited({ action: 'release.suspend', objectKind: 'Release' })
  async suspend(@Param('tenant') tenant: string, @Param('name') name: string): Promise<ReleaseDto> {
    return toReleaseDto(await this.releases.setSuspended(tenant, name, true));
  }

  @Access({ kind: 'tenant', role: 'editor' })
  @Post('releases/:name/resume')
  @ApiOperation({ summary: 'Resume a suspended release' })
  @Audited({ action: 'release.resume', objectKind: 'Release' })
  async resume(@Param('tenant') tenant: string, @Param('name') name: string): Promise<ReleaseDto> {
    return toReleaseDto(await this.releases.setSuspended(tenant, name, false));
  }

  @Get('releases/:name/targets')
  @ApiOperation({ summary: "List a release's targets" })
  async releaseTargets(
    @Param('tenant') tenant: string,
    @Param('name') name: string,
    @Query() q: PageQueryDto,
  ): Promise<TargetListDto> {
    const page = await this.targets.list(tenant, { release: name }, q.limit, q.continue);
    return { items: page.items.map(toTargetDto), continue: page.continue };
  }

  @Get('targets')
  @ApiOperation({ summary: "List the tenant's targets, filtered by release, cluster or readiness" })
  async tenantTargets(
    @Param('tenant') tenant: string,
    @Query() q: TargetQueryDto,
  ): Promise<TargetListDto> {
    const page = await this.targets.list(
      tenant,
      { release: q.release, cluster: q.cluster, ready: q.ready },
      q.limit,
      q.continue,
    );
    return { items: page.items.map(toTargetDto), continue: page.continue };
  }

  @Get('releases/:name/targets/:cluster')
  @ApiOperation({ summary: 'Status of one target' })
  async target(
    @Param('tenant') tenant: string,
    @Param('name') name: string,
    @Param('cluster') cluster: string,
  ): Promise<TargetDto> {
    return toTargetDto(await this.targets.get(tenant, name, cluster));
  }

  @Get('releases/:name/targets/:cluster/inventory')
  @ApiOperation({ summary: 'Objects the target applied (references only)' })
  async inventory(
    @Param('tenant') tenant: string,
    @Param('name') name: string,
    @Param('cluster') cluster: string,
  ): Promise<TargetInventoryDto> {
    const t = await this.targets.get(tenant, name, cluster);
    return {
      revision: t.appliedRevision,
      entries: t.inventory.map(({ group, version, kind, namespace, name: n }) => ({
        group,
        version,
        kind,
        ...(namespace === undefined ? {} : { namespace }),
        name: n,
      })),
    };
  }

  @Get('releases/:name/targets/:cluster/history')
  @ApiOperation({ summary: 'The last reconcile runs of a target, newest first' })
  async history(
    @Param('tenant') tenant: string,
    @Param('name') name: string,
    @Param('cluster') cluster: string,
  ): Promise<TargetHistoryDto> {
    const runs = await this.targets.history(tenant, name, cluster);
    return {
      items: runs.map((r) => ({
        startedAt: r.startedAt.toISOString(),
        durationMs: r.durationMs,
        revision: r.revision,
        result: r.result,
        reason: r.reason,
        message: r.message,
        counts: r.counts,
        drift: r.drift,
      })),
    };
  }

  @Access({ kind: 'tenant', role: 'editor' })
  @Post('releases/:name/targets/:cluster/reconcile')
  @HttpCode(202)
  @ApiOperation({ summary: 'Reconcile one target now' })
  @ApiErrorResponses({
    404: 'TenantNotFound, ReleaseNotFound, TargetNotFound',
    409: 'ReleaseSuspended, TargetSuspended',
  })
  async reconcileTarget(
    @Param('tenant') tenant: string,
    @Param('name') name: string,
    @Param('cluster') cluster: string,
  ): Promise<AcceptedDto> {
    return {
      status: 'reconcile requested',
      targets: await this.targets.reconcile(tenant, name, cluster),
    };
  }

  @Access({ kind: 'tenant', role: 'editor' })
  @Post('releases/:name/targets/:cluster/suspend')
  @ApiOperation({ summary: 'Suspend one target' })
  @Audited({
    action: 'target.suspend',
    objectKind: 'Target',
    objectName: (c) => `${c.params.name}/${c.params.cluster}`,
  })
  async suspendTarget(
    @Param('tenant') tenant: string,
    @Param('name') name: string,
    @Param('cluster') cluster: string,
  ): Promise<TargetDto> {
    return toTargetDto(await this.targets.setSuspended(tenant, name, cluster, true));
  }

  @Access({ kind: 'tenant', role: 'editor' })
  @Post('releases/:name/targets/:cluster/resume')
  @ApiOperation({ summary: 'Resume one target' })
  @Audited({
    action: 'target.resume',
    objectKind: 'Target',
    objectName: (c) => `${c.params.name}/${c.params.cluster}`,
  })
  async resumeTarget(
    @Param('tenant') tenant: string,
    @Param('name') name: string,
    @Param('cluster') cluster: string,
  ): Promise<TargetDto> {
    return toTargetDto(await this.targets.setSuspended(tenant, name, cluster, false));
  }
}
