import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from 'src/common/auth/access.decorator';
import { TenantsService } from 'src/tenants/tenants.service';
import { EventListDto, ListEventsQueryDto } from './dto/event.dto';
import { EventsService } from './events.service';
import { toEventListDto } from './events.mapper';

@ApiTags('events')
@ApiBearerAuth()
@Controller()
export class EventsController {
  constructor(
    private readonly events: EventsService,
    private readonly tenants: TenantsService,
  ) {}

  @Get('tenants/:tenant/events')
  @Access({ kind: 'tenant', role: 'viewer' })
  @ApiOperation({ summary: "The tenant's events, newest first" })
  async listForTenant(
    @Param('tenant') tenant: string,
    @Query() q: ListEventsQueryDto,
  ): Promise<EventListDto> {
    const { limit, continue: token, ...filter } = q;
    return toEventListDto(
      await this.events.listForTenant(await this.tenants.idOf(tenant), filter, {
        limit,
        continue: token,
      }),
    );
  }

  @Get('events')
  @Access({ kind: 'admin' })
  @ApiOperation({ summary: 'Events of every tenant and the platform, newest first' })
  async listAll(@Query() q: ListEventsQueryDto): Promise<EventListDto> {
    const { limit, continue: token, ...filter } = q;
    return toEventListDto(await this.events.listAll(filter, { limit, continue: token }));
  }
}
