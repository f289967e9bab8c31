import { Body, Controller, Get, Param, Put, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { toClusterDto } from 'src/clusters/clusters.mapper';
import { ClusterDto, ClusterListDto } from 'src/clusters/dto/cluster.dto';
import { Access } from 'src/common/auth/access.decorator';
import { Audited } from 'src/modules/events/audit.decorator';
import { ApiErrorResponses } from 'src/common/api/api-errors';
import { RoleBindingsDto, TenantClusterRegistrationDto } from './dto/tenant-self-service.dto';
import { TenantSelfService } from './tenant-self.service';

/** What a tenant manages about itself: its members (owners) and its own clusters. */
@ApiTags('tenant self-service')
@ApiBearerAuth()
@ApiParam({ name: 'tenant', description: 'Tenant name' })
@Controller('tenants/:tenant')
export class TenantSelfServiceController {
  constructor(private readonly self: TenantSelfService) {}

  @Get('role-bindings')
  @Access({ kind: 'tenant', role: 'viewer' })
  @ApiOperation({ summary: "The tenant's role bindings (OIDC groups and users → role)" })
  @ApiErrorResponses({ 404: 'TenantNotFound' })
  async roleBindings(@Param('tenant') tenant: string): Promise<RoleBindingsDto> {
    return { roleBindings: await this.self.roleBindings(tenant) };
  }

  @Put('role-bindings')
  @Access({ kind: 'tenant', role: 'owner' })
  @ApiOperation({ summary: 'Replace the role bindings; effective on the next request' })
  @ApiErrorResponses({ 400: 'ValidationFailed', 403: 'Forbidden', 404: 'TenantNotFound' })
  @Audited({ action: 'tenant.role-bindings', objectKind: 'Tenant', changes: ['roleBindings'] })
  async replaceRoleBindings(
    @Param('tenant') tenant: string,
    @Body() body: RoleBindingsDto,
  ): Promise<RoleBindingsDto> {
    return { roleBindings: await this.self.replaceRoleBindings(tenant, body.roleBindings) };
  }

  @Get('clusters')
  @Access({ kind: 'tenant', role: 'viewer' })
  @ApiOperation({ summary: 'Clusters the tenant owns (registered by itself or for it)' })
  @ApiErrorResponses({ 404: 'TenantNotFound' })
  async clusters(@Param('tenant') tenant: string): Promise<ClusterListDto> {
    return { items: (await this.self.ownedClusters(tenant)).map(toClusterDto) };
  }

  @Post('clusters')
  @Access({ kind: 'tenant', role: 'owner' })
  @ApiOperation({
    summary:
      'Register a cluster owned by the tenant (tenants with allowClusterRegistration); private and loopback servers are refused unless configured',
  })
  @ApiErrorResponses({
    400: 'ValidationFailed, KubeconfigRejected, InvalidLabels',
    403: 'Forbidden, ClusterRegistrationNotAllowed',
    404: 'TenantNotFound',
    409: 'ClusterNameTaken, ClusterQuotaExceeded',
  })
  @Audited({
    action: 'cluster.register',
    objectKind: 'Cluster',
    tenantId: (ctx) => (ctx.result as ClusterDto | undefined)?.ownerTenantId,
    changes: ['name', 'labels', 'context'],
    redacted: ['kubeconfig'],
  })
  async registerCluster(
    @Param('tenant') tenant: string,
    @Body() body: TenantClusterRegistrationDto,
  ): Promise<ClusterDto> {
    return toClusterDto(await this.self.registerCluster(tenant, body));
  }
}
