import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AuditOutcome } from './entities/audit-entry.entity';

export interface NewAuditEntry {
  readonly actor: string;
  readonly action: string;
  readonly objectKind: string;
  readonly objectName: string | null;
  readonly tenantId: string | null;
  readonly requestId: string | null;
  readonly outcome: AuditOutcome;
  readonly statusCode: number;
  readonly errorCode: string | null;
  readonly changes: Readonly<Record<string, unknown>>;
}

export interface AuditRow extends NewAuditEntry {
  readonly id: string;
  readonly time: Date;
  /** Database text form of `time` (microseconds), used as the pagination cursor. */
  readonly timeText: string;
}

export interface AuditFilter {
  readonly actor?: string;
  readonly action?: string;
  readonly objectKind?: string;
  readonly objectName?: string;
  readonly tenantId?: string;
  readonly outcome?: AuditOutcome;
  readonly since?: Date;
  readonly until?: Date;
}

interface DbRow {
  id: string;
  time: Date;
  time_text: string;
  actor: string;
  action: string;
  object_kind: string;
  object_name: string | null;
  tenant_id: string | null;
  request_id: string | null;
  outcome: AuditOutcome;
  status_code: number;
  error_code: string | null;
  changes: Record<string, unknown>;
}

@Injectable()
export class AuditRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Idempotent per id, so a write retried after a lost acknowledgement is not stored twice. */
  async insert(id: string, entry: NewAuditEntry): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO audit_entry (id, actor, action, object_kind, object_name, tenant_id, request_id,
         outcome, status_code, error_code, changes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (id) DO NOTHING`,
      [
        id,
        entry.actor,
        entry.action,
        entry.objectKind,
        entry.objectName,
        entry.tenantId,
        entry.requestId,
        entry.outcome,
        entry.statusCode,
        entry.errorCode,
        JSON.stringify(entry.changes),
      ],
    );
  }

  /** Newest first; `after` is the (time text, id) of the last row of the previous page. */
  async list(
    filter: AuditFilter,
    after: readonly [string, string] | undefined,
    limit: number,
  ): Promise<AuditRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown): void => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.actor !== undefined) {
      add('actor = ?', filter.actor);
    }
    if (filter.action !== undefined) {
      add('action = ?', filter.action);
    }
    if (filter.objectKind !== undefined) {
      add('object_kind = ?', filter.objectKind);
    }
    if (filter.objectName !== undefined) {
      add('object_name = ?', filter.objectName);
    }
    if (filter.tenantId !== undefined) {
      add('tenant_id = ?', filter.tenantId);
    }
    if (filter.outcome !== undefined) {
      add('outcome = ?', filter.outcome);
    }
    if (filter.since !== undefined) {
      add('time >= ?', filter.since);
    }
    if (filter.until !== undefined) {
      add('time < ?', filter.until);
    }
    if (after !== undefined) {
      params.push(after[0], after[1]);
      where.push(`(time, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(limit + 1);
    const rows = await this.dataSource.query<DbRow[]>(
      `SELECT id, time, time::text AS time_text, actor, action, object_kind, object_name, tenant_id,
              request_id, outcome, status_code, error_code, changes
       FROM audit_entry
       ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY time DESC, id DESC
       LIMIT $${params.length}`,
      params,
    );
    return rows.map((r) => ({
      id: r.id,
      time: r.time,
      timeText: r.time_text,
      actor: r.actor,
      action: r.action,
      objectKind: r.object_kind,
      objectName: r.object_name,
      tenantId: r.tenant_id,
      requestId: r.request_id,
      outcome: r.outcome,
      statusCode: r.status_code,
      errorCode: r.error_code,
      changes: r.changes,
    }));
  }
}
