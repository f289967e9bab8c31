import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { selectorToSql } from 'src/common/labels/label-selector';
import { Page, decodeContinueToken, filterDigest, toPage } from 'src/common/api/pagination';
import { toLabelSelector } from './cluster-selector';
import type { ReleaseEntity } from './entities/release.entity';
import { TargetRunEntity } from './entities/target-run.entity';
import { ConditionStatus, TargetEntity } from './entities/target.entity';
import { type TenantRowId, tenantRowIdArrays } from 'src/common/database/tenant-row-ids';
import type { AdoptionPolicy, ClusterPeer, ConflictEntry, InventoryEntry } from './releases.types';

export interface TargetFilters {
  releaseId?: string;
  clusterId?: string;
  ready?: ConditionStatus;
}

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
           SET removing = false, next_run_at = now(), reconcile_requested_at = now()
           WHERE target.removing
         RETURNING id`,
        [release.tenantId, release.id, release.name, selected, clusters.map((c) => c.name)],
      );
      added = rows.length;
    }
    const removed = await this.m(manager).query<[unknown[], number]>(
      `UPDATE target SET removing = true, next_run_at = now(), reconcile_requested_at = now()
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

  /** Targets of several tenants (the reconcile worker's claimed batch), each id with its tenant. */
  findByTenantRowIds(keys: readonly TenantRowId[]): Promise<TargetEntity[]> {
    if (keys.length === 0) {
      return Promise.resolve([]);
    }
    return this.m()
      .getRepository(TargetEntity)
      .createQueryBuilder('t')
      .where(
        '(t.tenant_id, t.id) IN (SELECT * FROM unnest(CAST(:tenantIds AS uuid[]), CAST(:ids AS uuid[])))',
        tenantRowIdArrays(keys),
      )
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

  /**
   * Every other target on a cluster, of any tenant, with what it holds and claims:
   * one query for a whole prune or apply run, never one per object. Callers must
   * not show another tenant's names to the tenant they act for.
   */
  async peersOnCluster(clusterId: string, exceptTargetId: string): Promise<ClusterPeer[]> {
    const rows = await this.m().query<
      {
        id: string;
        tenant_id: string;
        tenant_name: string;
        release_name: string;
        departing: boolean;
        adopt: AdoptionPolicy;
        inventory: InventoryEntry[];
        conflicts: ConflictEntry[];
      }[]
    >(
      `SELECT t.id, t.tenant_id, tn.name AS tenant_name, t.release_name,
              (t.removing OR r.deletion_requested_at IS NOT NULL) AS departing,
              r.adopt, t.inventory, t.conflicts
       FROM target t
         JOIN release r ON r.id = t.release_id
         JOIN tenant tn ON tn.id = t.tenant_id
       WHERE t.cluster_id = $1 AND t.id <> $2`,
      [clusterId, exceptTargetId],
    );
    return rows.map((r) => ({
      targetId: r.id,
      tenantId: r.tenant_id,
      tenantName: r.tenant_name,
      releaseName: r.release_name,
      departing: r.departing,
      adopt: r.adopt,
      inventory: r.inventory,
      conflicts: r.conflicts,
    }));
  }

  /** Makes the given targets (of any tenant, each id with its tenant) due now. */
  async enqueueTargets(keys: readonly TenantRowId[]): Promise<number> {
    if (keys.length === 0) {
      return 0;
    }
    const { tenantIds, ids } = tenantRowIdArrays(keys);
    const result = await this.m().query<[unknown[], number]>(
      `UPDATE target SET next_run_at = LEAST(next_run_at, now()), reconcile_requested_at = now()
       WHERE (tenant_id, id) IN (SELECT * FROM unnest($1::uuid[], $2::uuid[]))`,
      [tenantIds, ids],
    );
    return result[1];
  }

  async setSuspended(tenantId: string, targetId: string, suspended: boolean): Promise<boolean> {
    const result = await this.m()
      .getRepository(TargetEntity)
      .update(
        { tenantId, id: targetId },
        { suspended, nextRunAt: new Date(), reconcileRequestedAt: () => 'now()' },
      );
    return (result.affected ?? 0) > 0;
  }
}
