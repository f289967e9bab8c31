import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Page } from 'src/common/api/pagination';
import type { EventEntity } from './entities/event.entity';
import { EventFilter, EventRepository, NewEvent } from './event.repository';

/** The event store. Writers pass their transaction so an event exists exactly when its change does. */
@Injectable()
export class EventsService {
  constructor(private readonly events: EventRepository) {}

  record(events: readonly NewEvent[], manager?: EntityManager): Promise<void> {
    return this.events.insert(events, manager);
  }

  listForTenant(
    tenantId: string,
    filter: EventFilter,
    page: { limit: number; continue?: string },
  ): Promise<Page<EventEntity>> {
    return this.events.list(tenantId, filter, page.limit, page.continue);
  }

  listAll(
    filter: EventFilter,
    page: { limit: number; continue?: string },
  ): Promise<Page<EventEntity>> {
    return this.events.list(undefined, filter, page.limit, page.continue);
  }
}
