import { randomUUID } from 'node:crypto';
import type { NewEvent } from './events.types';

// Published to other contexts (see .dependency-cruiser.cjs): a writer that records a change
// and its events composes this statement into its own, so both commit in one round trip.

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
