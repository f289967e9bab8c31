import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import {
  decodeContinueToken,
  filterDigest,
  isTimeIdCursor,
  type Page,
  toPage,
} from 'src/common/api/pagination';
import { EventEntity } from './entities/event.entity';
import { eventsParameter, insertEventsSql } from './event-insert.sql';
import type { NewEvent } from './events.types';

export type { NewEvent };

export interface EventFilter {
  objectKind?: string;
  objectName?: string;
  reason?: string;
}

@Injectable()
export class EventRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Inserts with the caller's transaction when given, so events commit with the change they describe. */
  async insert(events: readonly NewEvent[], manager?: EntityManager): Promise<void> {
    if (events.length === 0) {
      return;
    }
    // The same statement writers compose into their own (one row mapping, not two).
    await (manager ?? this.dataSource.manager).query(insertEventsSql('$1', ''), [
      eventsParameter(events),
    ]);
  }

  /** Newest first. `tenantId` null lists platform events; undefined lists all (admin). */
  async list(
    tenantId: string | null | undefined,
    filter: EventFilter,
    limit: number,
    token: string | undefined,
  ): Promise<Page<EventEntity>> {
    const digest = filterDigest({ tenantId, ...filter });
    const cursor = decodeContinueToken(token, digest, 2, isTimeIdCursor);
    const qb = this.dataSource
      .getRepository(EventEntity)
      .createQueryBuilder('e')
      .orderBy('e.occurred_at', 'DESC')
      .addOrderBy('e.id', 'DESC')
      .limit(limit + 1);
    if (tenantId === null) {
      qb.andWhere('e.tenant_id IS NULL');
    } else if (tenantId !== undefined) {
      qb.andWhere('e.tenant_id = :tenantId', { tenantId });
    }
    if (filter.objectKind !== undefined) {
      qb.andWhere('e.object_kind = :kind', { kind: filter.objectKind });
    }
    if (filter.objectName !== undefined) {
      qb.andWhere('e.object_name = :name', { name: filter.objectName });
    }
    if (filter.reason !== undefined) {
      qb.andWhere('e.reason = :reason', { reason: filter.reason });
    }
    if (cursor !== undefined) {
      qb.andWhere('(e.occurred_at, e.id) < (:at, :id)', { at: cursor[0], id: cursor[1] });
    }
    return toPage(
      await qb.getMany(),
      limit,
      (e) => [e.occurredAt.toISOString(), e.id],
      digest,
      (e) => e,
    );
  }
}
