import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { runInTransaction } from 'src/common/database/unit-of-work';
import { DataSource, EntityManager } from 'typeorm';
import { returningRows } from 'src/common/database/returning-rows';
import type {
  ClaimedSource,
  FetchOutcome,
  Source,
  SourceCondition,
  SourceCredentialsKind,
  SourceKind,
  SourceReference,
  SourceSpec,
} from 'src/modules/sources/source.types';
import { type TenantRowId, tenantRowIdArrays } from 'src/common/database/tenant-row-ids';

interface SourceRow {
  id: string;
  tenant_id: string;
  name: string;
  kind: SourceKind;
  url: string;
  reference: SourceReference | null;
  interval_seconds: number;
  timeout_seconds: number;
  ignore: string[];
  ca_certificate: string | null;
  suspended: boolean;
  credentials_kind: SourceCredentialsKind | null;
  credentials_ciphertext: string | null;
  generation: number;
  conditions: SourceCondition[];
  revision: string | null;
  artifact_digest: string | null;
  artifact_size_bytes: string | null;
  observed_generation: number;
  last_fetch_at: Date | null;
  next_fetch_at: Date;
  failure_count: number;
  lease_owner: string | null;
  fencing_token: string;
  created_at: Date;
  updated_at: Date;
}

// Every column except the credentials envelope: API reads never load it.
const PUBLIC_COLUMNS = `id, tenant_id, name, kind, url, reference, interval_seconds, timeout_seconds,
  ignore, ca_certificate, suspended, credentials_kind, generation, conditions, revision,
  artifact_digest, artifact_size_bytes, observed_generation, last_fetch_at, next_fetch_at,
  failure_count, lease_owner, fencing_token, created_at, updated_at`;

