import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, EntityMetadata } from 'typeorm';
import { CLOCK, type Clock } from 'src/common/coordination/clock';
import { LeasedQueue } from 'src/common/coordination/leased-queue';
import { removeConditionSql, setConditionSql } from 'src/common/conditions/conditions.sql';
import { eventsParameter, insertEventsSql } from 'src/modules/events/event-insert.sql';
import type { NewEvent } from 'src/modules/events/events.types';
import type { Target, TargetCounts, TargetResult } from 'src/modules/releases/releases.types';

export interface ClaimedTarget {
  id: string;
  tenantId: string;
  releaseId: string;
  clusterId: string;
  fencingToken: string;
  /**
   * When the claim was taken, as the database's timestamp text: microseconds, which
   * a Date would cut to milliseconds. Requests after it re-run the target.
   */
  claimedAt?: string;
}

/** What a reconcile writes back; applied only while the lease is still ours. */
export type TargetOutcome = Partial<
  Pick<
    Target,
    | 'appliedRevision'
    | 'lastAttemptedRevision'
    | 'observedGeneration'
    | 'appliedDigest'
    | 'conditions'
    | 'readyStatus'
    | 'lastResult'
    | 'counts'
    | 'lastDurationMs'
    | 'lastError'
    | 'inventory'
    | 'conflicts'
    | 'failureCount'
    | 'lastReconciledAt'
  >
> & { nextRunAt: Date };

/** One reconcile of a target, as its history row (`target_run`) records it. */
export interface TargetRun {
  startedAt: Date;
  durationMs: number;
  revision: string | null;
  result: TargetResult;
  reason: string;
  message: string;
  counts: TargetCounts | null;
  /** Objects corrected because someone else changed them: references and field paths only. */
  drift: { object: string; fields: string[] }[];
}

const HISTORY_LIMIT = 10;

/**
 * A claimed target shows `Reconciling` while it runs, written by the claim itself
 * so the run costs no extra round trip; the run's result (or the lease hand-back)
 * drops it again.
 */
const RECONCILING_ON_CLAIM = setConditionSql('t.conditions', {
  type: 'Reconciling',
  status: 'True',
  reason: 'Progressing',
  message: 'Reconciliation in progress',
});
const RECONCILING_CLEARED = removeConditionSql('conditions', 'Reconciling');

interface ClaimRow {
  id: string;
  tenant_id: string;
  release_id: string;
  cluster_id: string;
  fencing_token: string;
  claimed_at: string;
}

/**
 * The work-queue half of the `target` table, owned by the reconciler: claim,
 * renew, complete, release, delete-claimed and queue depth, on the leased
 * queue of `common/coordination` (partitioned by cluster). Releases owns the
 * definition half (selection, listing, enqueueing) in its TargetRepository.
 */
