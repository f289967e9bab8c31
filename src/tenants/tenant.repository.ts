import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { runInTransaction } from 'src/common/database/unit-of-work';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { returningRows } from 'src/common/database/returning-rows';
import type { SubjectKind, TenantRole } from './entities/tenant-role-binding.entity';
import type { NewTenant, RoleBinding, Tenant, TenantPatch } from './tenant.types';

interface TenantRow {
  id: string;
  name: string;
  display_name: string;
  description: string;
  allow_cluster_registration: boolean;
  max_clusters: number | null;
  max_releases: number | null;
  deletion_requested_at: Date | null;
  created_at: Date;
  updated_at: Date;
  role_bindings: { subjectKind: SubjectKind; subject: string; role: TenantRole }[] | null;
}

const SELECT_TENANT = `
  SELECT t.*, (
    SELECT coalesce(jsonb_agg(jsonb_build_object('subjectKind', b.subject_kind, 'subject', b.subject, 'role', b.role)
                     ORDER BY b.subject_kind, b.subject), '[]'::jsonb)
    FROM tenant_role_binding b WHERE b.tenant_id = t.id
  ) AS role_bindings
  FROM tenant t`;

const toTenant = (r: TenantRow): Tenant => ({
  id: r.id,
  name: r.name,
  displayName: r.display_name,
  description: r.description,
  roleBindings: r.role_bindings ?? [],
  allowClusterRegistration: r.allow_cluster_registration,
  quotas: { maxClusters: r.max_clusters, maxReleases: r.max_releases },
  deletionRequestedAt: r.deletion_requested_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** What a tenant owns: registry rows, and the rows of other contexts that reference it. */
export interface TenantHoldings {
  readonly clusters: number;
  readonly grants: number;
  readonly releases: number;
  readonly sources: number;
}

@Injectable()
export class TenantRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** A unit of work: domain events published inside are delivered once it commits. */
  transaction<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    return runInTransaction(this.dataSource, work);
  }

  async insert(m: EntityManager, t: NewTenant): Promise<string> {
    const id = randomUUID();
    await m.query(
      `INSERT INTO tenant (id, name, display_name, description, allow_cluster_registration, max_clusters, max_releases)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        id,
        t.name,
        t.displayName ?? '',
        t.description ?? '',
        t.allowClusterRegistration ?? false,
        t.quotas?.maxClusters ?? null,
        t.quotas?.maxReleases ?? null,
      ],
    );
    await this.replaceRoleBindings(m, id, t.roleBindings ?? []);
    return id;
  }

  async replaceRoleBindings(
    m: EntityManager,
    tenantId: string,
    bindings: readonly RoleBinding[],
  ): Promise<void> {
    await m.query('DELETE FROM tenant_role_binding WHERE tenant_id = $1', [tenantId]);
    for (const b of bindings) {
      await m.query(
        `INSERT INTO tenant_role_binding (id, tenant_id, subject_kind, subject, role) VALUES ($1, $2, $3, $4, $5)`,
        [randomUUID(), tenantId, b.subjectKind, b.subject, b.role],
      );
    }
  }

  async update(m: EntityManager, tenantId: string, patch: TenantPatch): Promise<void> {
    const sets: string[] = [];
    const params: unknown[] = [tenantId];
    const set = (column: string, value: unknown): void => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    if (patch.displayName !== undefined) {
      set('display_name', patch.displayName);
    }
    if (patch.description !== undefined) {
      set('description', patch.description);
    }
    if (patch.allowClusterRegistration !== undefined) {
      set('allow_cluster_registration', patch.allowClusterRegistration);
    }
    if (patch.quotas?.maxClusters !== undefined) {
      set('max_clusters', patch.quotas.maxClusters);
    }
    if (patch.quotas?.maxReleases !== undefined) {
      set('max_releases', patch.quotas.maxReleases);
    }
    sets.push('updated_at = now()');
    await m.query(`UPDATE tenant SET ${sets.join(', ')} WHERE id = $1`, params);
    if (patch.roleBindings !== undefined) {
      await this.replaceRoleBindings(m, tenantId, patch.roleBindings);
    }
  }

  async findByName(
    name: string,
    m: EntityManager = this.dataSource.manager,
  ): Promise<Tenant | undefined> {
    const rows = await m.query<TenantRow[]>(`${SELECT_TENANT} WHERE t.name = $1`, [name]);
    return rows[0] === undefined ? undefined : toTenant(rows[0]);
  }

  async findById(
    id: string,
    m: EntityManager = this.dataSource.manager,
  ): Promise<Tenant | undefined> {
    const rows = await m.query<TenantRow[]>(`${SELECT_TENANT} WHERE t.id = $1`, [id]);
    return rows[0] === undefined ? undefined : toTenant(rows[0]);
  }

  /** Names of the tenants with these ids (for display); unknown ids are absent. */
  async namesByIds(ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) {
      return new Map();
    }
    const rows = await this.dataSource.query<{ id: string; name: string }[]>(
      'SELECT id, name FROM tenant WHERE id = ANY($1::uuid[])',
      [ids],
    );
    return new Map(rows.map((r) => [r.id, r.name]));
  }

  /** Ordered by name; `after` is the last name of the previous page. */
  async list(after: string | undefined, limit: number): Promise<Tenant[]> {
    const rows = await this.dataSource.query<TenantRow[]>(
      `${SELECT_TENANT} WHERE ($1::text IS NULL OR t.name > $1) ORDER BY t.name LIMIT $2`,
      [after ?? null, limit + 1],
    );
    return rows.map(toTenant);
  }

  /** Locks the tenant row for the rest of the transaction (serializes with owner inserts). */
  async lockById(m: EntityManager, tenantId: string): Promise<boolean> {
    const rows = await m.query<unknown[]>('SELECT 1 FROM tenant WHERE id = $1 FOR UPDATE', [
      tenantId,
    ]);
    return rows.length === 1;
  }

  /**
   * Counts what the tenant owns. Releases are counted although their rows
   * would cascade: a release dropped with the tenant would leave its applied
   * objects in the clusters, unpruned.
   */
  async holdings(m: EntityManager, tenantId: string): Promise<TenantHoldings> {
    const rows = await m.query<TenantHoldings[]>(
      `SELECT (SELECT count(*)::int FROM cluster WHERE owner_tenant_id = $1) AS clusters,
              (SELECT count(*)::int FROM "grant" WHERE tenant_id = $1) AS grants,
              (SELECT count(*)::int FROM release WHERE tenant_id = $1) AS releases,
              (SELECT count(*)::int FROM source WHERE tenant_id = $1) AS sources`,
      [tenantId],
    );
    return rows[0] ?? { clusters: 0, grants: 0, releases: 0, sources: 0 };
  }

  /** Marks the tenant for deletion; a second request keeps the first time. */
  async markForDeletion(m: EntityManager, tenantId: string): Promise<void> {
    await m.query(
      `UPDATE tenant SET deletion_requested_at = coalesce(deletion_requested_at, now()), updated_at = now()
       WHERE id = $1`,
      [tenantId],
    );
  }

  /** Ids of the tenants marked for deletion, oldest request first. */
  async listDeletingIds(): Promise<string[]> {
    const rows = await this.dataSource.query<{ id: string }[]>(
      `SELECT id FROM tenant WHERE deletion_requested_at IS NOT NULL ORDER BY deletion_requested_at, id`,
    );
    return rows.map((r) => r.id);
  }

  /**
   * Deletes the tenant; with `cascade` first its grants and the clusters it
   * owns (whose grants go with them). Returns the deleted clusters.
   */
  async delete(
    m: EntityManager,
    tenantId: string,
    cascade: boolean,
  ): Promise<{ id: string; name: string }[]> {
    let clusters: { id: string; name: string }[] = [];
    if (cascade) {
      await m.query('DELETE FROM "grant" WHERE tenant_id = $1', [tenantId]);
      clusters = returningRows<{ id: string; name: string }>(
        await m.query('DELETE FROM cluster WHERE owner_tenant_id = $1 RETURNING id, name', [
          tenantId,
        ]),
      );
    }
    await m.query('DELETE FROM tenant WHERE id = $1', [tenantId]);
    return clusters;
  }
}
