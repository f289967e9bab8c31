import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, EntityMetadata } from 'typeorm';
import { selectorToSql } from 'src/clusters/labels/label-selector';
import { Page, decodeContinueToken, filterDigest, toPage } from 'src/common/api/pagination';
import {
  eventsParameter,
  insertEventsSql,
  type NewEvent,
} from 'src/modules/events/event.repository';
import { toLabelSelector } from './cluster-selector';
import type { ReleaseEntity } from './entities/release.entity';
import { TargetRunEntity } from './entities/target-run.entity';
import { ConditionStatus, TargetEntity } from './entities/target.entity';

export interface TargetFilters {
  releaseId?: string;
  clusterId?: string;
  ready?: ConditionStatus;
}

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
    TargetEntity,
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
    | 'failureCount'
    | 'lastReconciledAt'
  >
> & { nextRunAt: Date };

export interface ReleaseReadiness {
  releaseId: string;
  total: number;
  ready: number;
}

const HISTORY_LIMIT = 10;

// Everything a listing shows; the inventory can be large and has its own endpoint.
const LIST_COLUMNS: (keyof TargetEntity)[] = [
  'id',
  'tenantId',
  'releaseId',
  'clusterId',
  'releaseName',
  'clusterName',
  'removing',
  'appliedRevision',
  'lastAttemptedRevision',
  'observedGeneration',
  'conditions',
  'readyStatus',
  'lastResult',
  'counts',
  'lastDurationMs',
  'lastError',
  'suspended',
  'lastReconciledAt',
  'nextRunAt',
];

