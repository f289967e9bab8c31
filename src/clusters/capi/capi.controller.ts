import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from 'src/common/auth/access.decorator';
import type { CapiClusterRecord } from './capi-cluster.repository';
import { CapiService } from './capi.service';
import { CapiClusterDto, CapiClusterListDto } from './dto/capi.dto';

@ApiTags('clusters')
@ApiBearerAuth()
@Controller('capi/clusters')
@Access({ kind: 'admin' })
export class CapiController {
  constructor(private readonly capi: CapiService) {}

  @Get()
  @ApiOperation({
    summary:
      'Cluster API Clusters seen in the management cluster, and why each is (not) registered',
  })
  async list(): Promise<CapiClusterListDto> {
    return { items: (await this.capi.list()).map(toCapiClusterDto) };
  }
}

function toCapiClusterDto(r: CapiClusterRecord): CapiClusterDto {
  return {
    namespace: r.namespace,
    name: r.name,
    uid: r.uid,
    apiVersion: r.apiVersion,
    phase: r.phase,
    controlPlaneInitialized: r.controlPlaneInitialized,
    paused: r.paused,
    deleting: r.deleting,
    conditions: r.conditions.map((c) => ({ ...c })),
    cluster: r.clusterName,
    registration: r.registration === null ? null : { ...r.registration },
  };
}
