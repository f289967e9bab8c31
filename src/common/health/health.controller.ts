import { Controller, Get, HttpCode, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from 'src/common/auth/access.decorator';
import { HealthService } from './health.service';

export class HealthStatusDto {
  /** `ok` when healthy. */
  status!: string;
}

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('healthz')
  @Access({ kind: 'public' })
  @ApiOperation({ summary: 'Liveness: the process is up and serving HTTP' })
  live(): HealthStatusDto {
    return { status: 'ok' };
  }

  @Get('readyz')
  @HttpCode(200)
  @Access({ kind: 'public' })
  @ApiOperation({ summary: 'Readiness: the database is reachable and fully migrated' })
  async ready(): Promise<HealthStatusDto> {
    const problem = await this.health.readinessProblem();
    if (problem !== undefined) {
      throw new ServiceUnavailableException(problem);
    }
    return { status: 'ok' };
  }
}