@Injectable()
export class TargetRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private m(manager?: EntityManager): EntityManager {
    return manager ?? this.dataSource.manager;
  }

  /**
   * Makes the release's targets match the clusters it selects, intersected with
   * the clusters the tenant holds grants on. New clusters get a target due now;
   * clusters no longer selected get `removing` so their objects are pruned first.
   */
  async syncForRelease(
    release: ReleaseEntity,
    manager?: EntityManager,
  ): Promise<{ added: number; removed: number }> {
    const params: unknown[] = [release.tenantId];
    let where = 'TRUE';
    if (release.clusterNames !== null && release.clusterNames.length > 0) {
      params.push(release.clusterNames);
      where = `c.name = ANY($${params.length}::text[])`;
    } else if (release.clusterSelector !== null) {
      const sql = selectorToSql(
        toLabelSelector(release.clusterSelector),
        'c.labels',
        params.length,
      );
      params.push(...sql.params);
      where = sql.sql;
    } else {
      where = 'FALSE';
    }
    const deleting = release.deletionRequestedAt !== null;
    const clusters = deleting
      ? []
      : await this.m(manager).query<{ id: string; name: string }[]>(
          `SELECT c.id, c.name FROM cluster c
               JOIN "grant" g ON g.cluster_id = c.id AND g.tenant_id = $1
             WHERE ${where}`,
          params,
        );

    const selected = clusters.map((c) => c.id);
    let added = 0;
    if (selected.length > 0) {
      const rows = await this.m(manager).query<{ id: string }[]>(
        `INSERT INTO target (id, tenant_id, release_id, cluster_id, release_name, cluster_name, next_run_at)
         SELECT gen_random_uuid(), $1, $2, c.id, $3, c.name, now()
         FROM unnest($4::uuid[], $5::text[]) AS c(id, name)
         ON CONFLICT ON CONSTRAINT "UQ_target_release_cluster" DO UPDATE
           SET removing = false, next_run_at = now()
           WHERE target.removing
         RETURNING id`,
        [release.tenantId, release.id, release.name, selected, clusters.map((c) => c.name)],
      );
      added = rows.length;
    }
    const removed = await this.m(manager).query<[unknown[], number]>(
      `UPDATE target SET removing = true, next_run_at = now()
       WHERE release_id = $1 AND NOT removing AND NOT (cluster_id = ANY($2::uuid[]))`,
      [release.id, selected],
    );
    return { added, removed: removed[1] };
  }

  /** One page of a tenant's targets by (release, cluster) name; the inventory is left out. */
  async list(
    tenantId: string,
    filters: TargetFilters,
    limit: number,
    token: string | undefined,
  ): Promise<Page<TargetEntity>> {
    const digest = filterDigest({ tenantId, ...filters });
    const cursor = decodeContinueToken(token, digest, 2);
    const qb = this.m()
      .getRepository(TargetEntity)
      .createQueryBuilder('t')
      .select(LIST_COLUMNS.map((c) => `t.${c}`))
      .where('t.tenant_id = :tenantId', { tenantId })
      .orderBy('t.release_name', 'ASC')
      .addOrderBy('t.cluster_name', 'ASC')
      .limit(limit + 1);
    if (filters.releaseId !== undefined) {
      qb.andWhere('t.release_id = :releaseId', { releaseId: filters.releaseId });
    }
    if (filters.clusterId !== undefined) {
      qb.andWhere('t.cluster_id = :clusterId', { clusterId: filters.clusterId });
    }
    if (filters.ready !== undefined) {
      qb.andWhere('t.ready_status = :ready', { ready: filters.ready });
    }
    if (cursor !== undefined) {
      qb.andWhere('(t.release_name, t.cluster_name) > (:afterRelease, :afterCluster)', {
        afterRelease: cursor[0],
        afterCluster: cursor[1],
      });
    }
    const rows = await qb.getMany();
    return toPage(
      rows,
      limit,
      (t) => [t.releaseName, t.clusterName],
      digest,
      (t) => t,
    );
  }

  findById(tenantId: string, id: string): Promise<TargetEntity | null> {
    return this.m().getRepository(TargetEntity).findOneBy({ tenantId, id });
  }

  /** Targets by id, across tenants (the reconcile worker's claimed batch). */
  findByIds(ids: readonly string[]): Promise<TargetEntity[]> {
    if (ids.length === 0) {
      return Promise.resolve([]);
    }
    return this.m()
      .getRepository(TargetEntity)
      .createQueryBuilder('t')
      .where('t.id = ANY(:ids)', { ids })
      .getMany();
  }

  /**
   * The first `limit` whole targets of a release (inventory included, for dry-run
   * plans), in the cluster-name order of target listings.
   */
  forRelease(tenantId: string, releaseId: string, limit: number): Promise<TargetEntity[]> {
    return this.m()
      .getRepository(TargetEntity)
      .find({ where: { tenantId, releaseId }, order: { clusterName: 'ASC' }, take: limit });
  }

  findForCluster(
    tenantId: string,
    releaseId: string,
    clusterId: string,
  ): Promise<TargetEntity | null> {
    return this.m().getRepository(TargetEntity).findOneBy({ tenantId, releaseId, clusterId });
  }

  /** Targets of other releases of the tenant on one cluster (dependsOn). */
  findByReleasesOnCluster(
    tenantId: string,
    releaseIds: readonly string[],
    clusterId: string,
  ): Promise<TargetEntity[]> {
    if (releaseIds.length === 0) {
      return Promise.resolve([]);
    }
    return this.m()
      .getRepository(TargetEntity)
      .createQueryBuilder('t')
      .where(
        't.tenant_id = :tenantId AND t.cluster_id = :clusterId AND t.release_id = ANY(:releaseIds)',
        {
          tenantId,
          clusterId,
          releaseIds,
        },
      )
      .getMany();
  }

  async readiness(tenantId: string, releaseIds: readonly string[]): Promise<ReleaseReadiness[]> {
    if (releaseIds.length === 0) {
      return [];
    }
    const rows = await this.m().query<{ release_id: string; total: number; ready: number }[]>(
      `SELECT release_id, count(*)::int AS total,
              count(*) FILTER (WHERE ready_status = 'True')::int AS ready
       FROM target WHERE tenant_id = $1 AND release_id = ANY($2::uuid[]) AND NOT removing
       GROUP BY release_id`,
      [tenantId, releaseIds],
    );
    return rows.map((r) => ({ releaseId: r.release_id, total: r.total, ready: r.ready }));
  }

  async history(tenantId: string, targetId: string): Promise<TargetRunEntity[]> {
    return this.m()
      .getRepository(TargetRunEntity)
      .createQueryBuilder('run')
      .innerJoin('run.target', 't')
      .where('t.tenant_id = :tenantId AND run.target_id = :targetId', { tenantId, targetId })
      .orderBy('run.started_at', 'DESC')
      .limit(HISTORY_LIMIT)
      .getMany();
  }

  /**
   * Makes targets due now and records the request, so a target that is running
   * runs again right after (its completion would otherwise schedule the interval).
   * `freshRead`: the next run reads live state itself (a user asked; drift made
   * seconds ago must show), not the shared per-cluster snapshot.
   */
  async enqueue(
    tenantId: string,
    where: { targetId?: string; releaseId?: string; releaseIds?: readonly string[] },
    manager?: EntityManager,
    options: { freshRead?: boolean } = {},
  ): Promise<number> {
    const params: unknown[] = [tenantId];
    const clauses = ['tenant_id = $1'];
    if (where.targetId !== undefined) {
      params.push(where.targetId);
      clauses.push(`id = $${params.length}`);
    }
    if (where.releaseId !== undefined) {
      params.push(where.releaseId);
      clauses.push(`release_id = $${params.length}`);
    }
    if (where.releaseIds !== undefined) {
      params.push(where.releaseIds);
      clauses.push(`release_id = ANY($${params.length}::uuid[])`);
    }
    const result = await this.m(manager).query<[unknown[], number]>(
      `UPDATE target SET next_run_at = LEAST(next_run_at, now()), reconcile_requested_at = now()
         ${options.freshRead === true ? ', fresh_read_requested = true' : ''}
       WHERE ${clauses.join(' AND ')}`,
      params,
    );
    return result[1];
  }

  /** Targets of every tenant on a cluster become due (cluster changed or recovered). */
  async enqueueCluster(clusterId: string): Promise<number> {
    const result = await this.m().query<[unknown[], number]>(
      `UPDATE target SET next_run_at = LEAST(next_run_at, now()), reconcile_requested_at = now()
       WHERE cluster_id = $1`,
      [clusterId],
    );
    return result[1];
  }

  async setSuspended(tenantId: string, targetId: string, suspended: boolean): Promise<boolean> {
    const result = await this.m()
      .getRepository(TargetEntity)
      .update({ tenantId, id: targetId }, { suspended, nextRunAt: new Date() });
    return (result.affected ?? 0) > 0;
  }

  /**
   * Claims due targets under a lease. SKIP LOCKED lets replicas claim side by
   * side; the fencing token makes any later write by an older holder fail.
   */
  async claimDue(
    owner: string,
    limit: number,
    leaseMs: number,
    excludeClusterIds: readonly string[],
  ): Promise<ClaimedTarget[]> {
    // UPDATE through TypeORM's query() answers [rows, rowCount].
    const [rows] = await this.m().query<
      [
        {
          id: string;
          tenant_id: string;
          release_id: string;
          cluster_id: string;
          fencing_token: string;
          claimed_at: string;
        }[],
        number,
      ]
    >(
      `UPDATE target t
         SET lease_owner = $1,
             lease_expires_at = now() + make_interval(secs => $3::double precision / 1000),
             fencing_token = t.fencing_token + 1
       WHERE t.id IN (
         SELECT id FROM target
         WHERE next_run_at <= now()
           AND (lease_expires_at IS NULL OR lease_expires_at < now())
           AND NOT (cluster_id = ANY($4::uuid[]))
         ORDER BY next_run_at
         LIMIT $2
         FOR UPDATE SKIP LOCKED)
       RETURNING t.id, t.tenant_id, t.release_id, t.cluster_id, t.fencing_token, now()::text AS claimed_at`,
      [owner, limit, leaseMs, excludeClusterIds],
    );
    return rows.map((r) => ({
      id: r.id,
      tenantId: r.tenant_id,
      releaseId: r.release_id,
      clusterId: r.cluster_id,
      fencingToken: String(r.fencing_token),
      claimedAt: r.claimed_at,
    }));
  }

  async renewLease(claim: ClaimedTarget, owner: string, leaseMs: number): Promise<boolean> {
    const result = await this.m().query<[unknown[], number]>(
      `UPDATE target SET lease_expires_at = now() + make_interval(secs => $4::double precision / 1000)
       WHERE id = $1 AND lease_owner = $2 AND fencing_token = $3 AND lease_expires_at > now()`,
      [claim.id, owner, claim.fencingToken, leaseMs],
    );
    return result[1] > 0;
  }

  /**
   * Writes a reconcile's outcome, its history row and trims history, only while
   * the lease is still ours and unexpired. One statement, so one round trip and
   * atomic without a transaction; `events` are inserted by the same statement.
   * `afterWrite` adds a transaction around it for other writes. Returns false when
   * the write was rejected (someone else owns the target).
   */
  async complete(
    claim: ClaimedTarget,
    owner: string,
    outcome: TargetOutcome,
    run: Omit<TargetRunEntity, 'id' | 'targetId' | 'target'> | undefined,
    afterWrite?: (manager: EntityManager) => Promise<void>,
    events: readonly NewEvent[] = [],
  ): Promise<boolean> {
    const statement = this.completeStatement(claim, owner, outcome, run, events);
    if (afterWrite === undefined) {
      const rows = await this.m().query<{ written: number }[]>(statement.sql, statement.params);
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
  }

  private completeStatement(
    claim: ClaimedTarget,
    owner: string,
    outcome: TargetOutcome,
    run: Omit<TargetRunEntity, 'id' | 'targetId' | 'target'> | undefined,
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
    const target = this.dataSource.getMetadata(TargetEntity);
    for (const [property, value] of Object.entries(fields)) {
      if (value === undefined) {
        continue; // Absent: keep what is stored.
      }
      params.push(columnValue(target, property, value));
      sets.push(`"${columnName(target, property)}" = $${params.length}`);
    }
    let sql = `WITH updated AS (
        UPDATE target SET ${sets.join(', ')}
        WHERE id = $1 AND lease_owner = $2 AND fencing_token = $3 AND lease_expires_at > now()
        RETURNING id)`;
    if (run !== undefined) {
      const history = this.dataSource.getMetadata(TargetRunEntity);
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
  async deleteClaimed(claim: ClaimedTarget, owner: string): Promise<boolean> {
    const result = await this.m().query<[unknown[], number]>(
      `DELETE FROM target WHERE id = $1 AND lease_owner = $2 AND fencing_token = $3 AND lease_expires_at > now()`,
      [claim.id, owner, claim.fencingToken],
    );
    return result[1] > 0;
  }

  async releaseLease(claim: ClaimedTarget, owner: string, nextRunAt: Date): Promise<void> {
    await this.m().query(
      `UPDATE target SET lease_owner = NULL, lease_expires_at = NULL, next_run_at = $4
       WHERE id = $1 AND lease_owner = $2 AND fencing_token = $3`,
      [claim.id, owner, claim.fencingToken, nextRunAt],
    );
  }

  queueDepth(): Promise<number> {
    return this.m()
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
