import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { runInTransaction } from 'src/common/database/unit-of-work';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { returningRows } from 'src/common/database/returning-rows';
import type { Grant } from './grant.types';

interface GrantRow {
  id: string;
  tenant_id: string;
  tenant_name: string;
  cluster_id: string;
  cluster_name: string;
  namespaces: string[];
  service_account_name: string;
  cluster_scoped_kinds: string[];
  created_at: Date;
  updated_at: Date;
}

const SELECT = `SELECT g.id, g.tenant_id, t.name AS tenant_name, g.cluster_id, c.name AS cluster_name,
  g.namespaces, g.service_account_name, g.cluster_scoped_kinds, g.created_at, g.updated_at
  FROM "grant" g JOIN tenant t ON t.id = g.tenant_id JOIN cluster c ON c.id = g.cluster_id`;

const toGrant = (r: GrantRow): Grant => ({
  id: r.id,
  tenantId: r.tenant_id,
  tenantName: r.tenant_name,
  clusterId: r.cluster_id,
  clusterName: r.cluster_name,
  namespaces: r.namespaces,
  serviceAccountName: r.service_account_name,
  clusterScopedKinds: r.cluster_scoped_kinds,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/**
 * Grant queries. Every tenant-facing method takes the tenant id; the
 * per-cluster listing is the admin view across tenants.
 */
@Injectable()
export class GrantRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** A unit of work: domain events published inside are delivered once it commits. */
  transaction<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    return runInTransaction(this.dataSource, work);
  }

  async tenantIdsOnCluster(clusterId: string): Promise<string[]> {
    const rows = await this.dataSource.query<{ tenant_id: string }[]>(
      'SELECT tenant_id FROM "grant" WHERE cluster_id = $1 ORDER BY tenant_id',
      [clusterId],
    );
    return rows.map((r) => r.tenant_id);
  }

  /** `m`: inside the caller's transaction (e.g. under the tenant's lock). */
  async insert(
    g: {
      tenantId: string;
      clusterId: string;
      namespaces: readonly string[];
      serviceAccountName: string;
      clusterScopedKinds: readonly string[];
    },
    m: EntityManager = this.dataSource.manager,
  ): Promise<string> {
    const id = randomUUID();
    await m.query(
      `INSERT INTO "grant" (id, tenant_id, cluster_id, namespaces, service_account_name, cluster_scoped_kinds)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [id, g.tenantId, g.clusterId, g.namespaces, g.serviceAccountName, g.clusterScopedKinds],
    );
    return id;
  }

  async findForTenantOnCluster(tenantId: string, clusterId: string): Promise<Grant | undefined> {
    const rows = await this.dataSource.query<GrantRow[]>(
      `${SELECT} WHERE g.tenant_id = $1 AND g.cluster_id = $2`,
      [tenantId, clusterId],
    );
    return rows[0] === undefined ? undefined : toGrant(rows[0]);
  }

  /** Grants of (tenant, cluster) pairs in one query; pairs without a grant are absent. */
  async findForPairs(pairs: readonly { tenantId: string; clusterId: string }[]): Promise<Grant[]> {
    if (pairs.length === 0) {
      return [];
    }
    const rows = await this.dataSource.query<GrantRow[]>(
      `${SELECT} WHERE (g.tenant_id, g.cluster_id) IN (
         SELECT * FROM unnest($1::uuid[], $2::uuid[]))`,
      [pairs.map((p) => p.tenantId), pairs.map((p) => p.clusterId)],
    );
    return rows.map(toGrant);
  }

  /** All grants of one tenant, by cluster name. */
  async listForTenant(tenantId: string): Promise<Grant[]> {
    const rows = await this.dataSource.query<GrantRow[]>(
      `${SELECT} WHERE g.tenant_id = $1 ORDER BY c.name`,
      [tenantId],
    );
    return rows.map(toGrant);
  }

  /** Admin view: the grants on one cluster, by tenant name; `after` is the last tenant name. */
  async listForCluster(
    clusterId: string,
    after: string | undefined,
    limit: number,
  ): Promise<Grant[]> {
    const rows = await this.dataSource.query<GrantRow[]>(
      `${SELECT} WHERE g.cluster_id = $1 AND ($2::text IS NULL OR t.name > $2) ORDER BY t.name LIMIT $3`,
      [clusterId, after ?? null, limit + 1],
    );
    return rows.map(toGrant);
  }

  async update(
    tenantId: string,
    clusterId: string,
    patch: {
      namespaces?: readonly string[];
      serviceAccountName?: string;
      clusterScopedKinds?: readonly string[];
    },
    m: EntityManager = this.dataSource.manager,
  ): Promise<boolean> {
    const rows = returningRows<{ id: string }>(
      await m.query(
        `UPDATE "grant" SET namespaces = coalesce($3, namespaces),
           service_account_name = coalesce($4, service_account_name),
           cluster_scoped_kinds = coalesce($5, cluster_scoped_kinds), updated_at = now()
         WHERE tenant_id = $1 AND cluster_id = $2 RETURNING id`,
        [
          tenantId,
          clusterId,
          patch.namespaces ?? null,
          patch.serviceAccountName ?? null,
          patch.clusterScopedKinds ?? null,
        ],
      ),
    );
    return rows.length === 1;
  }

  async delete(tenantId: string, clusterId: string): Promise<boolean> {
    const rows = returningRows<{ id: string }>(
      await this.dataSource.query(
        'DELETE FROM "grant" WHERE tenant_id = $1 AND cluster_id = $2 RETURNING id',
        [tenantId, clusterId],
      ),
    );
    return rows.length === 1;
  }
}
