import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from 'src/common/auth/access.decorator';
import { DiffService } from './diff.service';
import { DiffQueryDto, ReleaseDiffDto } from './dto/diff.dto';

@ApiTags('releases')
@ApiBearerAuth()
@Controller('tenants/:tenant/releases/:name/diff')
export class DiffController {
  constructor(private readonly diffs: DiffService) {}

  @Get()
  @Access({ kind: 'tenant', role: 'viewer' })
  @ApiOperation({
    summary: 'What a reconcile would change on each target (server-side dry-run; paths only)',
  })
  async diff(
    @Param('tenant') tenant: string,
    @Param('name') name: string,
    @Query() q: DiffQueryDto,
  ): Promise<ReleaseDiffDto> {
    return { items: await this.diffs.diff(tenant, name, q.cluster) };
  }
}
