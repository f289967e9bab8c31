import { randomUUID } from 'node:crypto';
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

export type NewEvent = Omit<EventEntity, 'id' | 'occurredAt' | 'metadata'> & {
  metadata?: Record<string, unknown>;
  occurredAt?: Date;
};

export interface EventFilter {
  objectKind?: string;
  objectName?: string;
  reason?: string;
}

const EVENT_COLUMNS = `id, tenant_id, object_kind, object_name, severity, reason, message, revision, metadata, occurred_at`;

/**
 * Events as one SQL INSERT reading a JSON parameter, for writers that compose it
 * into their own statement (a CTE), so the events commit with the change without a
 * transaction of several round trips. `param` is the placeholder, e.g. `$7`; the
 * value is `eventsParameter(events)`. `condition` is a WHERE clause (or '').
 */
export function insertEventsSql(param: string, condition: string): string {
  return `INSERT INTO event (${EVENT_COLUMNS})
    SELECT ${EVENT_COLUMNS} FROM jsonb_to_recordset(${param}::jsonb) AS e(
      id uuid, tenant_id uuid, object_kind text, object_name text, severity text, reason text,
      message text, revision text, metadata jsonb, occurred_at timestamptz)
    ${condition}`;
}

export function eventsParameter(events: readonly NewEvent[]): string {
  return JSON.stringify(
    events.map((e) => ({
      id: randomUUID(),
      tenant_id: e.tenantId,
      object_kind: e.objectKind,
      object_name: e.objectName,
      severity: e.severity,
      reason: e.reason,
      message: e.message,
      revision: e.revision,
      metadata: e.metadata ?? {},
      occurred_at: (e.occurredAt ?? new Date()).toISOString(),
    })),
  );
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

  /** Retention: drops events older than the cutoff, in bounded batches. */
  async deleteOlderThan(cutoff: Date, batch = 5_000): Promise<number> {
    const result = await this.dataSource.query<[unknown[], number]>(
      `DELETE FROM event WHERE id IN (SELECT id FROM event WHERE occurred_at < $1 LIMIT $2)`,
      [cutoff, batch],
    );
    return result[1];
  }
}
