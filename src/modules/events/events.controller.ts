import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Page } from 'src/common/api/pagination';
import { Access } from 'src/common/auth/access.decorator';
import { TenantsService } from 'src/tenants/tenants.service';
import { EventDto, EventListDto, ListEventsQueryDto } from './dto/event.dto';
import type { EventEntity } from './entities/event.entity';
import { EventsService } from './events.service';

const toDto = (e: EventEntity): EventDto => ({
  id: e.id,
  objectKind: e.objectKind,
  objectName: e.objectName,
  severity: e.severity,
  reason: e.reason,
  message: e.message,
  revision: e.revision,
  metadata: e.metadata,
  time: e.occurredAt.toISOString(),
});

const toListDto = (page: Page<EventEntity>): EventListDto => ({
  items: page.items.map(toDto),
  ...(page.continue === undefined ? {} : { continue: page.continue }),
});

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
    return toListDto(
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
    return toListDto(await this.events.listAll(filter, { limit, continue: token }));
  }
}
