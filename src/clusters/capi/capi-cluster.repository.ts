import { randomUUID } from 'node:crypto';
import { transitionTime } from 'src/common/conditions/conditions';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { CapiClusterView, CapiCondition } from './capi-cluster';
import type { CapiRegistrationStatus } from './entities/capi-cluster.entity';

export interface CapiClusterRecord {
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly apiVersion: string;
  readonly clusterId: string | null;
  /** Name of the registered gitfleet cluster. */
  readonly clusterName: string | null;
  readonly phase: string | null;
  readonly conditions: readonly CapiCondition[];
  readonly controlPlaneInitialized: boolean;
  readonly paused: boolean;
  readonly deleting: boolean;
  readonly registration: CapiRegistrationStatus | null;
  readonly secretResourceVersion: string | null;
}

interface Row {
  id: string;
  namespace: string;
  name: string;
  uid: string;
  api_version: string;
  cluster_id: string | null;
  cluster_name: string | null;
  phase: string | null;
  conditions: CapiCondition[];
  control_plane_initialized: boolean;
  paused: boolean;
  deleting: boolean;
  registration: CapiRegistrationStatus | null;
  secret_resource_version: string | null;
}

const SELECT = `SELECT cc.id, cc.namespace, cc.name, cc.uid, cc.api_version, cc.cluster_id, c.name AS cluster_name,
  cc.phase, cc.conditions, cc.control_plane_initialized, cc.paused, cc.deleting, cc.registration,
  cc.secret_resource_version
  FROM capi_cluster cc LEFT JOIN cluster c ON c.id = cc.cluster_id`;

const toRecord = (r: Row): CapiClusterRecord => ({
  id: r.id,
  namespace: r.namespace,
  name: r.name,
  uid: r.uid,
  apiVersion: r.api_version,
  clusterId: r.cluster_id,
  clusterName: r.cluster_name,
  phase: r.phase,
  conditions: r.conditions,
  controlPlaneInitialized: r.control_plane_initialized,
  paused: r.paused,
  deleting: r.deleting,
  registration: r.registration,
  secretResourceVersion: r.secret_resource_version,
});

/** The fields of a Cluster object that are stored. */
type Observed = Pick<
  CapiClusterView,
  'uid' | 'apiVersion' | 'phase' | 'conditions' | 'controlPlaneInitialized' | 'paused' | 'deleting'
>;

/** What a Cluster object says, as stored; compared before writing so unchanged objects write nothing. */
const observedOf = (v: Observed): unknown[] => [
  v.uid,
  v.apiVersion,
  v.phase,
  JSON.stringify(v.conditions),
  v.controlPlaneInitialized,
  v.paused,
  v.deleting,
];

/** The Cluster API objects gitfleet has seen, keyed by namespace/name in the management cluster. */
@Injectable()
export class CapiClusterRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async findByRef(namespace: string, name: string): Promise<CapiClusterRecord | undefined> {
    const rows = await this.dataSource.query<Row[]>(
      `${SELECT} WHERE cc.namespace = $1 AND cc.name = $2`,
      [namespace, name],
    );
    return rows[0] === undefined ? undefined : toRecord(rows[0]);
  }

  async findByClusterId(clusterId: string): Promise<CapiClusterRecord | undefined> {
    const rows = await this.dataSource.query<Row[]>(`${SELECT} WHERE cc.cluster_id = $1`, [
      clusterId,
    ]);
    return rows[0] === undefined ? undefined : toRecord(rows[0]);
  }

  async list(): Promise<CapiClusterRecord[]> {
    const rows = await this.dataSource.query<Row[]>(`${SELECT} ORDER BY cc.namespace, cc.name`);
    return rows.map(toRecord);
  }

  /** Records what the object says; writes only when something changed. Returns the stored record. */
  async observe(
    view: CapiClusterView,
    previous: CapiClusterRecord | undefined,
  ): Promise<CapiClusterRecord> {
    if (previous === undefined) {
      await this.dataSource.query(
        `INSERT INTO capi_cluster (id, namespace, name, uid, api_version, phase, conditions,
           control_plane_initialized, paused, deleting)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT ON CONSTRAINT "UQ_capi_cluster_ref" DO NOTHING`,
        [randomUUID(), view.namespace, view.name, ...observedOf(view)],
      );
    } else {
      const after = observedOf(view);
      if (JSON.stringify(observedOf(previous)) === JSON.stringify(after)) {
        return previous; // Unchanged: no write, no read back.
      }
      await this.dataSource.query(
        `UPDATE capi_cluster SET uid = $2, api_version = $3, phase = $4, conditions = $5,
           control_plane_initialized = $6, paused = $7, deleting = $8, updated_at = now()
         WHERE id = $1`,
        [previous.id, ...after],
      );
    }
    const stored = await this.findByRef(view.namespace, view.name);
    if (stored === undefined) {
      throw new Error(`capi_cluster ${view.namespace}/${view.name} vanished while being written`);
    }
    return stored;
  }

  async link(id: string, clusterId: string, secretResourceVersion: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE capi_cluster SET cluster_id = $2, secret_resource_version = $3, updated_at = now() WHERE id = $1`,
      [id, clusterId, secretResourceVersion],
    );
  }

  async setSecretVersion(id: string, secretResourceVersion: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE capi_cluster SET secret_resource_version = $2, updated_at = now() WHERE id = $1`,
      [id, secretResourceVersion],
    );
  }

  /** Sets the registration status; the transition time moves only when the status changes. Returns whether anything changed. */
  async setRegistration(
    record: CapiClusterRecord,
    next: Omit<CapiRegistrationStatus, 'lastTransitionTime'>,
  ): Promise<boolean> {
    const prev = record.registration;
    if (
      prev !== null &&
      prev.status === next.status &&
      prev.reason === next.reason &&
      prev.message === next.message
    ) {
      return false;
    }
    const status: CapiRegistrationStatus = {
      ...next,
      lastTransitionTime: transitionTime(prev, next.status, new Date()),
    };
    await this.dataSource.query(
      `UPDATE capi_cluster SET registration = $2, updated_at = now() WHERE id = $1`,
      [record.id, JSON.stringify(status)],
    );
    return true;
  }

  async delete(id: string): Promise<void> {
    await this.dataSource.query('DELETE FROM capi_cluster WHERE id = $1', [id]);
  }
}