function toSource(r: SourceRow): Source {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    name: r.name,
    kind: r.kind,
    url: r.url,
    reference: r.reference,
    intervalSeconds: r.interval_seconds,
    timeoutSeconds: r.timeout_seconds,
    ignore: r.ignore,
    caCertificate: r.ca_certificate,
    suspended: r.suspended,
    credentialsKind: r.credentials_kind,
    generation: r.generation,
    status: {
      conditions: r.conditions,
      revision: r.revision,
      artifactDigest: r.artifact_digest,
      artifactSizeBytes: r.artifact_size_bytes === null ? null : Number(r.artifact_size_bytes),
      observedGeneration: r.observed_generation,
      lastFetchAt: r.last_fetch_at,
      nextFetchAt: r.next_fetch_at,
      failureCount: r.failure_count,
    },
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** A stored credentials envelope (vault ciphertext) and the key it was written with. */
export interface SealedCredentials {
  readonly kind: SourceCredentialsKind;
  readonly ciphertext: string;
  readonly keyId: string;
}

/** Spec fields an update may change; undefined keeps a field. */
export type SourceSpecUpdate = Partial<Omit<SourceSpec, 'kind'>> & {
  /** null removes the credentials; undefined keeps them. */
  readonly credentials?: SealedCredentials | null;
};

/**
 * Queries of the `source` table. Every method reading or writing tenants' sources
 * takes the tenant id (a batch over several tenants: each id with its tenant); only
 * the scheduler's claim and the artifact GC work across tenants, and they say so.
 */
@Injectable()
export class SourceRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** A unit of work: domain events published inside are delivered once it commits. */
  transaction<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    return runInTransaction(this.dataSource, work);
  }

  async insert(
    tenantId: string,
    id: string,
    name: string,
    spec: SourceSpec,
    credentials: SealedCredentials | null,
  ): Promise<Source> {
    const rows = await this.dataSource.query<SourceRow[]>(
      `INSERT INTO source (id, tenant_id, name, kind, url, reference, interval_seconds, timeout_seconds,
                           ignore, ca_certificate, suspended, credentials_kind, credentials_ciphertext,
                           credentials_key_id, conditions, next_fetch_at)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9::jsonb, $10, $11, $12, $13, $14, $15::jsonb, now())
       RETURNING ${PUBLIC_COLUMNS}`,
      [
        id,
        tenantId,
        name,
        spec.kind,
        spec.url,
        spec.reference === null ? null : JSON.stringify(spec.reference),
        spec.intervalSeconds,
        spec.timeoutSeconds,
        JSON.stringify(spec.ignore),
        spec.caCertificate,
        spec.suspended,
        credentials?.kind ?? null,
        credentials?.ciphertext ?? null,
        credentials?.keyId ?? null,
        JSON.stringify(initialConditions(spec.suspended)),
      ],
    );
    return toSource(rows[0]);
  }

  async findByName(
    tenantId: string,
    name: string,
    m: EntityManager = this.dataSource.manager,
  ): Promise<Source | undefined> {
    const rows = await m.query<SourceRow[]>(
      `SELECT ${PUBLIC_COLUMNS} FROM source WHERE tenant_id = $1 AND name = $2`,
      [tenantId, name],
    );
    return rows[0] === undefined ? undefined : toSource(rows[0]);
  }

  /** Sources of several tenants (the reconcile worker's batch), each id with its tenant. */
  async findByTenantRowIds(keys: readonly TenantRowId[]): Promise<Source[]> {
    if (keys.length === 0) {
      return [];
    }
    const { tenantIds, ids } = tenantRowIdArrays(keys);
    const rows = await this.dataSource.query<SourceRow[]>(
      `SELECT ${PUBLIC_COLUMNS} FROM source
       WHERE (tenant_id, id) IN (SELECT * FROM unnest($1::uuid[], $2::uuid[]))`,
      [tenantIds, ids],
    );
    return rows.map(toSource);
  }

  async findById(tenantId: string, id: string): Promise<Source | undefined> {
    const rows = await this.dataSource.query<SourceRow[]>(
      `SELECT ${PUBLIC_COLUMNS} FROM source WHERE tenant_id = $1 AND id = $2`,
      [tenantId, id],
    );
    return rows[0] === undefined ? undefined : toSource(rows[0]);
  }

  /** The tenant's helm sources whose URL is one of `urls` (a chart dependency's repository). */
  async findHelmByUrls(tenantId: string, urls: readonly string[]): Promise<Source[]> {
    const rows = await this.dataSource.query<SourceRow[]>(
      `SELECT ${PUBLIC_COLUMNS} FROM source
       WHERE tenant_id = $1 AND kind = 'helm' AND url = ANY($2::text[])
       ORDER BY name`,
      [tenantId, urls],
    );
    return rows.map(toSource);
  }

  /** The credentials envelope of one source, for a fetch outside the scheduler. */
  async findCredentials(tenantId: string, id: string): Promise<string | null> {
    const rows = await this.dataSource.query<{ credentials_ciphertext: string | null }[]>(
      'SELECT credentials_ciphertext FROM source WHERE tenant_id = $1 AND id = $2',
      [tenantId, id],
    );
    return rows[0]?.credentials_ciphertext ?? null;
  }

  async namesByIds(tenantId: string, ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) {
      return new Map();
    }
    const rows = await this.dataSource.query<{ id: string; name: string }[]>(
      'SELECT id, name FROM source WHERE tenant_id = $1 AND id = ANY($2::uuid[])',
      [tenantId, ids],
    );
    return new Map(rows.map((r) => [r.id, r.name]));
  }

  /** Ordered by name; `after` is the last name of the previous page; fetches `limit + 1`. */
  async list(tenantId: string, after: string | undefined, limit: number): Promise<Source[]> {
    const rows = await this.dataSource.query<SourceRow[]>(
      `SELECT ${PUBLIC_COLUMNS} FROM source
       WHERE tenant_id = $1 AND ($2::text IS NULL OR name > $2)
       ORDER BY name LIMIT $3`,
      [tenantId, after ?? null, limit + 1],
    );
    return rows.map(toSource);
  }

  /**
   * Applies a spec change. The generation and the fencing token move on and the
   * lease is dropped: a fetch of the old spec still running cannot write its
   * result, and the new spec is fetched right away.
   */
  async update(
    tenantId: string,
    name: string,
    update: SourceSpecUpdate,
    m: EntityManager = this.dataSource.manager,
  ): Promise<Source | undefined> {
    const params: unknown[] = [tenantId, name];
    const sets: string[] = [];
    const set = (column: string, value: unknown, cast = ''): void => {
      params.push(value);
      sets.push(`${column} = $${params.length}${cast}`);
    };
    if (update.url !== undefined) {
      set('url', update.url);
    }
    if (update.reference !== undefined) {
      set(
        'reference',
        update.reference === null ? null : JSON.stringify(update.reference),
        '::jsonb',
      );
    }
    if (update.intervalSeconds !== undefined) {
      set('interval_seconds', update.intervalSeconds);
    }
    if (update.timeoutSeconds !== undefined) {
      set('timeout_seconds', update.timeoutSeconds);
    }
    if (update.ignore !== undefined) {
      set('ignore', JSON.stringify(update.ignore), '::jsonb');
    }
    if (update.caCertificate !== undefined) {
      set('ca_certificate', update.caCertificate);
    }
    if (update.suspended !== undefined) {
      set('suspended', update.suspended);
    }
    if (update.credentials !== undefined) {
      set('credentials_kind', update.credentials?.kind ?? null);
      set('credentials_ciphertext', update.credentials?.ciphertext ?? null);
      set('credentials_key_id', update.credentials?.keyId ?? null);
    }
    const rows = returningRows<SourceRow>(
      await m.query(
        `UPDATE source SET ${[...sets, ...SPEC_CHANGED].join(', ')}
         WHERE tenant_id = $1 AND name = $2
         RETURNING ${PUBLIC_COLUMNS}`,
        params,
      ),
    );
    return rows[0] === undefined ? undefined : toSource(rows[0]);
  }

  async setSuspended(
    tenantId: string,
    name: string,
    suspended: boolean,
  ): Promise<Source | undefined> {
    // Resuming makes the source due at once.
    const rows = returningRows<SourceRow>(
      await this.dataSource.query(
        `UPDATE source SET suspended = $3, updated_at = now(),
                next_fetch_at = CASE WHEN $3 THEN next_fetch_at ELSE now() END
         WHERE tenant_id = $1 AND name = $2
         RETURNING ${PUBLIC_COLUMNS}`,
        [tenantId, name, suspended],
      ),
    );
    return rows[0] === undefined ? undefined : toSource(rows[0]);
  }

  /**
   * Makes the source due now. A refresh arriving while a fetch runs is remembered
   * (refresh_requested_at) so that the fetch's completion schedules another one.
   */
  async requestRefresh(tenantId: string, name: string): Promise<Source | undefined> {
    const rows = returningRows<SourceRow>(
      await this.dataSource.query(
        `UPDATE source SET refresh_requested_at = clock_timestamp(),
                next_fetch_at = least(next_fetch_at, now())
         WHERE tenant_id = $1 AND name = $2
         RETURNING ${PUBLIC_COLUMNS}`,
        [tenantId, name],
      ),
    );
    return rows[0] === undefined ? undefined : toSource(rows[0]);
  }

  /**
   * Asks for a fetch because a replica could not serve the recorded revision (the
   * repository moved on). Only while that revision is still the recorded one, no
   * fetch runs or is already asked for, the source is not backing off after a
   * failure, and its last fetch is not recent: one stale reader cannot chain
   * fetches or override a backoff, and a repository whose index changes on every
   * request costs at most one extra fetch per half minute.
   */
  async requestRefreshOfStale(
    tenantId: string,
    id: string,
    recordedRevision: string | null,
  ): Promise<boolean> {
    const rows = returningRows<{ id: string }>(
      await this.dataSource.query(
        `UPDATE source SET refresh_requested_at = clock_timestamp(),
                next_fetch_at = least(next_fetch_at, now())
         WHERE tenant_id = $1 AND id = $2 AND revision IS NOT DISTINCT FROM $3
           AND NOT suspended AND lease_owner IS NULL AND failure_count = 0
           AND (refresh_requested_at IS NULL OR refresh_requested_at < last_fetch_at)
           AND (last_fetch_at IS NULL OR last_fetch_at < now() - interval '30 seconds')
         RETURNING id`,
        [tenantId, id, recordedRevision],
      ),
    );
    return rows.length === 1;
  }

  /** Deletes every source of a tenant; fails on a foreign key while a release still uses one. */
  async deleteAllOfTenant(tenantId: string): Promise<number> {
    return returningRows<{ id: string }>(
      await this.dataSource.query('DELETE FROM source WHERE tenant_id = $1 RETURNING id', [
        tenantId,
      ]),
    ).length;
  }

  async delete(tenantId: string, name: string): Promise<Source | undefined> {
    const rows = returningRows<SourceRow>(
      await this.dataSource.query(
        `DELETE FROM source WHERE tenant_id = $1 AND name = $2 RETURNING ${PUBLIC_COLUMNS}`,
        [tenantId, name],
      ),
    );
    return rows[0] === undefined ? undefined : toSource(rows[0]);
  }

  /**
   * Scheduler only, across tenants: leases up to `limit` due sources to `owner`.
   * SKIP LOCKED lets replicas claim side by side without waiting on each other or
   * claiming the same row; the lease lasts the source's timeout plus a margin, and
   * the fencing token moves on so that a previous holder's late write is refused.
   */
  async claimDueAcrossTenants(
    owner: string,
    limit: number,
    leaseMarginSeconds: number,
  ): Promise<ClaimedSource[]> {
    if (limit <= 0) {
      return [];
    }
    const rows = returningRows<SourceRow & { credentials_ciphertext: string | null }>(
      await this.dataSource.query(
        `UPDATE source s
            SET lease_owner = $1,
                lease_acquired_at = clock_timestamp(),
                lease_expires_at = now() + make_interval(secs => s.timeout_seconds + $3),
                fencing_token = s.fencing_token + 1
          WHERE s.id IN (
            SELECT id FROM source
             WHERE next_fetch_at <= now()
               AND NOT suspended
               AND (lease_expires_at IS NULL OR lease_expires_at < now())
             ORDER BY next_fetch_at
             LIMIT $2
             FOR UPDATE SKIP LOCKED)
        RETURNING ${PUBLIC_COLUMNS}, credentials_ciphertext`,
        [owner, limit, leaseMarginSeconds],
      ),
    );
    return rows.map((r) => ({
      ...toSource(r),
      fencingToken: BigInt(r.fencing_token),
      leaseOwner: owner,
      credentialsCiphertext: r.credentials_ciphertext,
    }));
  }

  /**
   * Records the outcome of a fetch and ends the lease, only if the lease is still
   * ours under the same fencing token. False: the result was stale and dropped.
   */
  async complete(
    tenantId: string,
    id: string,
    owner: string,
    fencingToken: bigint,
    generation: number,
    outcome: FetchOutcome,
  ): Promise<boolean> {
    const params: unknown[] = [
      tenantId,
      id,
      owner,
      fencingToken.toString(),
      JSON.stringify(outcome.conditions),
      outcome.nextFetchInSeconds,
      generation,
    ];
    let sets: string;
    switch (outcome.kind) {
      case 'success':
        params.push(outcome.revision, outcome.artifactDigest, outcome.artifactSizeBytes);
        sets = `revision = $8, artifact_digest = $9, artifact_size_bytes = $10, failure_count = 0`;
        break;
      case 'failure':
        // A failed read never deletes: revision and artifact stay as they were.
        sets = `failure_count = failure_count + 1`;
        break;
    }
    const rows = returningRows<{ id: string }>(
      await this.dataSource.query(
        `UPDATE source
            SET ${sets},
                conditions = $5::jsonb,
                observed_generation = $7,
                last_fetch_at = now(),
                next_fetch_at = CASE
                  WHEN refresh_requested_at IS NOT NULL AND refresh_requested_at > lease_acquired_at
                  THEN now() ELSE now() + make_interval(secs => $6::double precision) END,
                lease_owner = NULL,
                lease_acquired_at = NULL,
                lease_expires_at = NULL
          WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3 AND fencing_token = $4
          RETURNING id`,
        params,
      ),
    );
    return rows.length === 1;
  }

  /** Artifact GC, across tenants: digests some source currently serves. */
  async currentDigestsAcrossTenants(): Promise<string[]> {
    const rows = await this.dataSource.query<{ artifact_digest: string }[]>(
      'SELECT DISTINCT artifact_digest FROM source WHERE artifact_digest IS NOT NULL',
    );
    return rows.map((r) => r.artifact_digest);
  }
}

const SPEC_CHANGED = [
  'generation = generation + 1',
  'fencing_token = fencing_token + 1',
  'lease_owner = NULL',
  'lease_acquired_at = NULL',
  'lease_expires_at = NULL',
  'next_fetch_at = now()',
  'updated_at = now()',
];

function initialConditions(suspended: boolean): SourceCondition[] {
  return [
    {
      type: 'Ready',
      status: 'Unknown',
      reason: suspended ? 'Suspended' : 'Progressing',
      message: suspended ? 'the source is suspended' : 'waiting for the first fetch',
      lastTransitionTime: new Date().toISOString(),
    },
  ];
}
