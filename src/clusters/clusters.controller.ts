import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Put,
  Query,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from 'src/common/auth/access.decorator';
import { Audited } from 'src/modules/events/audit.decorator';
import { ApiErrorResponses } from 'src/common/api/api-errors';
import { toClusterDto } from './clusters.mapper';
import { ClustersService } from './clusters.service';
import {
  ClusterDto,
  ClusterListDto,
  ClusterNameParamDto,
  KubeconfigUploadDto,
  ListClustersQueryDto,
  PatchClusterDto,
  RegisterClusterDto,
} from './dto/cluster.dto';

const ownerOf = (ctx: { result: unknown }): string | null | undefined =>
  (ctx.result as ClusterDto | undefined)?.ownerTenantId;

@ApiTags('clusters')
@ApiBearerAuth()
@Controller('clusters')
@Access({ kind: 'admin' })
export class ClustersController {
  constructor(private readonly clusters: ClustersService) {}

  @Post()
  @ApiOperation({
    summary: 'Register a cluster from a kubeconfig; it is probed once before the answer',
  })
  @ApiErrorResponses({
    400: 'ValidationFailed, KubeconfigRejected, InvalidLabels, UnknownTenant',
    409: 'ClusterNameTaken, ClusterQuotaExceeded',
  })
  @Audited({
    action: 'cluster.register',
    objectKind: 'Cluster',
    tenantId: ownerOf,
    changes: ['name', 'labels', 'ownerTenant', 'context', 'insecureSkipTlsVerify', 'source'],
    redacted: ['kubeconfig'],
  })
  async register(@Body() body: RegisterClusterDto): Promise<ClusterDto> {
    return toClusterDto(await this.clusters.register(body));
  }

  @Get()
  @ApiOperation({
    summary: 'List clusters by name, filtered by label selector, owner and condition',
  })
  @ApiErrorResponses({ 400: 'ValidationFailed, InvalidClusterQuery, UnknownTenant' })
  async list(@Query() q: ListClustersQueryDto): Promise<ClusterListDto> {
    const { limit, continue: token, ...query } = q;
    const page = await this.clusters.list(query, { limit, continue: token });
    return {
      items: page.items.map(toClusterDto),
      ...(page.continue ? { continue: page.continue } : {}),
    };
  }

  @Get(':name')
  @ApiOperation({ summary: 'Get a cluster' })
  @ApiErrorResponses({ 400: 'ValidationFailed', 404: 'ClusterNotFound' })
  async get(@Param() p: ClusterNameParamDto): Promise<ClusterDto> {
    return toClusterDto(await this.clusters.get(p.name));
  }

  @Patch(':name')
  @ApiOperation({ summary: 'Patch labels (merge: null removes a label)' })
  @ApiErrorResponses({ 400: 'ValidationFailed, InvalidLabels', 404: 'ClusterNotFound' })
  @Audited({
    action: 'cluster.patch',
    objectKind: 'Cluster',
    tenantId: ownerOf,
    changes: ['labels'],
  })
  async patch(@Param() p: ClusterNameParamDto, @Body() body: PatchClusterDto): Promise<ClusterDto> {
    return toClusterDto(await this.clusters.patchLabels(p.name, body.labels));
  }

  @Put(':name/kubeconfig')
  @ApiOperation({
    summary: 'Rotate the kubeconfig; cached clients are dropped and the cluster is probed',
  })
  @ApiErrorResponses({ 400: 'ValidationFailed, KubeconfigRejected', 404: 'ClusterNotFound' })
  @Audited({
    action: 'cluster.rotate-kubeconfig',
    objectKind: 'Cluster',
    tenantId: ownerOf,
    changes: ['context', 'insecureSkipTlsVerify'],
    redacted: ['kubeconfig'],
  })
  async rotateKubeconfig(
    @Param() p: ClusterNameParamDto,
    @Body() body: KubeconfigUploadDto,
  ): Promise<ClusterDto> {
    return toClusterDto(await this.clusters.rotateKubeconfig(p.name, body));
  }

  @Delete(':name')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Delete a cluster and its grants',
    description:
      'Stops managing the cluster: its registration, grants and targets go; nothing in the ' +
      'cluster itself is deleted or pruned (it may be gone already). To clean a reachable ' +
      'cluster first, change its labels so that no release selects it and wait until its ' +
      'targets are gone: each prunes what it applied.',
  })
  @ApiErrorResponses({ 400: 'ValidationFailed', 404: 'ClusterNotFound' })
  @Audited({ action: 'cluster.delete', objectKind: 'Cluster' })
  async delete(@Param() p: ClusterNameParamDto): Promise<void> {
    await this.clusters.delete(p.name);
  }
}
