import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { runInTransaction } from 'src/common/database/unit-of-work';
import { DataSource, EntityManager } from 'typeorm';
import { returningRows } from 'src/common/database/returning-rows';
import { CAPI_STATUS_SQL, type ClusterApiStatus } from './capi/capi-status';
import type { Cluster, ClusterListFilter } from './cluster.types';
import type { ClusterCondition, ClusterSource } from './entities/cluster.entity';
import { selectorToSql } from 'src/common/labels/label-selector';

interface ClusterRow {
  id: string;
  name: string;
  labels: Record<string, string>;
  owner_tenant_id: string | null;
  owner_tenant_name: string | null;
  api_server_url: string;
  kubernetes_version: string | null;
  source: ClusterSource;
  insecure_skip_tls_verify: boolean;
  conditions: ClusterCondition[];
  last_probe_time: Date | null;
  kubeconfig_version: number;
  capi: ClusterApiStatus | null;
  created_at: Date;
  updated_at: Date;
}

// The ciphertext is selected only by loadCredentials.
const SELECT = `SELECT c.id, c.name, c.labels, c.owner_tenant_id, t.name AS owner_tenant_name, c.api_server_url,
  c.kubernetes_version, c.source, c.insecure_skip_tls_verify, c.conditions, c.last_probe_time,
  c.kubeconfig_version, c.created_at, c.updated_at,
  ${CAPI_STATUS_SQL} AS capi
  FROM cluster c LEFT JOIN tenant t ON t.id = c.owner_tenant_id`;

const toCluster = (r: ClusterRow): Cluster => ({
  id: r.id,
  name: r.name,
  labels: r.labels,
  ownerTenantId: r.owner_tenant_id,
  ownerTenantName: r.owner_tenant_name,
  apiServerUrl: r.api_server_url,
  kubernetesVersion: r.kubernetes_version,
  source: r.source,
  insecureSkipTlsVerify: r.insecure_skip_tls_verify,
  conditions: r.conditions,
  lastProbeTime: r.last_probe_time,
  kubeconfigVersion: r.kubeconfig_version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  capi: r.capi,
});

export interface NewClusterRow {
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ownerTenantId: string | null;
  readonly apiServerUrl: string;
  readonly source: ClusterSource;
  readonly insecureSkipTlsVerify: boolean;
  readonly kubeconfigCiphertext: string;
  readonly kubeconfigKeyId: string;
}

export interface StoredCredentials {
  readonly ciphertext: string;
  readonly version: number;
}