@Injectable()
export class TargetQueueRepository {
  private readonly queue: LeasedQueue;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(CLOCK) clock: Clock,
  ) {
    this.queue = new LeasedQueue(
      { table: 'target', partitionColumn: 'cluster_id', partitionType: 'uuid' },
      <T>(sql: string, params: unknown[]) => this.dataSource.query<T>(sql, params),
      clock,
    );
  }

  /**
   * Claims due targets under a lease: at most `limit` (the caller's free slots),
   * and per cluster at most `perCluster` minus what `running` says the caller
   * already runs there. SKIP LOCKED lets replicas claim side by side; the
   * fencing token makes any later write by an older holder fail.
   */
  async claimDue(
    owner: string,
    limit: number,
    leaseMs: number,
    running: ReadonlyMap<string, number> = new Map(),
    perCluster: number = limit,
  ): Promise<ClaimedTarget[]> {
    const rows = await this.queue.claim<ClaimRow>({
      owner,
      limit,
      leaseMs,
      perPartition: perCluster,
      running,
      set: `conditions = ${RECONCILING_ON_CLAIM}`,
      returning:
        't.id, t.tenant_id, t.release_id, t.cluster_id, t.fencing_token, now()::text AS claimed_at',
    });
    return rows.map((r) => ({
      id: r.id,
      tenantId: r.tenant_id,
      releaseId: r.release_id,
      clusterId: r.cluster_id,
      fencingToken: String(r.fencing_token),
      claimedAt: r.claimed_at,
    }));
  }

  renewLease(claim: ClaimedTarget, owner: string, leaseMs: number): Promise<boolean> {
    return this.queue.renew(claim, owner, leaseMs);
  }

  /**
   * Shows a long step of a running target (a health wait) while it lasts: Ready
   * Unknown and Reconciling, reason Progressing, as Flux marks a Kustomization
   * before its health checks. Fenced like every write under the lease; false
   * when the lease is no longer ours.
   */
  async showProgress(claim: ClaimedTarget, owner: string, message: string): Promise<boolean> {
    // The message names objects from the tenant's repository: a parameter, never inlined.
    const kept = (type: string, status: string): string =>
      `COALESCE((SELECT c->>'lastTransitionTime' FROM jsonb_array_elements(conditions) AS c
         WHERE c->>'type' = '${type}' AND c->>'status' = '${status}' LIMIT 1),
         to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))`;
    const condition = (type: string, status: string): string =>
      `jsonb_build_object('type', '${type}', 'status', '${status}', 'reason', 'Progressing',
         'message', $4::text, 'lastTransitionTime', ${kept(type, status)})`;
    const [, count] = await this.dataSource.query<[unknown[], number]>(
      `UPDATE target SET ready_status = 'Unknown', conditions =
         (SELECT COALESCE(jsonb_agg(e.c ORDER BY e.i), '[]'::jsonb)
            FROM jsonb_array_elements(conditions) WITH ORDINALITY AS e(c, i)
            WHERE e.c->>'type' NOT IN ('Ready', 'Reconciling'))
         || jsonb_build_array(${condition('Ready', 'Unknown')}, ${condition('Reconciling', 'True')})
       WHERE ${this.queue.fence(1)}`,
      [claim.id, owner, claim.fencingToken, message],
    );
    return count > 0;
  }

  /**
   * Writes a reconcile's outcome, its history row and trims history, only while
   * the lease is still ours and unexpired. One statement, so one round trip and
   * atomic without a transaction; `events` are inserted by the same statement.
   * `afterWrite` adds a transaction around it for other writes. Returns false when
   * the write was rejected (someone else owns the target). A database that does
   * not answer is retried until it does, within the lease.
   */
  complete(
    claim: ClaimedTarget,
    owner: string,
    outcome: TargetOutcome,
    run: TargetRun | undefined,
    afterWrite?: (manager: EntityManager) => Promise<void>,
    events: readonly NewEvent[] = [],
  ): Promise<boolean> {
    const statement = this.completeStatement(claim, owner, outcome, run, events);
    return this.queue.final(claim, async () => {
      if (afterWrite === undefined) {
        const rows = await this.dataSource.query<{ written: number }[]>(
          statement.sql,
          statement.params,
        );
        return (rows[0]?.written ?? 0) > 0;
      }
      return this.dataSource.transaction(async (manager) => {
        const rows = await manager.query<{ written: number }[]>(statement.sql, statement.params);
        if ((rows[0]?.written ?? 0) === 0) {
          return false;
        }
        await afterWrite(manager);
        return true;
      });
    });
  }

  private completeStatement(
    claim: ClaimedTarget,
    owner: string,
    outcome: TargetOutcome,
    run: TargetRun | undefined,
    events: readonly NewEvent[],
  ): { sql: string; params: unknown[] } {
    const { nextRunAt, ...fields } = outcome;
    const params: unknown[] = [claim.id, owner, claim.fencingToken, claim.claimedAt ?? null];
    // A request made during the run (trigger, user) makes the target due again at once.
    const requestedSince = 'COALESCE(reconcile_requested_at > $4::timestamptz, false)';
    const sets = [
      'lease_owner = NULL',
      'lease_expires_at = NULL',
      `next_run_at = CASE WHEN ${requestedSince} THEN now() ELSE $${params.push(nextRunAt)}::timestamptz END`,
      `reconcile_requested_at = CASE WHEN ${requestedSince} THEN reconcile_requested_at END`,
      `fresh_read_requested = fresh_read_requested AND ${requestedSince}`,
    ];
    if (fields.conditions === undefined) {
      // The run is over whatever it wrote: it no longer shows Reconciling.
      sets.push(`conditions = ${RECONCILING_CLEARED}`);
    }
    // By table name: the entity classes belong to releases, the queue columns to us.
    const target = this.dataSource.getMetadata('target');
    for (const [property, value] of Object.entries(fields)) {
      if (value === undefined) {
        continue; // Absent: keep what is stored.
      }
      params.push(columnValue(target, property, value));
      sets.push(`"${columnName(target, property)}" = $${params.length}`);
    }
    let sql = `WITH updated AS (
        UPDATE target SET ${sets.join(', ')}
        WHERE ${this.queue.fence(1)}
        RETURNING id)`;
    if (run !== undefined) {
      const history = this.dataSource.getMetadata('target_run');
      const columns = ['id', 'target_id'];
      const values = [`$${params.push(randomUUID())}::uuid`, 'updated.id'];
      for (const [property, value] of Object.entries(run)) {
        columns.push(`"${columnName(history, property)}"`);
        values.push(`$${params.push(columnValue(history, property, value))}`);
      }
      // The trim sees the rows from before this statement: keep the newest LIMIT - 1 of them.
      sql += `,
      inserted AS (
        INSERT INTO target_run (${columns.join(', ')}) SELECT ${values.join(', ')} FROM updated),
      trimmed AS (
        DELETE FROM target_run WHERE id IN (
          SELECT id FROM target_run WHERE target_id = $1 ORDER BY started_at DESC OFFSET $${params.push(HISTORY_LIMIT - 1)})
          AND EXISTS (SELECT 1 FROM updated))`;
    }
    if (events.length > 0) {
      const param = `$${params.push(eventsParameter(events))}`;
      sql += `,
      events AS (${insertEventsSql(param, 'WHERE EXISTS (SELECT 1 FROM updated)')})`;
    }
    sql += `
      SELECT count(*)::int AS written FROM updated`;
    return { sql, params };
  }

  /** Deletes a removed target after its objects were pruned, under the same fencing rule. */
  deleteClaimed(claim: ClaimedTarget, owner: string): Promise<boolean> {
    return this.queue.delete(claim, owner);
  }

  /** Hands the target back unfinished, due at `nextRunAt` (retried while the database is away). */
  releaseLease(claim: ClaimedTarget, owner: string, nextRunAt: Date): Promise<void> {
    return this.queue.release(claim, owner, nextRunAt, `conditions = ${RECONCILING_CLEARED}`);
  }

  /**
   * Makes a tenant's targets on one cluster due now (a trigger): all of them, or
   * those of `releaseIds` not Ready. A run in progress runs again when it ends.
   */
  async makeDue(
    tenantId: string,
    clusterId: string,
    only?: { releaseIds: readonly string[]; notReady: true },
  ): Promise<number> {
    const params: unknown[] = [tenantId, clusterId];
    let where = 'tenant_id = $1 AND cluster_id = $2';
    if (only !== undefined) {
      params.push(only.releaseIds);
      where += ` AND release_id = ANY($3::uuid[]) AND ready_status IS DISTINCT FROM 'True'`;
    }
    const result = await this.dataSource.query<[unknown[], number]>(
      `UPDATE target SET next_run_at = LEAST(next_run_at, now()), reconcile_requested_at = now()
       WHERE ${where}`,
      params,
    );
    return result[1];
  }

  queueDepth(): Promise<number> {
    return this.dataSource
      .query<{ n: number }[]>(`SELECT count(*)::int AS n FROM target WHERE next_run_at <= now()`)
      .then((rows) => rows[0]?.n ?? 0);
  }
}

function columnName(metadata: EntityMetadata, property: string): string {
  const column = metadata.findColumnWithPropertyName(property);
  if (column === undefined) {
    throw new Error(`${metadata.name} has no column for ${property}`);
  }
  return column.databaseName;
}

/** Raw query parameters: jsonb as JSON text (pg would turn arrays into PostgreSQL arrays). */
function columnValue(metadata: EntityMetadata, property: string, value: unknown): unknown {
  const column = metadata.findColumnWithPropertyName(property);
  return column?.type === 'jsonb' && value !== null ? JSON.stringify(value) : value;
}
