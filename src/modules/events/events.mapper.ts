import type { Page } from 'src/common/api/pagination';
import type { EventDto, EventListDto } from './dto/event.dto';
import type { EventEntity } from './entities/event.entity';

const toEventDto = (e: EventEntity): EventDto => ({
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

export const toEventListDto = (page: Page<EventEntity>): EventListDto => ({
  items: page.items.map(toEventDto),
  ...(page.continue === undefined ? {} : { continue: page.continue }),
});