@Injectable()
export class ClusterRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** A unit of work: domain events published inside are delivered once it commits. */
  transaction<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    return runInTransaction(this.dataSource, work);
  }

  async insert(m: EntityManager, c: NewClusterRow): Promise<void> {
    await m.query(
      `INSERT INTO cluster (id, name, labels, owner_tenant_id, api_server_url, source, insecure_skip_tls_verify,
         kubeconfig_ciphertext, kubeconfig_key_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        c.id,
        c.name,
        JSON.stringify(c.labels),
        c.ownerTenantId,
        c.apiServerUrl,
        c.source,
        c.insecureSkipTlsVerify,
        c.kubeconfigCiphertext,
        c.kubeconfigKeyId,
      ],
    );
  }

  async findByName(
    name: string,
    m: EntityManager = this.dataSource.manager,
  ): Promise<Cluster | undefined> {
    const rows = await m.query<ClusterRow[]>(`${SELECT} WHERE c.name = $1`, [name]);
    return rows[0] === undefined ? undefined : toCluster(rows[0]);
  }

  async findById(id: string): Promise<Cluster | undefined> {
    const rows = await this.dataSource.query<ClusterRow[]>(`${SELECT} WHERE c.id = $1`, [id]);
    return rows[0] === undefined ? undefined : toCluster(rows[0]);
  }

  async findByIds(ids: readonly string[]): Promise<Cluster[]> {
    if (ids.length === 0) {
      return [];
    }
    const rows = await this.dataSource.query<ClusterRow[]>(
      `${SELECT} WHERE c.id = ANY($1::uuid[])`,
      [ids],
    );
    return rows.map(toCluster);
  }

  async lockByName(m: EntityManager, name: string): Promise<Cluster | undefined> {
    const rows = await m.query<ClusterRow[]>(`${SELECT} WHERE c.name = $1 FOR UPDATE OF c`, [name]);
    return rows[0] === undefined ? undefined : toCluster(rows[0]);
  }

  /** Ordered by name; `after` is the last name of the previous page. */
  async list(
    filter: ClusterListFilter,
    after: string | undefined,
    limit: number,
  ): Promise<Cluster[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.selector !== undefined && filter.selector.length > 0) {
      const s = selectorToSql(filter.selector, 'c.labels', params.length);
      params.push(...s.params);
      where.push(`(${s.sql})`);
    }
    if (filter.ownerTenantId === null) {
      where.push('c.owner_tenant_id IS NULL');
    } else if (filter.ownerTenantId !== undefined) {
      params.push(filter.ownerTenantId);
      where.push(`c.owner_tenant_id = $${params.length}`);
    }
    if (filter.condition !== undefined) {
      params.push(
        JSON.stringify([{ type: filter.condition.type, status: filter.condition.status }]),
      );
      where.push(`c.conditions @> $${params.length}::jsonb`);
    }
    if (after !== undefined) {
      params.push(after);
      where.push(`c.name > $${params.length}`);
    }
    params.push(limit + 1);
    const rows = await this.dataSource.query<ClusterRow[]>(
      `${SELECT} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY c.name LIMIT $${params.length}`,
      params,
    );
    return rows.map(toCluster);
  }

  /** Clusters owned by one tenant (tenant-scoped: the id is required). */
  async listOwnedBy(tenantId: string): Promise<Cluster[]> {
    const rows = await this.dataSource.query<ClusterRow[]>(
      `${SELECT} WHERE c.owner_tenant_id = $1 ORDER BY c.name`,
      [tenantId],
    );
    return rows.map(toCluster);
  }

  /** Serializes registrations for one owner, so its cluster quota holds under concurrency. */
  async countOwnedBy(m: EntityManager, tenantId: string): Promise<number> {
    const rows = await m.query<{ n: number }[]>(
      'SELECT count(*)::int AS n FROM cluster WHERE owner_tenant_id = $1',
      [tenantId],
    );
    return rows[0]?.n ?? 0;
  }

  /** Every cluster's id, name and health, for the prober and the metrics. */
  async listAllHealth(): Promise<Pick<Cluster, 'id' | 'name' | 'conditions'>[]> {
    return this.dataSource.query<Pick<Cluster, 'id' | 'name' | 'conditions'>[]>(
      'SELECT id, name, conditions FROM cluster ORDER BY name',
    );
  }

  async loadCredentials(id: string): Promise<StoredCredentials | undefined> {
    const rows = await this.dataSource.query<{ ciphertext: string; version: number }[]>(
      'SELECT kubeconfig_ciphertext AS ciphertext, kubeconfig_version AS version FROM cluster WHERE id = $1',
      [id],
    );
    return rows[0];
  }

  async credentialsVersion(id: string): Promise<number | undefined> {
    const rows = await this.dataSource.query<{ version: number }[]>(
      'SELECT kubeconfig_version AS version FROM cluster WHERE id = $1',
      [id],
    );
    return rows[0]?.version;
  }

  async updateLabels(
    m: EntityManager,
    id: string,
    labels: Readonly<Record<string, string>>,
  ): Promise<void> {
    await m.query('UPDATE cluster SET labels = $2, updated_at = now() WHERE id = $1', [
      id,
      JSON.stringify(labels),
    ]);
  }

  async replaceCredentials(
    m: EntityManager,
    id: string,
    c: Pick<
      NewClusterRow,
      'apiServerUrl' | 'insecureSkipTlsVerify' | 'kubeconfigCiphertext' | 'kubeconfigKeyId'
    >,
  ): Promise<void> {
    await m.query(
      `UPDATE cluster SET api_server_url = $2, insecure_skip_tls_verify = $3, kubeconfig_ciphertext = $4,
         kubeconfig_key_id = $5, kubeconfig_version = kubeconfig_version + 1, updated_at = now()
       WHERE id = $1`,
      [id, c.apiServerUrl, c.insecureSkipTlsVerify, c.kubeconfigCiphertext, c.kubeconfigKeyId],
    );
  }

  async deleteByName(name: string): Promise<{ id: string; name: string } | undefined> {
    const rows = returningRows<{ id: string; name: string }>(
      await this.dataSource.query('DELETE FROM cluster WHERE name = $1 RETURNING id, name', [name]),
    );
    return rows[0];
  }

  /**
   * Records a probe. Conditions and version are written only when they
   * changed; the probe time always. A deleted cluster updates nothing.
   */
  async recordProbe(
    id: string,
    time: Date,
    change: { conditions: ClusterCondition[]; kubernetesVersion: string | null } | undefined,
  ): Promise<void> {
    if (change === undefined) {
      await this.dataSource.query('UPDATE cluster SET last_probe_time = $2 WHERE id = $1', [
        id,
        time,
      ]);
      return;
    }
    await this.dataSource.query(
      `UPDATE cluster SET last_probe_time = $2, conditions = $3, kubernetes_version = $4 WHERE id = $1`,
      [id, time, JSON.stringify(change.conditions), change.kubernetesVersion],
    );
  }
}
