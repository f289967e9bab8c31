import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from 'src/common/auth/access.decorator';
import { CapiService } from './capi.service';
import { CapiClusterListDto } from './dto/capi.dto';
import { toCapiClusterDto } from './capi.mapper';

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
